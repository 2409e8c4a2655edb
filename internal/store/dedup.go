package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
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

// FlaggedSizesBetween lists up to limit sizes strictly between above and
// below with a flagged inode in the scope, from either end: for a pass
// that takes windows from both ends of what is left (tracked sizes are at
// least 1, so above 0 bounds nothing).
func (d *DB) FlaggedSizesBetween(ctx context.Context, s *Scope, above, below uint64, limit int, largestFirst bool) ([]uint64, error) {
	order := "size"
	if largestFirst {
		order = "size DESC"
	}
	rows, err := d.db.QueryContext(ctx, `
		SELECT DISTINCT size FROM Inode INDEXED BY ix_Inode_flagged
		WHERE has_updates = 1 AND size > ? AND size < ? AND `+s.cond()+`
		ORDER BY `+order+` LIMIT ?`, int64(min(above, 1<<63-1)), int64(min(below, 1<<63-1)), limit)
	return sizesOf(rows, err)
}

// sizesOf reads the sizes a query lists.
func sizesOf(rows *sql.Rows, err error) ([]uint64, error) {
	if err != nil {
		return nil, fmt.Errorf("size groups: %w", err)
	}
	defer rows.Close()
	var out []uint64
	for rows.Next() {
		var s uint64
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("size groups: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// CountFlaggedSizes counts the sizes with a flagged inode in the scope
// (the progress denominator).
func (d *DB) CountFlaggedSizes(ctx context.Context, s *Scope) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `
		SELECT count(DISTINCT size) FROM Inode INDEXED BY ix_Inode_flagged
		WHERE has_updates = 1 AND `+s.cond()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count size groups: %w", err)
	}
	return n, nil
}

// Batch collects the results of a window of size groups and writes them in
// one transaction, so an interrupted run keeps every finished window.
// The writes to inodes, of which a window makes a few per file, are kept
// apart from its events and done intents (a few per group), so that each
// is no larger than what it holds: a batch of transids alone holds 16384
// of them (see dedupe's sharedBatch).
type Batch struct {
	d       *DB
	ops     []batchOp
	events  []batchEvent
	intents []int64 // done
}

type opKind uint8

const (
	opResult opKind = iota
	opFlag
	opDrop
	opTransid
	opFrozen
)

// batchOp is one write to an inode.
type batchOp struct {
	key           InodeKey
	n             uint64 // transid, or hash transid
	hash, extents []byte
	kind          opKind
	flagged       bool
}

// batchEvent is one shared set to log (see Event).
type batchEvent struct {
	fsID        int64
	size, freed uint64
	inodes      []EventInode
}

// NewBatch starts an empty batch.
func (d *DB) NewBatch() *Batch { return &Batch{d: d} }

// SetResult records what dedup learnt about an inode: its content
// fingerprint, the extent map it holds, the transaction up to which its
// data is in the fingerprint (no later write is), and whether it stays
// flagged.
func (b *Batch) SetResult(k InodeKey, hash, extents []byte, hashTransid uint64, flagged bool) {
	b.ops = append(b.ops, batchOp{kind: opResult, key: k, hash: hash, extents: extents, n: hashTransid, flagged: flagged})
}

// SetFlag sets or clears an inode's flag, keeping what else is stored.
func (b *Batch) SetFlag(k InodeKey, flagged bool) {
	b.ops = append(b.ops, batchOp{kind: opFlag, key: k, flagged: flagged})
}

// Drop deletes an inode that no longer exists.
func (b *Batch) Drop(k InodeKey) {
	b.ops = append(b.ops, batchOp{kind: opDrop, key: k})
}

// SetTransid records an inode's transid after bedup changed it (a share
// bumps the destination's transid), so the next scan does not take bedup's
// own work for a change.
func (b *Batch) SetTransid(k InodeKey, transid uint64) {
	b.ops = append(b.ops, batchOp{kind: opTransid, key: k, n: transid})
}

// EventInode is one participant of a dedup event.
type EventInode struct {
	VolID int64
	Ino   uint64
}

// Event logs one shared set: the source first, then every destination that
// now shares its extents, the file size and the bytes estimated freed.
func (b *Batch) Event(fsID int64, size, freed uint64, inodes []EventInode) {
	b.events = append(b.events, batchEvent{fsID: fsID, size: size, freed: freed, inodes: inodes})
}

// IntentDone deletes a logged intent (LogIntents) whose share is recorded
// by this batch (its Event, when anything was shared): both commit
// together.
func (b *Batch) IntentDone(id int64) {
	b.intents = append(b.intents, id)
}

// Grow makes room for n more writes to inodes: a caller that knows how
// many it will make (a window: a few per file) spares the batch growing by
// doubling, which for a moment holds both the old and the new array.
func (b *Batch) Grow(n int) { b.ops = slices.Grow(b.ops, n) }

// Len is the number of pending writes.
func (b *Batch) Len() int { return len(b.ops) + len(b.events) + len(b.intents) }

// Commit writes the batch in one transaction and empties it (see
// batch.go for how). It is not cancelled by ctx: work already done on the
// filesystem must be recorded.
func (b *Batch) Commit(ctx context.Context) (err error) {
	defer func() { err = b.d.explain(err) }() // a full disk is not "disk I/O error"
	if b.Len() == 0 {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	tx, err := b.d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record dedup results: %w", err)
	}
	defer tx.Rollback()
	if err := b.write(ctx, tx); err != nil {
		return fmt.Errorf("record dedup results: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record dedup results: %w", err)
	}
	b.ops, b.events, b.intents = b.ops[:0], b.events[:0], b.intents[:0]
	b.d.keep(ctx)
	return nil
}

// FlaggedBytes estimates the work of a pass: the bytes of every tracked
// inode of the scope in a size group with a flagged member in the scope.
func (d *DB) FlaggedBytes(ctx context.Context, s *Scope) (int64, error) {
	var n sql.NullInt64
	err := d.db.QueryRowContext(ctx, `
		SELECT sum(size) FROM Inode
		WHERE `+s.cond()+` AND size IN (
			SELECT DISTINCT size FROM Inode INDEXED BY ix_Inode_flagged
			WHERE has_updates = 1 AND `+s.cond()+`)`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("estimate work: %w", err)
	}
	return n.Int64, nil
}
