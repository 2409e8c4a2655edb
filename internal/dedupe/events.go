package dedupe

import (
	"path"
	"time"

	"github.com/bedup/bedup/internal/btrfs"
)

// Event is what a pass reports to Options.Events as it happens: Skipped,
// Halted, Shared, GroupDone or Progress.
type Event interface{ event() }

// FileRef names a file of a pass.
type FileRef struct {
	VolumeID uint64 // id of the subvolume the file is in
	Ino      uint64
	// Path is the volume's description (volume.Volume.Desc) joined with
	// the file's first path inside it (INO_PATHS), or "" when it was not
	// resolved. It holds the raw bytes of the names: printers escape them.
	Path string
}

// Skipped reports a file that takes no part in sharing, once per file. It
// is counted in Stats.Skipped; when its reason is Transient, the file is
// kept for the next run (Stats.Deferred).
type Skipped struct {
	File   FileRef
	Reason Reason
	Err    error // the error behind the reason, when there is one
}

// Halted reports that the pass stopped before its end because the
// filesystem itself refuses to share (it turned read-only, or ran out of
// space): one event instead of a Skipped per file. Every file not done is
// kept for the next run; the files refused are counted in Stats.Skipped
// under Reason, the size groups not looked at in Stats.GroupsLeft.
type Halted struct {
	Reason Reason
	Err    error
}

// Shared reports one identical set: Dests now share the extents of Source
// (under DryRun: would share them; nothing was changed).
type Shared struct {
	Size   uint64 // the files' size
	Source FileRef
	// Dests are the files that received (would receive) the source's
	// extents; Paths resolved only with Options.ResolvePaths.
	Dests []FileRef
	// BytesShared is Size per destination; BytesFreed the on-disk size of
	// the extents that lost (would lose) their last user.
	BytesShared, BytesFreed int64
	DryRun                  bool
}

// GroupDone reports a size group examined and handled.
type GroupDone struct {
	Size    uint64
	Members int // files of that size examined (deleted ones left out)
	// AlreadyShared: all members already shared their extents; nothing
	// was read.
	AlreadyShared bool
	// Sets counts the sets of identical files found (two or more copies
	// not yet sharing extents), whether or not every copy could be shared.
	Sets int
}

// Progress is the running state of a pass, for a status line, sent after
// every size group.
type Progress struct {
	Group, Groups         int    // size groups done, and in all
	Size                  uint64 // size of the current group
	BytesDone, BytesTotal int64  // tracked bytes of the groups done, and in all
	BytesRead             int64
	BytesDeduped          int64 // under DryRun: would be deduplicated
	Started               time.Time
}

func (Skipped) event()   {}
func (Halted) event()    {}
func (Shared) event()    {}
func (GroupDone) event() {}
func (Progress) event()  {}

// emit hands an event to Options.Events. Callers hold p.mu, which
// serialises the calls.
func (p *pass) emit(e Event) {
	if p.o.Events != nil {
		p.o.Events(e)
	}
}

// skipped counts a skipped file and reports it. A file skipped for a
// transient reason is kept for the next run.
func (p *pass) skipped(f *file, r Reason, err error) {
	p.deferred(f, r)
	if p.o.Events != nil {
		p.emit(Skipped{File: p.ref(f, true), Reason: r, Err: err})
	}
}

// deferred counts a skipped file without reporting it (a Halted event
// speaks for it) and keeps it for the next run if r is transient.
func (p *pass) deferred(f *file, r Reason) {
	p.stats.skip(r)
	if r.Transient() {
		f.keepFlag, f.deferred = true, true
	}
}

// halt stops the pass for a reason that concerns the whole filesystem,
// reporting it once.
func (p *pass) halt(r Reason, err error) {
	if p.halted != "" {
		return
	}
	p.halted = r
	p.stats.Halted = r
	p.emit(Halted{Reason: r, Err: err})
}

// ref names a file, with its path when resolve is set and INO_PATHS
// answers.
func (p *pass) ref(f *file, resolve bool) FileRef {
	r := FileRef{VolumeID: f.vol.V.ID, Ino: f.m.Ino}
	if !resolve {
		return r
	}
	h, err := p.handle(f)
	if err != nil {
		return r
	}
	defer release(f, h)
	if paths, _, err := btrfs.InoPaths(h, f.m.Ino); err == nil && len(paths) > 0 {
		r.Path = path.Join(f.vol.V.Desc, paths[0])
	}
	return r
}
