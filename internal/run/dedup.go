package run

import (
	"context"
	"fmt"
	"time"

	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/partial"
	"github.com/bedup/bedup/internal/store"
)

// DedupOptions say what a dedup run covers and how.
type DedupOptions struct {
	TrackOptions
	// Defrag defragments each source first.
	Defrag bool
	// IOThreads is how many files are read at once; 0 chooses (see
	// readers).
	IOThreads int
	// DryRun does everything but sharing and writes nothing about the
	// files to the database (the scans still record what changed).
	DryRun bool
	// ResolvePaths names the shared files in Shared events (costs a
	// lookup per file; for -v and --json).
	ResolvePaths bool
	// NoExtents turns off partial-file deduplication (--no-extents);
	// Extents configures it (MinSize is --extent-min). Its DryRun,
	// ResolvePaths and Events are set from the run's.
	NoExtents bool
	Extents   partial.Options
	// Window is how many size groups each committed batch holds (0: the
	// default; tests make windows small).
	Window int
}

// DeferredError ends a dedup run that did its work but kept files for the
// next run: they could not be examined, read or shared for a reason that
// can pass (an I/O error, a read-only or full filesystem, a busy
// subvolume, a change meanwhile). Each was named (a Skipped event, or the
// Halted event of a filesystem that stopped early) and the summary counts
// them. It is no failure; main gives it its own exit status.
type DeferredError struct {
	Files  int // files kept for the next run
	Groups int // size groups left undone by passes that halted
}

func (e *DeferredError) Error() string {
	if e.Groups == 0 {
		return fmt.Sprintf("%d %s deferred to the next run", e.Files, plural(e.Files, "file", "files"))
	}
	if e.Files == 0 {
		return fmt.Sprintf("stopped early: %d size %s deferred to the next run", e.Groups, plural(e.Groups, "group", "groups"))
	}
	return fmt.Sprintf("stopped early: %d %s and %d size %s deferred to the next run",
		e.Files, plural(e.Files, "file", "files"), e.Groups, plural(e.Groups, "group", "groups"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// pass is the volumes deduplicated together: one filesystem, or one
// volume with NoCrossvol.
type pass struct {
	fs         FilesystemRef
	fsID       int64
	vols       []dedupe.Volume
	rotational bool
}

// Dedup scans the discovered volumes, then deduplicates each filesystem
// (each volume with NoCrossvol) and returns the summary. On an error the
// summary holds what was done before it.
func (t *Tracking) Dedup(ctx context.Context, db *store.DB, o DedupOptions, rep Reporter) (sum Summary, err error) {
	start := time.Now()
	sum.DryRun = o.DryRun
	defer func() { sum.Elapsed = time.Since(start) }()
	if err := t.Scan(ctx, db, o.TrackOptions, rep); err != nil {
		return sum, err
	}
	for _, tv := range t.Volumes {
		sum.Volumes++
		sum.Retained += tv.Result.Retained
	}
	if o.Defrag && !o.DryRun {
		rep.Notice(Notice{Code: NoticeDefrag})
	}
	for _, p := range passes(t, o.NoCrossvol) {
		st, err := dedupe.Run(ctx, db, p.fsID, p.vols, dedupe.Options{
			Defrag:       o.Defrag,
			IOThreads:    readers(o.IOThreads, p.rotational),
			Window:       o.Window,
			DryRun:       o.DryRun,
			ResolvePaths: o.ResolvePaths,
			Events:       func(e dedupe.Event) { rep.DedupeEvent(p.fs, e) },
			Exclude:      o.Exclude,
		})
		sum.add(p.fs, st)
		if err != nil {
			return sum, err
		}
		if st.Halted != "" {
			continue // the filesystem turned read-only or full: nothing more to do there
		}
		pst, err := partialPass(ctx, db, p, o, rep)
		sum.Partial.Add(pst)
		if err != nil {
			return sum, err
		}
	}
	if !o.DryRun && (sum.Total.FilesShared > 0 || sum.Partial.FilesShared > 0) {
		// Bring the scan positions past bedup's own shares while their
		// b-tree leaves are still cached: they were recorded as no change,
		// and the next run starts from here instead of walking them cold.
		if err := t.rescan(ctx, db, rep); err != nil {
			return sum, err
		}
	}
	if n, g := sum.Total.Deferred, sum.Total.GroupsLeft; n > 0 || g > 0 {
		return sum, &DeferredError{Files: n, Groups: g}
	}
	return sum, nil
}

// add records one pass's stats; passes of one filesystem (NoCrossvol)
// share its line.
func (s *Summary) add(fs FilesystemRef, st dedupe.Stats) {
	s.Total.Add(st)
	for i := range s.Filesystems {
		if s.Filesystems[i].FS.UUID == fs.UUID {
			s.Filesystems[i].Stats.Add(st)
			return
		}
	}
	s.Filesystems = append(s.Filesystems, FilesystemSummary{FS: fs, Stats: st})
}

// passes groups the scanned volumes: one pass per filesystem, or one per
// volume with noCrossvol.
func passes(t *Tracking, noCrossvol bool) []*pass {
	var out []*pass
	byKey := map[any]*pass{}
	for _, tv := range t.Volumes {
		var key any = tv.V.FS
		if noCrossvol {
			key = tv.V
		}
		p := byKey[key]
		if p == nil {
			fs := tv.V.FS
			p = &pass{fs: FilesystemRef{UUID: fs.UUID, Label: fs.Label, Desc: fs.Desc()}, fsID: tv.Result.FSID, rotational: fs.Rotational()}
			byKey[key] = p
			out = append(out, p)
		}
		p.vols = append(p.vols, dedupe.Volume{StoreID: tv.Result.VolID, V: tv.V, Writable: tv.Writable})
	}
	return out
}

// readers is how many files a pass reads at once: as asked, else 4, or 2
// on a disk that says it spins. Virtual and loop disks often call
// themselves rotational; two readers cost a real disk little and a virtual
// one much less than one reader would.
func readers(asked int, rotational bool) int {
	switch {
	case asked > 0:
		return asked
	case rotational:
		return 2
	default:
		return 4
	}
}
