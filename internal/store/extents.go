package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strings"
)

// The block index of partial-file deduplication (schema_v3.sql): per large
// tracked file, its chunk keys and the state they were taken in; per key,
// the chunks holding it.

// IndexedFile is a tracked file of at least the extent threshold, with the
// state of its entry in the block index.
type IndexedFile struct {
	VolID      int64
	Ino        uint64
	Generation uint64
	Size       uint64
	Transid    uint64 // the inode's transid as the last scan saw it
	// The index entry: ID 0 when the file has none.
	ID         int64
	KeyTransid uint64 // transid the keys hold for
	Print      []byte // extent-map fingerprint the keys were taken with
	Pending    bool   // indexed, not yet matched against the others
}

// Stale reports whether the file's index entry may no longer describe it:
// there is none, the inode changed since, or it was never matched.
func (f IndexedFile) Stale() bool { return f.ID == 0 || f.KeyTransid != f.Transid || f.Pending }

// Current reports whether the file's keys hold for the inode as the last
// scan saw it (matched or not).
func (f IndexedFile) Current() bool { return f.ID != 0 && f.KeyTransid == f.Transid }

// staleIndexedSQL lists the stale files of the scope at least ?1 bytes
// large, largest first, after (?2, ?3, ?4), up to ?5 of them. It walks the
// table's size order down from the largest size: the unary + keeps SQLite
// from carrying the scope's volumes over from the EXISTS to the table and
// walking every inode of those volumes by inode number instead (then
// sorting them), as it otherwise prefers.
func staleIndexedSQL(s *Scope) string {
	return `SELECT i.vol_id, i.ino, i.generation, i.size, i.transid,
			coalesce(f.id, 0), coalesce(f.transid, 0), f.print, coalesce(f.pending, 1)
		FROM Inode i
		LEFT JOIN ExtentFile f ON f.vol_id = i.vol_id AND f.ino = i.ino
		WHERE i.size >= ?1 AND (i.size, i.vol_id, i.ino) < (?2, ?3, ?4)
			AND EXISTS (SELECT 1 FROM Inode WHERE vol_id = +i.vol_id AND ino = +i.ino AND ` + s.cond() + `)
			AND (f.id IS NULL OR f.transid != i.transid OR f.pending = 1)
		ORDER BY i.size DESC, i.vol_id DESC, i.ino DESC LIMIT ?5`
}

