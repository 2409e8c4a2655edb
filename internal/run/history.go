package run

import (
	"context"
	"path"
	"time"

	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/volume"
)

// History is what was deduplicated and when.
type History struct {
	Events []HistoryEvent
	// Totals over the listed events.
	Files                   int // destinations
	BytesShared, BytesFreed int64
}

// HistoryEvent is one logged share.
type HistoryEvent struct {
	ID          int64
	Time        time.Time
	FS          FilesystemRef
	Size        uint64
	BytesShared int64 // Size times the destinations
	BytesFreed  int64
	// Files are the source first, then the destinations, by their path as
	// it is now (Gone when the file no longer exists, or its filesystem is
	// not mounted: Path is then empty).
	Files []HistoryFile
}

// HistoryFile is one participant of a logged share.
type HistoryFile struct {
	SubvolID uint64
	Ino      uint64
	Path     string
	Gone     bool
}

// HistoryOptions select the events.
type HistoryOptions struct {
	Since time.Time
	// Filesystem is a UUID, device or path naming one filesystem ("" for all).
	Filesystem string
}

// ListHistory lists the logged shares, naming each file by its path now.
func ListHistory(ctx context.Context, db *store.DB, o HistoryOptions) (History, error) {
	var h History
	mounted, err := volume.Mounted()
	if err != nil {
		return h, err
	}
	defer mounted.Close()
	uuid := ""
	if o.Filesystem != "" {
		if uuid, err = selectFilesystem(o.Filesystem, mounted.Filesystems, nil); err != nil {
			if uuid, err = knownUUID(ctx, db, o.Filesystem, err); err != nil {
				return h, err
			}
		}
	}
	events, err := db.History(ctx, o.Since, uuid)
	if err != nil {
		return h, err
	}
	byUUID := map[string]*volume.Filesystem{}
	for _, f := range mounted.Filesystems {
		byUUID[f.UUID] = f
	}
	for _, e := range events {
		if err := ctx.Err(); err != nil {
			return h, err
		}
		f := byUUID[e.FSUUID]
		he := HistoryEvent{ID: e.ID, Time: e.Created, Size: e.Size, BytesFreed: e.BytesFreed,
			FS: FilesystemRef{UUID: e.FSUUID, Label: e.FSLabel, Desc: e.FSUUID}}
		if f != nil {
			he.FS.Desc = f.Desc()
		}
		for _, hf := range e.Files {
			he.Files = append(he.Files, historyFile(f, hf))
		}
		he.BytesShared = int64(e.Size) * int64(len(e.Files)-1)
		h.Events = append(h.Events, he)
		h.Files += len(e.Files) - 1
		h.BytesShared += he.BytesShared
		h.BytesFreed += he.BytesFreed
	}
	return h, nil
}

// historyFile names one participant by its path now.
func historyFile(f *volume.Filesystem, hf store.HistoryFile) HistoryFile {
	out := HistoryFile{SubvolID: hf.RootID, Ino: hf.Ino, Gone: true}
	if f == nil || hf.Generation == 0 {
		return out
	}
	sub, ok, err := subvolumePath(f, hf.RootID)
	if err != nil || !ok {
		return out
	}
	p, err := inodePath(f, hf.RootID, hf.Ino, hf.Generation)
	if err != nil {
		return out
	}
	out.Path, out.Gone = path.Join(f.Describe(sub), p), false
	return out
}

// knownUUID accepts a UUID the database knows though no mount shows it.
func knownUUID(ctx context.Context, db *store.DB, arg string, liveErr error) (string, error) {
	u, err := volume.ParseUUID(arg)
	if err != nil {
		return "", liveErr
	}
	if _, ok, err := db.FilesystemByUUID(ctx, u); err != nil || !ok {
		return "", liveErr
	}
	return u, nil
}
