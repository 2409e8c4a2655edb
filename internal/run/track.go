package run

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/glob"
	"github.com/bedup/bedup/internal/scan"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/volume"
)

// TrackOptions say what a scan covers and how.
type TrackOptions struct {
	// Filters select what to work on (volume.Discover's grammar); none
	// means every mounted, writable Btrfs filesystem.
	Filters []string
	// SizeCutoff, when not 0, becomes the scanned volumes' cutoff.
	SizeCutoff uint64
	// NoFlush skips committing each selected filesystem's pending writes
	// before its scan; without the commit, files written in the last
	// seconds are seen only by the next run.
	NoFlush bool
	// NoCrossvol deduplicates each subvolume on its own (and scans no
	// read-only source volumes, which could serve no one alone).
	NoCrossvol bool
	// IncludeFrozen includes read-only subvolumes nobody named.
	IncludeFrozen bool
	// Exclude leaves the files whose path matches out of deduplication
	// (dedupe.Options.Exclude). Scans record them all the same: they do
	// not resolve paths.
	Exclude *glob.Set
}

// FilterError is a filter that cannot be understood: a usage error.
type FilterError = volume.FilterError

// Tracking is what Track leaves open for a dedup run: the selected volumes
// and their scans. Close it when done.
type Tracking struct {
	Set     *volume.Set
	Volumes []Tracked
}

// Tracked is one scanned volume.
type Tracked struct {
	V        *volume.Volume
	Result   scan.Result
	Writable bool // selected; not only a source
}

// Close releases every descriptor the tracking holds.
func (t *Tracking) Close() {
	if t != nil && t.Set != nil {
		t.Set.Close()
	}
}

// Discover resolves the filters to open volumes. Nothing is scanned or
// written yet, so a bad filter changes nothing; what discovery skipped is
// reported by Scan, once the run is sure to go ahead, so that a fatal
// error stays the only line. Close the result when done.
func Discover(o TrackOptions) (*Tracking, error) {
	set, err := volume.Discover(o.Filters, volume.Options{IncludeFrozen: o.IncludeFrozen})
	if err != nil {
		return nil, err
	}
	return &Tracking{Set: set}, nil
}

// Scan commits the discovered filesystems' pending writes (unless
// NoFlush) and scans each volume into db, reporting each one.
func (t *Tracking) Scan(ctx context.Context, db *store.DB, o TrackOptions, rep Reporter) error {
	for _, n := range t.Set.Notices {
		rep.Notice(DiscoveryNotice(n))
	}
	if len(t.Set.Volumes) == 0 && len(o.Filters) == 0 {
		rep.Notice(Notice{Code: NoticeNoFilesystem})
	}
	if err := btrfs.SetIdleIOPriorityAllThreads(); err != nil {
		rep.Notice(Notice{Code: NoticeIOPriority, Err: err})
	}
	set := t.Set
	vols := set.Volumes
	if !o.NoCrossvol {
		// Read-only subvolumes nobody asked to write into still serve as
		// sources; alone (--no-crossvol) they could not serve anything.
		vols = append(vols[:len(vols):len(vols)], set.Sources...)
	}
	if !o.NoFlush {
		if err := flush(vols); err != nil {
			return err
		}
	}
	scans, stop := scanAll(ctx, db, vols, func(v *volume.Volume) scan.Options {
		return scan.Options{SizeCutoff: o.SizeCutoff, Exclude: Excludes(db, v)}
	}, func(i int, r scan.Result) {
		rep.ScanProgress(t.volumeScan(vols[i], r, i >= len(set.Volumes)))
	}, rep)
	defer stop()
	for i, v := range vols {
		sc := <-scans[i]
		if sc.err != nil {
			return sc.err
		}
		if sc.gone {
			continue
		}
		writable := i < len(set.Volumes)
		if writable {
			// A snapshot named (or --include-frozen, or made writable):
			// the files left unshared only because it could not be
			// written come back.
			if _, err := db.Thaw(ctx, sc.r.VolID); err != nil {
				return err
			}
		}
		t.Volumes = append(t.Volumes, Tracked{V: v, Result: sc.r, Writable: writable})
		rep.VolumeScanned(t.volumeScan(v, sc.r, !writable))
	}
	return nil
}

// volumeScan is the report of a volume's scan.
func (t *Tracking) volumeScan(v *volume.Volume, r scan.Result, sourceOnly bool) VolumeScan {
	ref := FilesystemRef{UUID: v.FS.UUID, Label: v.FS.Label, Desc: v.FS.Desc()}
	return VolumeScan{FS: ref, Volume: v.Desc, SubvolID: v.ID, SourceOnly: sourceOnly, Result: r}
}

// flush commits the pending writes of every filesystem the volumes are
// on, once each, so that their scans see what was written before the run.
func flush(vols []*volume.Volume) error {
	done := map[*volume.Filesystem]bool{}
	for _, v := range vols {
		if done[v.FS] {
			continue
		}
		done[v.FS] = true
		if err := btrfs.Syncfs(v.Dir); err != nil {
			if btrfs.Classify(err) == btrfs.FailReadOnly {
				continue
			}
			return fmt.Errorf("commit pending writes of %s: %w", v.FS.Desc(), err)
		}
	}
	return nil
}

// Excludes returns the inode numbers, on volume v, of the database's own
// files, which must never become candidates.
func Excludes(db *store.DB, v *volume.Volume) map[uint64]bool {
	st, err := v.Dir.Stat()
	if err != nil {
		return nil
	}
	dev := st.Sys().(*syscall.Stat_t).Dev
	var m map[uint64]bool
	for _, p := range db.Files() {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if s := fi.Sys().(*syscall.Stat_t); s.Dev == dev {
			if m == nil {
				m = map[uint64]bool{}
			}
			m[s.Ino] = true
		}
	}
	return m
}
