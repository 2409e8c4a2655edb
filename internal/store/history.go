package store

import (
	"context"
	"fmt"
	"time"
)

// HistoryEvent is one logged share: a set of identical files of one size
// made to share the first one's extents.
type HistoryEvent struct {
	ID         int64
	FSUUID     string
	FSLabel    string
	Created    time.Time
	Size       uint64
	BytesFreed int64
	// Files are the source first, then the destinations, as logged.
	Files []HistoryFile
}

// HistoryFile is one participant of a logged share. Generation is the
// inode's creation generation while the inode is still tracked (0 when
// not), which is what opening it by handle needs.
type HistoryFile struct {
	RootID     uint64
	Ino        uint64
	Generation uint64
}

// History lists the logged shares created at or after since, oldest
// first, optionally of one filesystem (fsUUID "" for all).
func (d *DB) History(ctx context.Context, since time.Time, fsUUID string) ([]HistoryEvent, error) {
	rows, err := d.db.QueryContext(ctx, `
		SELECT e.id, f.uuid, coalesce(f.label, ''), e.created, e.item_size, e.bytes_freed,
		       v.root_id, ei.ino, coalesce(i.generation, 0)
		FROM DedupEvent e
		JOIN Filesystem f ON f.id = e.fs_id
		JOIN DedupEventInode ei ON ei.event_id = e.id
		JOIN Volume v ON v.id = ei.vol_id
		LEFT JOIN Inode i ON i.vol_id = ei.vol_id AND i.ino = ei.ino
		WHERE julianday(e.created) >= julianday(?) AND (? = '' OR f.uuid = ?)
		ORDER BY e.created, e.id, ei.id`, since.UTC().Format(time.RFC3339Nano), fsUUID, fsUUID)
	if err != nil {
		return nil, fmt.Errorf("dedup history: %w", err)
	}
	defer rows.Close()
	var out []HistoryEvent
	for rows.Next() {
		var e HistoryEvent
		var created string
		var f HistoryFile
		if err := rows.Scan(&e.ID, &e.FSUUID, &e.FSLabel, &created, &e.Size, &e.BytesFreed, &f.RootID, &f.Ino, &f.Generation); err != nil {
			return nil, fmt.Errorf("dedup history: %w", err)
		}
		if n := len(out); n > 0 && out[n-1].ID == e.ID {
			out[n-1].Files = append(out[n-1].Files, f)
			continue
		}
		if e.Created, err = time.Parse(time.RFC3339, created); err != nil {
			return nil, fmt.Errorf("dedup history: event %d: time %q: %w", e.ID, created, err)
		}
		e.Files = []HistoryFile{f}
		out = append(out, e)
	}
	return out, rows.Err()
}
