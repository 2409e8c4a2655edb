// Package run holds what bedup's commands do beyond parsing flags: which
// volumes a run covers and in what passes, how many readers it uses, the
// rescan after sharing, keeping the database's own files out, joining the
// database with the live filesystems for show, size-lookup and history.
// Commands and tests both call it. It reports what happens as typed
// values to a Reporter and never prints; the printers in internal/ui turn
// those values into text or JSON.
package run

import (
	"time"

	"github.com/bedup/bedup/internal/volume"

	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/scan"
)

// Reporter receives what a run does, as it happens. Calls come one at a
// time (never concurrently).
type Reporter interface {
	// Notice is something worth telling that does not stop the run.
	Notice(Notice)
	// VolumeScanned is called once per volume after its scan.
	VolumeScanned(VolumeScan)
	// ScanProgress is called now and then while a volume is scanned.
	ScanProgress(VolumeScan)
	// DedupeEvent is what a dedup pass over a filesystem reports.
	DedupeEvent(fs FilesystemRef, e dedupe.Event)
}

// NoticeCode says what a notice is about; printers choose the words.
type NoticeCode string

// The notices a run gives.
const (
	// NoticeNoFilesystem: no mounted, writable Btrfs filesystem was found
	// and no filter was given.
	NoticeNoFilesystem NoticeCode = "no-filesystem"
	// NoticeIOPriority: the idle I/O class could not be set (Err says why).
	NoticeIOPriority NoticeCode = "io-priority"
	// NoticeDefrag: --defrag unshares sources, which can cost space.
	NoticeDefrag NoticeCode = "defrag"
	// NoticeDeprecated: a deprecated command name was used (Subject).
	NoticeDeprecated NoticeCode = "deprecated"
	// NoticeLegacyDatabase: the database at the old default location
	// (Subject) is used.
	NoticeLegacyDatabase NoticeCode = "legacy-database"
	// NoticeNotReadWrite: a filesystem (Subject) was skipped: no mount
	// shows it read-write.
	NoticeNotReadWrite NoticeCode = "not-read-write"
	// NoticeSourcesOnly: Count read-only subvolumes in Subject only serve
	// as sources.
	NoticeSourcesOnly NoticeCode = "sources-only"
	// NoticeNotTopLevel: the path Subject is not the top-level subvolume;
	// only it and the subvolumes below it are included.
	NoticeNotTopLevel NoticeCode = "not-top-level"
	// NoticeFileError: one file could not be listed (Subject, Err).
	NoticeFileError NoticeCode = "file-error"
	// NoticeWaitingForLock: the database (Subject) is in use by another
	// bedup (Detail: "pid N"); the run waits for it (--wait).
	NoticeWaitingForLock NoticeCode = "waiting-for-lock"
	// NoticeGone: what a watch worked on is gone (Subject: the filter, or
	// the filesystem when there are none; Detail: the filesystem a filter
	// was on; Err: why, for a filter). It is skipped until it is back.
	NoticeGone NoticeCode = "gone"
	// NoticeBack: what was gone (Subject, Detail as for NoticeGone) is
	// back and watched again.
	NoticeBack NoticeCode = "back"
	// NoticePassSkipped: a watch skipped a pass (Err says why: the
	// database was in use, a filesystem went away while it was
	// discovered); the next pass tries again.
	NoticePassSkipped NoticeCode = "pass-skipped"
)

// Notice is one thing worth telling that does not stop the run.
type Notice struct {
	Code    NoticeCode
	Subject string // what it is about: a path, a filesystem, a command
	Detail  string // more: what to use instead (NoticeDeprecated, NoticeLegacyDatabase)
	Count   int
	Err     error
}

// FilesystemRef names a filesystem in reports.
type FilesystemRef struct {
	UUID  string
	Label string
	Desc  string // how output names it: its label when unique, else the UUID
}

// VolumeScan is the outcome (or, in progress reports, the running state)
// of one volume's scan.
type VolumeScan struct {
	FS         FilesystemRef
	Volume     string // how output names the volume: a real path when one is known
	SubvolID   uint64
	SourceOnly bool // read-only, scanned only to serve as a source
	scan.Result
}

// Summary is what a dedup (or scan) run did, per filesystem and in all.
type Summary struct {
	DryRun      bool
	Filesystems []FilesystemSummary
	Total       dedupe.Stats
	Volumes     int // volumes scanned
	Retained    int // files recorded as new or changed by the scans
	Elapsed     time.Duration
}

// FilesystemSummary is one filesystem's part of a Summary.
type FilesystemSummary struct {
	FS    FilesystemRef
	Stats dedupe.Stats
}

// DiscoveryNotice turns what discovery skipped or limited into a Notice.
func DiscoveryNotice(n volume.Notice) Notice {
	code := map[volume.NoticeKind]NoticeCode{
		volume.NoticeNotReadWrite: NoticeNotReadWrite,
		volume.NoticeSourcesOnly:  NoticeSourcesOnly,
		volume.NoticeNotTopLevel:  NoticeNotTopLevel,
	}[n.Kind]
	return Notice{Code: code, Subject: n.Subject, Count: n.Count}
}
