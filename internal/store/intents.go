package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Intent is a share about to be made: the source first, then the
// destinations, each with its creation generation (to open it by handle),
// and the bytes sharing into every destination frees.
type Intent struct {
	FSID   int64
	Size   uint64
	Freed  uint64
	Inodes []IntentInode
}

// IntentInode is one participant of an Intent. RootID (the subvolume id)
// is filled in by PendingIntents.
type IntentInode struct {
	VolID      int64
	RootID     uint64
	Ino        uint64
	Generation uint64
}

// PendingIntent is a logged intent whose outcome was never recorded.
type PendingIntent struct {
	ID int64
	Intent
}

// LogIntents logs the shares a window is about to make, in one
// transaction, and returns their ids in order. Its commit must precede
// the first share: a run killed after a share finds the intent and
// records what was shared (see PendingIntents).
func (d *DB) LogIntents(ctx context.Context, intents []Intent) ([]int64, error) {
	if len(intents) == 0 {
		return nil, nil
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("log intents: %w", err)
	}
	defer tx.Rollback()
	ids, err := d.logIntents(ctx, tx, intents)
	if err != nil {
		return nil, fmt.Errorf("log intents: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("log intents: %w", err)
	}
	d.keep(ctx)
	return ids, nil
}

func intentSQL(n int) string {
	return `INSERT INTO DedupIntent (id, fs_id, item_size, bytes_freed, created)
		SELECT * FROM (VALUES ` + placeholders(n, 5) + `) WHERE column1 IS NOT NULL`
}

func intentInodeSQL(n int) string {
	return `INSERT INTO DedupIntentInode (intent_id, pos, vol_id, ino, generation)
		SELECT * FROM (VALUES ` + placeholders(n, 5) + `) WHERE column1 IS NOT NULL`
}

// logIntents inserts the intents and their inodes in tx through
// multi-row statements (see multiRow). The intents get the ids SQLite
// would give them one by one: the transaction holds the database's only
// writer, so nothing else takes them meanwhile.
func (d *DB) logIntents(ctx context.Context, tx *sql.Tx, intents []Intent) ([]int64, error) {
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM DedupIntent`).Scan(&last); err != nil {
		return nil, err
	}
	created := time.Now().UTC().Format(time.RFC3339Nano)
	ids := make([]int64, len(intents))
	args := make([]any, 0, 5*len(intents))
	var inodes []any
	for i, in := range intents {
		ids[i] = last + 1 + int64(i)
		args = append(args, ids[i], in.FSID, int64(in.Size), int64(in.Freed), created)
		for pos, f := range in.Inodes {
			inodes = append(inodes, ids[i], pos, f.VolID, int64(f.Ino), int64(f.Generation))
		}
	}
	if err := d.multiRow(ctx, tx, args, 5, intentSQL, execStmt); err != nil {
		return nil, err
	}
	if err := d.multiRow(ctx, tx, inodes, 5, intentInodeSQL, execStmt); err != nil {
		return nil, err
	}
	return ids, nil
}

// PendingIntents lists the intents of a filesystem left by a run that
// stopped between logging them and recording their outcome, oldest first,
// each with its participants in order (the source first).
func (d *DB) PendingIntents(ctx context.Context, fsID int64) ([]PendingIntent, error) {
	rows, err := d.db.QueryContext(ctx, `
		SELECT i.id, i.item_size, i.bytes_freed, n.pos, n.vol_id, v.root_id, n.ino, n.generation
		FROM DedupIntent i
		JOIN DedupIntentInode n ON n.intent_id = i.id
		JOIN Volume v ON v.id = n.vol_id
		WHERE i.fs_id = ?
		ORDER BY i.id, n.pos`, fsID)
	if err != nil {
		return nil, fmt.Errorf("pending intents: %w", err)
	}
	defer rows.Close()
	var out []PendingIntent
	for rows.Next() {
		var p PendingIntent
		var f IntentInode
		var pos int
		if err := rows.Scan(&p.ID, &p.Size, &p.Freed, &pos, &f.VolID, &f.RootID, &f.Ino, &f.Generation); err != nil {
			return nil, fmt.Errorf("pending intents: %w", err)
		}
		if n := len(out); n > 0 && out[n-1].ID == p.ID {
			out[n-1].Inodes = append(out[n-1].Inodes, f)
			continue
		}
		if pos != 0 {
			// The source's volume was forgotten: only a placeholder
			// keeps the destinations apart from another intent's.
			p.Inodes = []IntentInode{{}}
		}
		p.FSID = fsID
		p.Inodes = append(p.Inodes, f)
		out = append(out, p)
	}
	return out, rows.Err()
}

// ResolveIntent records what became of a pending intent, in one
// transaction: a DedupEvent (at the intent's time) for the source and the
// destinations in shared, when there are any, then the intent is deleted.
func (d *DB) ResolveIntent(ctx context.Context, id int64, shared []EventInode, freed uint64) error {
	ctx = context.WithoutCancel(ctx) // done is done: record it
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("resolve intent: %w", err)
	}
	defer tx.Rollback()
	if len(shared) > 1 {
		var event int64
		err := tx.QueryRowContext(ctx, `
			INSERT INTO DedupEvent (fs_id, item_size, bytes_freed, created)
			SELECT fs_id, item_size, ?, created FROM DedupIntent WHERE id = ? RETURNING id`, int64(freed), id).Scan(&event)
		if err != nil {
			return fmt.Errorf("resolve intent: %w", err)
		}
		for _, f := range shared {
			if _, err := tx.ExecContext(ctx, `INSERT INTO DedupEventInode (event_id, vol_id, ino) VALUES (?, ?, ?)`, event, f.VolID, int64(f.Ino)); err != nil {
				return fmt.Errorf("resolve intent: %w", err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM DedupIntent WHERE id = ?`, id); err != nil {
		return fmt.Errorf("resolve intent: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("resolve intent: %w", err)
	}
	return nil
}
