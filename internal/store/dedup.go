package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// volList renders volume ids as an SQL list. They are integers from the
// database itself, so inlining them is safe, and it avoids SQLite's bound
// parameter limit with thousands of subvolumes.
func volList(ids []int64) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, id)
	}
	b.WriteByte(')')
	return b.String()
}

// FlaggedSizes returns, largest first, up to limit sizes below `below`
// that have at least one flagged inode in the volumes.
func (d *DB) FlaggedSizes(ctx context.Context, vols []int64, below uint64, limit int) ([]uint64, error) {
	rows, err := d.db.QueryContext(ctx, `
		SELECT DISTINCT size FROM Inode INDEXED BY ix_Inode_flagged
		WHERE has_updates = 1 AND size < ? AND vol_id IN `+volList(vols)+`
		ORDER BY size DESC LIMIT ?`, int64(min(below, 1<<63-1)), limit)
	if err != nil {
		return nil, fmt.Errorf("size groups: %w", err)
	}
	defer rows.Close()
	var out []uint64
	for rows.Next() {
		var s uint64
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// CountFlaggedSizes counts the sizes with a flagged inode (the progress
// denominator).
func (d *DB) CountFlaggedSizes(ctx context.Context, vols []int64) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `
		SELECT count(DISTINCT size) FROM Inode INDEXED BY ix_Inode_flagged
		WHERE has_updates = 1 AND vol_id IN `+volList(vols)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count size groups: %w", err)
	}
	return n, nil
}

// Member is a tracked inode taking part in a size group.
type Member struct {
	VolID      int64
	Ino        uint64
	Generation uint64
	Transid    uint64
	Flagged    bool
	Hash       []byte // as stored by SetResult, or nil
	Extents    []byte // extent-map fingerprint the hash was taken with, or nil
}

// Members lists the inodes of one size in the volumes.
func (d *DB) Members(ctx context.Context, vols []int64, size uint64) ([]Member, error) {
	rows, err := d.db.QueryContext(ctx, `
		SELECT vol_id, ino, generation, transid, has_updates, hash, extents
		FROM Inode INDEXED BY ix_Inode_size WHERE size = ? AND vol_id IN `+volList(vols)+`
		ORDER BY vol_id, ino`, int64(size))
	if err != nil {
		return nil, fmt.Errorf("size group %d: %w", size, err)
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.VolID, &m.Ino, &m.Generation, &m.Transid, &m.Flagged, &m.Hash, &m.Extents); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Batch collects the results of a window of size groups and writes them in
// one transaction, so an interrupted run keeps every finished window.
type Batch struct {
	d      *DB
	ops    []func(ctx context.Context, tx *sql.Tx) error
	events int
}

// NewBatch starts an empty batch.
func (d *DB) NewBatch() *Batch { return &Batch{d: d} }

// SetResult records what dedup learnt about an inode: its content
// fingerprint and the extent map it holds, and whether it stays flagged.
func (b *Batch) SetResult(volID int64, ino uint64, hash, extents []byte, flagged bool) {
	b.ops = append(b.ops, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE Inode SET hash = ?, extents = ?, has_updates = ? WHERE vol_id = ? AND ino = ?`,
			hash, extents, flagged, volID, int64(ino))
		return err
	})
}

// SetFlag sets or clears an inode's flag, keeping what else is stored.
func (b *Batch) SetFlag(volID int64, ino uint64, flagged bool) {
	b.ops = append(b.ops, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE Inode SET has_updates = ? WHERE vol_id = ? AND ino = ?`, flagged, volID, int64(ino))
		return err
	})
}

// Drop deletes an inode that no longer exists.
func (b *Batch) Drop(volID int64, ino uint64) {
	b.ops = append(b.ops, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM Inode WHERE vol_id = ? AND ino = ?`, volID, int64(ino))
		return err
	})
}

// EventInode is one participant of a dedup event.
type EventInode struct {
	VolID int64
	Ino   uint64
}

// Event logs one shared set: the source first, then every destination that
// now shares its extents, the file size and the bytes estimated freed.
func (b *Batch) Event(fsID int64, size, freed uint64, inodes []EventInode) {
	b.events++
	created := time.Now().UTC().Format(time.RFC3339Nano)
	b.ops = append(b.ops, func(ctx context.Context, tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO DedupEvent (fs_id, item_size, bytes_freed, created) VALUES (?, ?, ?, ?) RETURNING id`,
			fsID, int64(size), int64(freed), created).Scan(&id); err != nil {
			return err
		}
		for _, in := range inodes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO DedupEventInode (event_id, vol_id, ino) VALUES (?, ?, ?)`, id, in.VolID, int64(in.Ino)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Len is the number of pending writes.
func (b *Batch) Len() int { return len(b.ops) }

// Commit writes the batch in one transaction and empties it. It is not
// cancelled by ctx: work already done on the filesystem must be recorded.
func (b *Batch) Commit(ctx context.Context) error {
	if len(b.ops) == 0 {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	tx, err := b.d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record dedup results: %w", err)
	}
	defer tx.Rollback()
	for _, op := range b.ops {
		if err := op(ctx, tx); err != nil {
			return fmt.Errorf("record dedup results: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record dedup results: %w", err)
	}
	b.ops, b.events = b.ops[:0], 0
	return nil
}

// FlaggedBytes estimates the work of a pass: the bytes of every tracked
// inode in a size group with a flagged member.
func (d *DB) FlaggedBytes(ctx context.Context, vols []int64) (int64, error) {
	var n sql.NullInt64
	err := d.db.QueryRowContext(ctx, `
		SELECT sum(size) FROM Inode INDEXED BY ix_Inode_size
		WHERE vol_id IN `+volList(vols)+` AND size IN (
			SELECT DISTINCT size FROM Inode INDEXED BY ix_Inode_flagged
			WHERE has_updates = 1 AND vol_id IN `+volList(vols)+`)`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("estimate work: %w", err)
	}
	return n.Int64, nil
}

// SetTransid records an inode's transid after bedup changed it (a share
// bumps the destination's transid), so the next scan does not take bedup's
// own work for a change.
func (b *Batch) SetTransid(volID int64, ino, transid uint64) {
	b.ops = append(b.ops, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE Inode SET transid = ? WHERE vol_id = ? AND ino = ?`, int64(transid), volID, int64(ino))
		return err
	})
}