// StaleIndexed lists, largest first, up to limit tracked files of the
// scope of at least minSize bytes whose index entry is Stale, after the
// file (size, volID, ino) given by after (all of them when after is nil).
// An unchanged volume costs one index lookup per large file and no I/O.
func (d *DB) StaleIndexed(ctx context.Context, s *Scope, minSize uint64, after *IndexedFile, limit int) ([]IndexedFile, error) {
	size, vol, ino := int64(1<<63-1), int64(1<<63-1), int64(1<<63-1)
	if after != nil {
		size, vol, ino = int64(after.Size), after.VolID, int64(after.Ino)
	}
	rows, err := d.db.QueryContext(ctx, staleIndexedSQL(s), int64(minSize), size, vol, ino, limit)
	if err != nil {
		return nil, fmt.Errorf("files to index: %w", err)
	}
	defer rows.Close()
	var out []IndexedFile
	for rows.Next() {
		var f IndexedFile
		if err := rows.Scan(&f.VolID, &f.Ino, &f.Generation, &f.Size, &f.Transid,
			&f.ID, &f.KeyTransid, &f.Print, &f.Pending); err != nil {
			return nil, fmt.Errorf("files to index: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("files to index: %w", err)
	}
	return out, nil
}

// IndexedFileByID returns the tracked file behind an index entry; ok is
// false when it is not in the scope (or gone).
func (d *DB) IndexedFileByID(ctx context.Context, s *Scope, id int64) (f IndexedFile, ok bool, err error) {
	err = d.db.QueryRowContext(ctx, `
		SELECT i.vol_id, i.ino, i.generation, i.size, i.transid, f.id, f.transid, f.print, f.pending
		FROM ExtentFile f JOIN Inode i ON i.vol_id = f.vol_id AND i.ino = f.ino
		WHERE f.id = ?1 AND EXISTS (SELECT 1 FROM Inode WHERE vol_id = +i.vol_id AND ino = +i.ino AND `+s.cond()+`)`, id).
		Scan(&f.VolID, &f.Ino, &f.Generation, &f.Size, &f.Transid, &f.ID, &f.KeyTransid, &f.Print, &f.Pending)
	if err == sql.ErrNoRows {
		return f, false, nil
	}
	if err != nil {
		return f, false, fmt.Errorf("indexed file %d: %w", id, err)
	}
	return f, true, nil
}

// FileKeys returns the chunk keys of an index entry (0: no key).
func (d *DB) FileKeys(ctx context.Context, id int64) ([]uint64, error) {
	var b []byte
	if err := d.db.QueryRowContext(ctx, `SELECT keys FROM ExtentFile WHERE id = ?`, id).Scan(&b); err != nil {
		return nil, fmt.Errorf("keys of indexed file %d: %w", id, err)
	}
	return decodeKeys(b), nil
}

// KeyHolder is one chunk holding a key.
type KeyHolder struct {
	File  int64 // ExtentFile.id
	Chunk uint64
}

// HoldersQuery finds the chunks holding keys, up to a limit per key,
// through prepared statements: one for holdersBatch keys, and one for each
// shorter count a last statement needs.
type HoldersQuery struct {
	d     *DB
	limit int
	stmts map[int]*sql.Stmt // by the keys a statement looks up
}

// holdersBatch is how many keys one statement of HoldersOf looks up: a
// compound of that many index lookups, each stopping at its limit (a
// window function over an IN list would read every holder of a key held
// by thousands of chunks).
const holdersBatch = 64

// PrepareHolders prepares the holders query, for up to limit chunks per
// key. The limit is written into the statement: as a bound parameter it
// made SQLite prepare the statement again at every execution (5.8 times
// the time of a lookup, measured by BenchmarkHoldersOf).
func (d *DB) PrepareHolders(ctx context.Context, limit int) (*HoldersQuery, error) {
	q := &HoldersQuery{d: d, limit: limit, stmts: map[int]*sql.Stmt{}}
	if _, err := q.stmt(ctx, holdersBatch); err != nil {
		return nil, err
	}
	return q, nil
}

// stmt returns the statement that looks up n keys, preparing it the first
// time. A short last batch gets a statement of its own rather than
// padding: SQLite prepared the statement again whenever bound values
// repeated, which padding makes them do (100 keys: 1.4 ms a lookup with
// padding, BenchmarkHoldersOf).
func (q *HoldersQuery) stmt(ctx context.Context, n int) (*sql.Stmt, error) {
	if s := q.stmts[n]; s != nil {
		return s, nil
	}
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("SELECT * FROM (SELECT ?%d AS key, file, chunk FROM ExtentKey WHERE key = ?%d ORDER BY file, chunk LIMIT %d)", i+1, i+1, q.limit)
	}
	s, err := q.d.db.PrepareContext(ctx, strings.Join(parts, " UNION ALL "))
	if err != nil {
		return nil, fmt.Errorf("prepare key holders query: %w", err)
	}
	q.stmts[n] = s
	return s, nil
}

// Close releases the statements.
func (q *HoldersQuery) Close() error {
	var first error
	for _, s := range q.stmts {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// HoldersOf lists, for each of keys, up to the query's limit of chunks
// holding it, by file and chunk, with one statement per holdersBatch keys.
// Key 0 (no key) is never held.
func (q *HoldersQuery) HoldersOf(ctx context.Context, keys []uint64) (map[uint64][]KeyHolder, error) {
	out := map[uint64][]KeyHolder{}
	seen := make(map[uint64]bool, len(keys))
	distinct := make([]uint64, 0, len(keys))
	for _, k := range keys {
		if k != 0 && !seen[k] {
			seen[k] = true
			distinct = append(distinct, k)
		}
	}
	keys = distinct
	args := make([]any, holdersBatch)
	for len(keys) > 0 {
		n := min(len(keys), holdersBatch)
		for i, k := range keys[:n] {
			args[i] = int64(k)
		}
		stmt, err := q.stmt(ctx, n)
		if err != nil {
			return nil, err
		}
		if err := q.holdersBatch(ctx, stmt, args[:n], out); err != nil {
			return nil, err
		}
		keys = keys[n:]
	}
	return out, nil
}

func (q *HoldersQuery) holdersBatch(ctx context.Context, stmt *sql.Stmt, args []any, out map[uint64][]KeyHolder) error {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return fmt.Errorf("holders of keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key int64
		var h KeyHolder
		if err := rows.Scan(&key, &h.File, &h.Chunk); err != nil {
			return fmt.Errorf("holders of keys: %w", err)
		}
		out[uint64(key)] = append(out[uint64(key)], h)
	}
	return rows.Err()
}

func encodeKeys(keys []uint64) []byte {
	b := make([]byte, 0, 8*len(keys))
	for _, k := range keys {
		b = binary.LittleEndian.AppendUint64(b, k)
	}
	return b
}

func decodeKeys(b []byte) []uint64 {
	keys := make([]uint64, len(b)/8)
	for i := range keys {
		keys[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return keys
}

// IndexedFileOf returns the tracked file (volID, ino) with its index entry;
// ok is false when it is not tracked in the scope.
func (d *DB) IndexedFileOf(ctx context.Context, s *Scope, volID int64, ino uint64) (f IndexedFile, ok bool, err error) {
	err = d.db.QueryRowContext(ctx, `
		SELECT i.vol_id, i.ino, i.generation, i.size, i.transid,
			coalesce(f.id, 0), coalesce(f.transid, 0), f.print, coalesce(f.pending, 1)
		FROM Inode i LEFT JOIN ExtentFile f ON f.vol_id = i.vol_id AND f.ino = i.ino
		WHERE i.vol_id = ?1 AND i.ino = ?2
			AND EXISTS (SELECT 1 FROM Inode WHERE vol_id = +i.vol_id AND ino = +i.ino AND `+s.cond()+`)`, volID, int64(ino)).
		Scan(&f.VolID, &f.Ino, &f.Generation, &f.Size, &f.Transid, &f.ID, &f.KeyTransid, &f.Print, &f.Pending)
	if err == sql.ErrNoRows {
		return f, false, nil
	}
	if err != nil {
		return f, false, fmt.Errorf("indexed file %d of volume %d: %w", ino, volID, err)
	}
	return f, true, nil
}

// NewIndexScope is NewScope for the partial-file pass: volumes restricted
// to directories always list the inodes below them, whether or not any
// inode is flagged (the whole-file pass has cleared the flags by the time
// the partial-file pass runs; its work is found through the block index).
// A scope without restricted volumes costs nothing. Close it after the
// pass.
func (d *DB) NewIndexScope(ctx context.Context, vols []int64, dirs map[int64][]uint64) (*Scope, error) {
	s, restricted := splitScope(d, vols, dirs)
	if len(restricted) == 0 {
		return s, nil
	}
	if err := d.fillScope(ctx, s, restricted, dirs); err != nil {
		return nil, err
	}
	return s, nil
}
