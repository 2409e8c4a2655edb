package store

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// How a Batch is written. Its writes were once one statement execution
// each; through the WASM build of SQLite every execution costs, so the
// writes to one inode are folded into one update (or one delete), and
// drops, done intents, events and their inodes go through multi-row
// statements, chunked below SQLite's bound-parameter limit. The inode
// updates stay one execution each (see updateInodes), of a statement
// that assigns only the columns written.
//
// Folding changes the order of the writes, which cannot change the
// outcome:
//
//   - The writes to one inode (SetResult, SetFlag, SetTransid, SetFrozen,
//     Drop) are folded, in their order, into their net effect: a later
//     write of a column wins over an earlier one (a SetFlag after a
//     SetResult keeps the SetFlag's flag, and the other way round), and a
//     Drop ends the inode, so nothing after it applies (it would have
//     updated no row). Distinct inodes are independent rows, so the
//     net effects can be made in any order: updates first, then deletes,
//     each sorted by key for locality.
//   - Events, their inodes and done intents touch no Inode row and no
//     trigger links them to one; an event's inodes are inserted after the
//     event rows they name (they reference them). Intents are deleted by
//     id, events inserted with fresh ids: neither depends on the other.
//
// A folded update that would not change its row (a flag already clear, a
// fingerprint already stored) is left out by its WHERE clause, so no page
// is dirtied for it.

// maxVars is SQLite's default bound-parameter limit per statement
// (SQLITE_MAX_VARIABLE_NUMBER since 3.32), which the driver keeps.
const maxVars = 32766

// Columns set by a folded inode write.
const (
	setResult  = 1 << iota // hash, extents, hash_transid
	setFlag                // has_updates
	setTransid             // transid
	setFrozen              // frozen
)

// InodeKey names an Inode row by its primary key. A batch's writes go
// through it rather than (vol_id, ino): a lookup by the whole key is one
// descent of the table, in size order like the pass that writes, where
// one by (vol_id, ino) first looks the size up in ix_Inode_ino, whose
// pages a window of small files touches at random (measured: most of a
// commit's page cache misses).
type InodeKey struct {
	Size  uint64 // as tracked: the size group the row was loaded with
	VolID int64
	Ino   uint64
}

// inodeWrite is the net effect of a batch's writes on one inode.
type inodeWrite struct {
	InodeKey
	set           int // setResult | setFlag | ...
	drop          bool
	hash, extents []byte
	hashTransid   any // int64, or nil: unknown
	flagged       bool
	transid       int64
	frozen        bool
}

// batchPlan is a batch folded into what its statements write.
type batchPlan struct {
	updates []inodeWrite // by key
	drops   []InodeKey   // by key
	events  []batchEvent // in order
	intents []int64      // in order
}

func cmpKey(a, b InodeKey) int {
	return cmp.Or(cmp.Compare(a.Size, b.Size), cmp.Compare(a.VolID, b.VolID), cmp.Compare(a.Ino, b.Ino))
}

// plan folds the batch's writes (see above).
func (b *Batch) plan() batchPlan {
	p := batchPlan{events: b.events, intents: b.intents}
	// The writes by inode, in the order of their first op, indexed by key.
	writes := make([]inodeWrite, 0, len(b.ops))
	index := make(map[InodeKey]int, len(b.ops))
	for _, op := range b.ops {
		k := op.key
		i, ok := index[k]
		if !ok {
			i = len(writes)
			index[k] = i
			writes = append(writes, inodeWrite{InodeKey: k})
		}
		w := &writes[i]
		if w.drop {
			continue // the row is gone: a later update would find none
		}
		switch op.kind {
		case opDrop:
			*w = inodeWrite{InodeKey: k, drop: true}
		case opResult:
			w.set |= setResult | setFlag
			w.hash, w.extents, w.flagged = op.hash, op.extents, op.flagged
			w.hashTransid = nil
			if op.n != 0 && op.hash != nil {
				w.hashTransid = int64(op.n)
			}
		case opFlag:
			w.set |= setFlag
			w.flagged = op.flagged
		case opTransid:
			w.set |= setTransid
			w.transid = int64(op.n)
		case opFrozen:
			w.set |= setFrozen
			w.frozen = op.flagged
		}
	}
	p.updates = writes[:0] // in place: each write is read before it is written over
	for _, w := range writes {
		if w.drop {
			p.drops = append(p.drops, w.InodeKey)
		} else {
			p.updates = append(p.updates, w)
		}
	}
	slices.SortFunc(p.updates, func(a, b inodeWrite) int { return cmpKey(a.InodeKey, b.InodeKey) })
	slices.SortFunc(p.drops, cmpKey)
	return p
}

