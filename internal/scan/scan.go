// Package scan tracks the candidate files of one subvolume incrementally.
// It asks the kernel only for the b-tree leaves written since the
// generation the last scan reached (TREE_SEARCH_V2 with a minimum transid)
// and records, in the store, the regular files at or above the size cutoff
// that are new or changed since then, and the parent directories of those
// files and of every directory, so that a run can be restricted to the
// files below some directories without walking them. It never opens a
// file.
package scan

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/volume"
)

// DefaultSizeCutoff is the smallest file size tracked by default: 128 KiB
// (the original's 8 MiB made users think nothing happened).
const DefaultSizeCutoff = 128 << 10

// Options change a scan.
type Options struct {
	// SizeCutoff, when not 0, becomes the volume's cutoff; otherwise the
	// stored one is kept (DefaultSizeCutoff for a new volume).
	SizeCutoff uint64
	// Flush commits the filesystem first, so that writes not yet committed
	// are seen now rather than by the next scan.
	Flush bool
	// Exclude holds inode numbers of this volume that must never become
	// candidates (bedup's own database files).
	Exclude map[uint64]bool
	// Progress, if set, is called now and then with the running counts.
	Progress func(Result)
}

// Result says what a scan of one volume did.
type Result struct {
	VolID    int64  // the volume's store id
	FSID     int64  // its filesystem's store id
	From, To uint64 // generations covered: leaves written in [From, To] and later
	Cutoff   uint64
	// Unchanged is set when nothing was committed since the last scan.
	Unchanged bool
	Items     int // items the kernel returned
	Inodes    int // inode items among them
	Retained  int // candidates recorded as new or changed (rows written)
	Dropped   int // candidates removed (shrunk below the cutoff, unlinked)
	Calls     int // tree search ioctls
	Elapsed   time.Duration
}

// Volume scans one volume into the store.
func Volume(ctx context.Context, db *store.DB, v *volume.Volume, o Options) (Result, error) {
	start := time.Now()
	var r Result
	fsRow, err := db.EnsureFilesystem(ctx, v.FS.UUID, v.FS.Label)
	if err != nil {
		return r, err
	}
	vol, err := db.EnsureVolume(ctx, fsRow.ID, v.ID, DefaultSizeCutoff)
	if err != nil {
		return r, err
	}
	r.VolID, r.FSID = vol.ID, fsRow.ID
	if strings.HasPrefix(v.Desc, "/") {
		if err := db.RecordPath(ctx, vol.ID, v.Desc); err != nil {
			return r, err
		}
	}
	if o.Flush {
		if err := btrfs.Syncfs(v.Dir); err != nil {
			return r, fmt.Errorf("%s: %w", v.Desc, err)
		}
	}
	info, err := btrfs.GetSubvolInfo(v.Dir)
	if err != nil {
		return r, fmt.Errorf("%s: %w", v.Desc, err)
	}
	r.To = info.Generation
	lastGen, bandEnd, err := position(ctx, db, vol, o, &r)
	if err != nil {
		return r, err
	}
	if r.From > r.To {
		r.Unchanged = true
		r.Elapsed = time.Since(start)
		return r, nil
	}

	w := db.NewScanWriter(ctx, vol.ID)
	if !vol.Scanned {
		w.Fresh() // every leaf comes back: parents are recorded anew
	}
	s := btrfs.NewSearch(v.Dir, btrfs.SearchRange{
		Min:        btrfs.Key{ObjectID: btrfs.FirstFreeObjectID, Type: btrfs.InodeItemKey},
		Max:        btrfs.Key{ObjectID: btrfs.LastFreeObjectID, Type: btrfs.InodeExtrefKey, Offset: ^uint64(0)},
		MinTransid: r.From,
	}, 0)
	wk := &walker{v: v, w: w, o: o, r: &r, scanned: vol.Scanned, lastGen: lastGen, bandEnd: bandEnd}
	fail := func(err error) (Result, error) {
		w.Abort()
		if ctx.Err() != nil {
			err = ctx.Err() // whatever broke, the run was interrupted
		}
		r.Calls, r.Elapsed = s.Calls+wk.calls, time.Since(start)
		return r, err
	}
	if err := wk.walk(ctx, s); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := w.Finish(r.To, r.Cutoff); err != nil {
		return fail(err)
	}
	r.Retained = w.Upserted
	r.Calls, r.Elapsed = s.Calls+wk.calls, time.Since(start)
	return r, nil
}

// position sets r's cutoff and first generation from the volume's state
// and the options, and returns the generation the last scan reached and
// the end of the size band a lowered cutoff adds (0: none).
func position(ctx context.Context, db *store.DB, vol store.Volume, o Options, r *Result) (lastGen, bandEnd uint64, err error) {
	r.Cutoff = vol.SizeCutoff
	if o.SizeCutoff != 0 && o.SizeCutoff != vol.SizeCutoff {
		// Stored at once, as the original did: an interrupted scan is
		// redone with the cutoff the user asked for.
		r.Cutoff = o.SizeCutoff
		dropped, err := db.SetSizeCutoff(ctx, vol.ID, r.Cutoff)
		if err != nil {
			return 0, 0, err
		}
		r.Dropped += dropped // a raised cutoff drops the smaller files
	}
	// Files of size class [Cutoff, LastCutoff) were never tracked: a lowered
	// cutoff makes the scan start over from generation 0 to find them.
	if vol.Scanned {
		lastGen = vol.LastGeneration
		if r.Cutoff < vol.LastCutoff {
			bandEnd = vol.LastCutoff
		} else {
			r.From = lastGen + 1
		}
	}
	return lastGen, bandEnd, nil
}
