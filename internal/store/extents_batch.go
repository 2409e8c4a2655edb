package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// IndexBatch collects the writes of a partial-file pass (index entries,
// their state, inodes bedup changed, the event log) and writes them in one
// transaction.
type IndexBatch struct {
	d   *DB
	ops []func(ctx context.Context, tx *indexTx) error
}

// indexTx is a transaction with its prepared statements.
type indexTx struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func (t *indexTx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (t *indexTx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s := t.stmts[q]; s != nil {
		return s, nil
	}
	s, err := t.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	t.stmts[q] = s
	return s, nil
}

// NewIndexBatch starts an empty batch.
func (d *DB) NewIndexBatch() *IndexBatch { return &IndexBatch{d: d} }

// Len is the number of pending writes.
func (b *IndexBatch) Len() int { return len(b.ops) }

// Index records the chunk keys of a file (0: a chunk without a key) taken
// at its transid with extent-map fingerprint print, replacing what was
// recorded before, and marks the entry pending: not yet matched.
func (b *IndexBatch) Index(volID int64, ino, transid uint64, print []byte, keys []uint64) {
	b.ops = append(b.ops, func(ctx context.Context, t *indexTx) error {
		var id int64
		var old []byte
		s, err := t.stmt(ctx, `SELECT id, keys FROM ExtentFile WHERE vol_id = ? AND ino = ?`)
		if err != nil {
			return err
		}
		err = s.QueryRowContext(ctx, volID, int64(ino)).Scan(&id, &old)
		switch {
		case err == sql.ErrNoRows:
			s, err := t.stmt(ctx, `INSERT INTO ExtentFile (vol_id, ino, transid, print, keys, pending) VALUES (?, ?, ?, ?, ?, 1) RETURNING id`)
			if err != nil {
				return err
			}
			if err := s.QueryRowContext(ctx, volID, int64(ino), int64(transid), print, encodeKeys(keys)).Scan(&id); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if err := deleteKeys(ctx, t, id, decodeKeys(old)); err != nil {
				return err
			}
			if _, err := t.exec(ctx, `UPDATE ExtentFile SET transid = ?, print = ?, keys = ?, pending = 1 WHERE id = ?`,
				int64(transid), print, encodeKeys(keys), id); err != nil {
				return err
			}
		}
		for chunk, k := range keys {
			if k == 0 {
				continue
			}
			if _, err := t.exec(ctx, `INSERT OR IGNORE INTO ExtentKey (key, file, chunk) VALUES (?, ?, ?)`, int64(k), id, chunk); err != nil {
				return err
			}
		}
		return nil
	})
}

// deleteKeys deletes the key rows of file id, one per nonzero key.
func deleteKeys(ctx context.Context, t *indexTx, id int64, keys []uint64) error {
	for chunk, k := range keys {
		if k == 0 {
			continue
		}
		if _, err := t.exec(ctx, `DELETE FROM ExtentKey WHERE key = ? AND file = ? AND chunk = ?`, int64(k), id, chunk); err != nil {
			return err
		}
	}
	return nil
}

// Matched marks a file's entry matched: its keys hold for transid and
// extent map print (nil keeps the recorded one).
func (b *IndexBatch) Matched(volID int64, ino, transid uint64, print []byte) {
	b.ops = append(b.ops, func(ctx context.Context, t *indexTx) error {
		_, err := t.exec(ctx, `UPDATE ExtentFile SET pending = 0, transid = ?, print = coalesce(?, print) WHERE vol_id = ? AND ino = ?`,
			int64(transid), print, volID, int64(ino))
		return err
	})
}

// Unindex deletes a file's entry (it shrank below the threshold, or cannot
// be indexed); its key rows follow at the next PurgeKeys.
func (b *IndexBatch) Unindex(volID int64, ino uint64) {
	b.ops = append(b.ops, func(ctx context.Context, t *indexTx) error {
		_, err := t.exec(ctx, `DELETE FROM ExtentFile WHERE vol_id = ? AND ino = ?`, volID, int64(ino))
		return err
	})
}

// InodeShared records an inode's transid after bedup shared data into it
// (so that the next scan does not take bedup's work for a change) and, when
// the whole-file fingerprint was taken with extent map before, moves it to
// after: the content is the same, only where it lives changed.
func (b *IndexBatch) InodeShared(volID int64, ino, transid uint64, before, after []byte) {
	b.ops = append(b.ops, func(ctx context.Context, t *indexTx) error {
		_, err := t.exec(ctx, `UPDATE Inode SET transid = ?, extents = CASE WHEN extents = ? THEN ? ELSE extents END
			WHERE vol_id = ? AND ino = ?`, int64(transid), before, after, volID, int64(ino))
		return err
	})
}

// Event logs one destination's partial share: the inodes (sources first,
// the destination last), the destination's size and the bytes freed.
func (b *IndexBatch) Event(fsID int64, size, freed uint64, inodes []EventInode) {
	b.ops = append(b.ops, func(ctx context.Context, t *indexTx) error {
		s, err := t.stmt(ctx, `INSERT INTO DedupEvent (fs_id, item_size, bytes_freed, created) VALUES (?, ?, ?, ?) RETURNING id`)
		if err != nil {
			return err
		}
		var id int64
		created := time.Now().UTC().Format(time.RFC3339Nano)
		if err := s.QueryRowContext(ctx, fsID, int64(size), int64(freed), created).Scan(&id); err != nil {
			return err
		}
		for _, in := range inodes {
			if _, err := t.exec(ctx, `INSERT INTO DedupEventInode (event_id, vol_id, ino) VALUES (?, ?, ?)`, id, in.VolID, int64(in.Ino)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Commit writes the batch in one transaction and empties it. It is not
// cancelled by ctx: work already done on the filesystem must be recorded.
func (b *IndexBatch) Commit(ctx context.Context) error {
	if len(b.ops) == 0 {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	tx, err := b.d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record block index: %w", err)
	}
	defer tx.Rollback()
	t := &indexTx{tx: tx, stmts: map[string]*sql.Stmt{}}
	for _, op := range b.ops {
		if err := op(ctx, t); err != nil {
			return fmt.Errorf("record block index: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record block index: %w", err)
	}
	b.ops = b.ops[:0]
	return nil
}

// PurgeKeys deletes the key rows of index entries deleted since the last
// purge (their inodes dropped, their volumes forgotten), up to limit
// entries per call, and reports how many it handled.
func (d *DB) PurgeKeys(ctx context.Context, limit int) (int, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("purge block index: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT file, keys FROM ExtentGone LIMIT ?`, limit)
	if err != nil {
		return 0, fmt.Errorf("purge block index: %w", err)
	}
	type gone struct {
		id   int64
		keys []uint64
	}
	var all []gone
	for rows.Next() {
		var g gone
		var b []byte
		if err := rows.Scan(&g.id, &b); err != nil {
			rows.Close()
			return 0, fmt.Errorf("purge block index: %w", err)
		}
		g.keys = decodeKeys(b)
		all = append(all, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("purge block index: %w", err)
	}
	t := &indexTx{tx: tx, stmts: map[string]*sql.Stmt{}}
	for _, g := range all {
		if err := deleteKeys(ctx, t, g.id, g.keys); err != nil {
			return 0, fmt.Errorf("purge block index: %w", err)
		}
		if _, err := t.exec(ctx, `DELETE FROM ExtentGone WHERE file = ?`, g.id); err != nil {
			return 0, fmt.Errorf("purge block index: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("purge block index: %w", err)
	}
	return len(all), nil
}
