package dedupe

import "github.com/bedup/bedup/internal/btrfs"

// Reason is why a file was skipped: a short, stable code (it appears in
// JSON output and keys Stats.Skipped). The words a person reads belong to
// the printers, which map every code of Reasons to their own text.
type Reason string

// The reasons a file is skipped, by code. A reason that can pass (see
// Transient) keeps the file for the next run: it stays flagged, so the
// next run tries it again, and the run says so in its exit status. The
// others are remembered: the file is not tried again until it changes.
//
//	code            meaning                                                     can pass
//	changed         its size or content changed while being deduplicated       yes
//	unreadable      it could not be opened, examined or read                   yes
//	nocow-alone     its NOCOW flag differs from all its identical copies        no
//	nocow-mismatch  its NOCOW flag differs from the source's (dedup-files)      no
//	immutable       it has the immutable attribute (the kernel refuses)         no
//	swapfile        it is an active swap file (the kernel refuses)              no
//	busy            a btrfs send uses its subvolume (EAGAIN)                    yes
//	read-only       it is on a read-only mount (EROFS)                          yes
//	no-space        the filesystem is out of space or quota (ENOSPC, EDQUOT)    yes
//	other-fs        it is on another filesystem (EXDEV)                         no
//	io-error        the kernel hit an I/O error (EIO), e.g. a bad checksum      yes
//	refused         the kernel refused to share it for another reason          yes
//	missing         no file by that name (dedup-files --fdupes)                -
//	not-regular     not a regular file (dedup-files --fdupes)                  -
//
// Files of read-only subvolumes that only serve as sources are never
// skipped: see Stats.KeptReadOnly.
const (
	ReasonChanged       Reason = "changed"
	ReasonUnreadable    Reason = "unreadable"
	ReasonNocowAlone    Reason = "nocow-alone"
	ReasonNocowMismatch Reason = "nocow-mismatch"
	ReasonImmutable     Reason = "immutable"
	ReasonSwapfile      Reason = "swapfile"
	ReasonBusy          Reason = "busy"
	ReasonReadOnlyFS    Reason = "read-only"
	ReasonNoSpace       Reason = "no-space"
	ReasonOtherFS       Reason = "other-fs"
	ReasonIO            Reason = "io-error"
	ReasonRefused       Reason = "refused"
	ReasonMissing       Reason = "missing"
	ReasonNotRegular    Reason = "not-regular"
)

// Reasons lists every skip reason, in the order of the table above.
func Reasons() []Reason {
	return []Reason{
		ReasonChanged, ReasonUnreadable, ReasonNocowAlone, ReasonNocowMismatch, ReasonImmutable,
		ReasonSwapfile, ReasonBusy, ReasonReadOnlyFS, ReasonNoSpace, ReasonOtherFS, ReasonIO, ReasonRefused,
		ReasonMissing, ReasonNotRegular,
	}
}

// Transient reports whether r can pass without the file changing: a file
// skipped for it is kept for the next run (it stays flagged).
func (r Reason) Transient() bool {
	switch r {
	case ReasonNocowAlone, ReasonNocowMismatch, ReasonImmutable, ReasonSwapfile, ReasonOtherFS,
		ReasonMissing, ReasonNotRegular:
		return false
	}
	return r != reasonGone
}

// reasonGone marks a member whose inode no longer exists (its row is
// dropped; it is no skip worth counting).
const reasonGone Reason = "gone"

// reasonFor maps the kernel's answer, as btrfs.Classify sorts it, to a
// skip reason (DESIGN.md §5). Any other failure (gone included: callers
// that can drop the file check gone first) is "refused".
func reasonFor(err error) Reason {
	switch btrfs.Classify(err) {
	case btrfs.FailImmutable:
		return ReasonImmutable
	case btrfs.FailSwapFile:
		return ReasonSwapfile
	case btrfs.FailBusy:
		return ReasonBusy
	case btrfs.FailReadOnly:
		return ReasonReadOnlyFS
	case btrfs.FailNoSpace:
		return ReasonNoSpace
	case btrfs.FailOtherFS:
		return ReasonOtherFS
	case btrfs.FailIO:
		return ReasonIO
	}
	return ReasonRefused
}

// gone reports whether err says the file's inode no longer exists (or is
// no longer a regular file): it is dropped, not skipped.
func gone(err error) bool { return btrfs.IsGone(err) }

// readFailure maps an error met opening, examining or reading a file to a
// skip reason: the filesystem-wide conditions and EIO keep their own
// codes, anything else is "unreadable".
func readFailure(err error) Reason {
	switch r := reasonFor(err); r {
	case ReasonIO, ReasonReadOnlyFS, ReasonNoSpace, ReasonBusy:
		return r
	}
	return ReasonUnreadable
}

// halts reports whether a share refused for r stops the pass over the
// filesystem: a read-only or full filesystem refuses every other share
// too, so one notice says it for all of them.
func halts(r Reason) bool { return r == ReasonReadOnlyFS || r == ReasonNoSpace }
