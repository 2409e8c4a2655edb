package partial

import (
	"path"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/dedupe"
)

// Event is what a pass reports to Options.Events: FileShared or Skipped.
type Event interface{ event() }

// SharedRun is one run of blocks a destination now shares with a source.
type SharedRun struct {
	Source       dedupe.FileRef
	SourceOffset uint64
	Offset       uint64 // in the destination
	Length       uint64
}

// FileShared reports one destination that now shares runs of its sources
// (under DryRun: would share them; nothing was changed).
type FileShared struct {
	File dedupe.FileRef
	Size uint64
	Runs []SharedRun // longest first
	// BytesShared sums the runs; BytesRewritten is the bookends rewritten
	// through a temporary file; BytesFreed what the file's old extents
	// gave back, less what the rewrite allocated (under DryRun: planned).
	BytesShared, BytesRewritten, BytesFreed int64
	// Changed: some planned runs were not shared because the kernel found
	// other bytes in the destination: it was written while the pass ran.
	Changed bool
	DryRun  bool
}

// Skipped reports a file that takes no part, once per file and reason.
type Skipped struct {
	File   dedupe.FileRef
	Reason dedupe.Reason
	Err    error
}

func (FileShared) event() {}
func (Skipped) event()    {}

// ReasonChecksumType: the file has blocks without checksums in the csum
// tree (NOCOW, compressed) and the filesystem's checksum type is one bedup
// does not compute (xxhash64, blake2b): those blocks are not indexed.
const ReasonChecksumType dedupe.Reason = "csum-type"

func (p *pass) emit(e Event) {
	if p.o.Events != nil {
		p.o.Events(e)
	}
}

// skipped counts a skipped file and reports it.
func (p *pass) skipped(f *fileInfo, r dedupe.Reason, err error) {
	if p.stats.Skipped == nil {
		p.stats.Skipped = map[dedupe.Reason]int{}
	}
	p.stats.Skipped[r]++
	if p.o.Events != nil {
		p.emit(Skipped{File: p.ref(f, true), Reason: r, Err: err})
	}
}

// ref names a file, with its path when resolve is set and INO_PATHS
// answers.
func (p *pass) ref(f *fileInfo, resolve bool) dedupe.FileRef {
	r := dedupe.FileRef{VolumeID: f.vol.V.ID, Ino: f.m.Ino}
	if !resolve {
		return r
	}
	h, err := p.open(f)
	if err != nil {
		return r
	}
	defer h.Close()
	if paths, _, err := btrfs.InoPaths(h, f.m.Ino); err == nil && len(paths) > 0 {
		r.Path = path.Join(f.vol.V.Desc, paths[0])
	}
	return r
}