// placeholders renders n rows of cols bound parameters: (?,?),(?,?).
func placeholders(n, cols int) string {
	row := "(" + strings.Repeat("?,", cols-1) + "?)"
	var b strings.Builder
	b.Grow(n * (len(row) + 1))
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

// Rows per multi-row statement: a batch is written through statements of
// these sizes, largest first, the last one padded with rows of NULLs,
// which match and insert nothing. Few sizes let the statements be
// prepared once per database, not per batch: parsing a statement of
// thousands of parameters costs about as much as running it.
var chunkRows = []int{512, 128, 32, 8}

// stmtCache keeps the prepared multi-row statements of a database. A
// statement cannot be prepared on the database while a transaction holds
// its only connection: one first needed in a transaction is prepared in
// it, for that once, and on the database after the commit (keep).
type stmtCache struct {
	mu     sync.Mutex
	db     *sql.DB // the statements' database (DB.db can be reopened)
	m      map[string]*sql.Stmt
	wanted []string
}

// stmt returns the statement q for use in tx.
func (d *DB) stmt(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	c := &d.stmts
	c.mu.Lock()
	if c.db != d.db {
		c.db, c.m, c.wanted = d.db, map[string]*sql.Stmt{}, nil
	}
	s := c.m[q]
	if s == nil && !slices.Contains(c.wanted, q) {
		c.wanted = append(c.wanted, q)
	}
	c.mu.Unlock()
	if s == nil {
		return tx.PrepareContext(ctx, q)
	}
	return tx.StmtContext(ctx, s), nil
}

// keep prepares on the database the statements transactions wanted, once
// none is open. A failure leaves them to be prepared in a transaction
// again. The cache is not locked while preparing: that waits for the
// database's only connection, which a transaction of another goroutine
// may hold while it asks the cache for a statement.
func (d *DB) keep(ctx context.Context) {
	c := &d.stmts
	c.mu.Lock()
	db, wanted := c.db, c.wanted
	c.wanted = nil
	c.mu.Unlock()
	if db != d.db {
		return
	}
	for _, q := range wanted {
		s, err := db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.db == db && c.m[q] == nil {
			c.m[q], s = s, nil
		}
		c.mu.Unlock()
		if s != nil {
			s.Close() // prepared meanwhile by another keep
		}
	}
}

// multiRow runs a statement over rows of cols arguments each (args holds
// them one after the other), in chunks of chunkRows, the last one padded
// with NULLs. build renders the statement for n rows; run runs it.
func (d *DB) multiRow(ctx context.Context, tx *sql.Tx, args []any, cols int, build func(n int) string, run func(*sql.Stmt, []any) error) error {
	for len(args) > 0 {
		rows := len(args) / cols
		size := chunkRows[len(chunkRows)-1]
		for _, n := range chunkRows {
			if n <= rows || n*cols > maxVars {
				size = n
				break
			}
		}
		size = min(size, maxVars/cols)
		chunk := args[:min(len(args), size*cols)]
		args = args[len(chunk):]
		if len(chunk) < size*cols {
			chunk = append(slices.Clip(chunk), make([]any, size*cols-len(chunk))...)
		}
		s, err := d.stmt(ctx, tx, build(size))
		if err != nil {
			return err
		}
		if err := run(s, chunk); err != nil {
			return err
		}
	}
	return nil
}

func execStmt(s *sql.Stmt, args []any) error {
	_, err := s.Exec(args...)
	return err
}

// updateSQL updates the columns set names (setResult...) of one inode:
// ?1, ?2, ?3 its key (InodeKey), then their new values in the order of inodeWrite.args.
// A row none of whose written columns would change is left alone. Naming
// only the written columns spares SQLite the others: it checks the CHECK
// constraints of has_updates and frozen, and maintains the partial indexes
// on them, only when they are assigned.
func updateSQL(set int) string {
	var cols []string
	if set&setResult != 0 {
		cols = append(cols, "hash", "extents", "hash_transid")
	}
	if set&setFlag != 0 {
		cols = append(cols, "has_updates")
	}
	if set&setTransid != 0 {
		cols = append(cols, "transid")
	}
	if set&setFrozen != 0 {
		cols = append(cols, "frozen")
	}
	assign := make([]string, len(cols))
	changed := make([]string, len(cols))
	for i, c := range cols {
		p := "?" + strconv.Itoa(i+4)
		assign[i] = c + " = " + p
		changed[i] = c + " IS NOT " + p
	}
	// NOT INDEXED: told the whole key, SQLite still prefers the unique
	// ix_Inode_ino (both promise one row); NOT INDEXED leaves it the table's
	// own key, which is what InodeKey is for.
	return `UPDATE Inode NOT INDEXED SET ` + strings.Join(assign, ", ") +
		` WHERE size = ?1 AND vol_id = ?2 AND ino = ?3 AND (` + strings.Join(changed, " OR ") + `)`
}

// args appends the arguments of w's update (see updateSQL) to args.
func (w *inodeWrite) args(args []any) []any {
	args = append(args, int64(w.Size), w.VolID, int64(w.Ino))
	if w.set&setResult != 0 {
		args = append(args, w.hash, w.extents, w.hashTransid)
	}
	if w.set&setFlag != 0 {
		args = append(args, w.flagged)
	}
	if w.set&setTransid != 0 {
		args = append(args, w.transid)
	}
	if w.set&setFrozen != 0 {
		args = append(args, w.frozen)
	}
	return args
}

func dropSQL(n int) string {
	return `DELETE FROM Inode WHERE (size, vol_id, ino) IN (VALUES ` + placeholders(n, 3) + `)`
}

func intentDoneSQL(n int) string {
	return `DELETE FROM DedupIntent WHERE id IN (` + strings.Repeat("?,", n-1) + `?)`
}

func eventSQL(n int) string {
	return `INSERT INTO DedupEvent (id, fs_id, item_size, bytes_freed, created)
		SELECT * FROM (VALUES ` + placeholders(n, 5) + `) WHERE column1 IS NOT NULL`
}

func eventInodeSQL(n int) string {
	return `INSERT INTO DedupEventInode (event_id, vol_id, ino)
		SELECT * FROM (VALUES ` + placeholders(n, 3) + `) WHERE column1 IS NOT NULL`
}

// updateInodes makes the folded updates, one execution each: measured, a
// multi-row UPDATE ... FROM (VALUES ...) costs more than the executions it
// saves (SQLite materializes the join into a temporary table first).
// Each combination of written columns has its statement.
func (d *DB) updateInodes(ctx context.Context, tx *sql.Tx, updates []inodeWrite) error {
	var stmts [setFrozen << 1]*sql.Stmt
	args := make([]any, 0, 8)
	for i := range updates {
		w := &updates[i]
		s := stmts[w.set]
		if s == nil {
			var err error
			if s, err = d.stmt(ctx, tx, updateSQL(w.set)); err != nil {
				return err
			}
			stmts[w.set] = s
		}
		if _, err := s.Exec(w.args(args[:0])...); err != nil {
			return err
		}
	}
	return nil
}

// write makes the batch's writes in tx.
func (b *Batch) write(ctx context.Context, tx *sql.Tx) error {
	p := b.plan()
	d := b.d
	if err := d.updateInodes(ctx, tx, p.updates); err != nil {
		return err
	}
	args := make([]any, 0, 3*len(p.drops))
	for _, k := range p.drops {
		args = append(args, int64(k.Size), k.VolID, int64(k.Ino))
	}
	if err := d.multiRow(ctx, tx, args, 3, dropSQL, execStmt); err != nil {
		return err
	}
	args = args[:0]
	for _, id := range p.intents {
		args = append(args, id)
	}
	if err := d.multiRow(ctx, tx, args, 1, intentDoneSQL, execStmt); err != nil {
		return err
	}
	if len(p.events) == 0 {
		return nil
	}
	// Events get the ids SQLite would give them one by one: the
	// transaction holds the database's only writer (BEGIN IMMEDIATE), so
	// nothing else takes them meanwhile.
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM DedupEvent`).Scan(&last); err != nil {
		return err
	}
	created := time.Now().UTC().Format(time.RFC3339Nano)
	args = args[:0]
	var inodes []any
	for i, e := range p.events {
		id := last + 1 + int64(i)
		args = append(args, id, e.fsID, int64(e.size), int64(e.freed), created)
		for _, in := range e.inodes {
			inodes = append(inodes, id, in.VolID, int64(in.Ino))
		}
	}
	if err := d.multiRow(ctx, tx, args, 5, eventSQL, execStmt); err != nil {
		return err
	}
	return d.multiRow(ctx, tx, inodes, 3, eventInodeSQL, execStmt)
}
