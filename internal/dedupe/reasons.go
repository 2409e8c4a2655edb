package dedupe

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Reason is why a file was skipped: a short, stable code (it appears in
// JSON output and keys Stats.Skipped). The words a person reads belong to
// the printers, which map every code of Reasons to their own text.
type Reason string

// The reasons a file is skipped, by code. "Kept flagged" means the file
// stays a candidate, so the next run tries it again.
//
//	code            meaning                                                     kept flagged
//	changed         its size or content changed while being deduplicated       yes
//	unreadable      it could not be opened, examined or read                   yes
//	nocow-alone     its NOCOW flag differs from all its identical copies        no
//	nocow-mismatch  its NOCOW flag differs from the source's (dedup-files)      -
//	immutable       it has the immutable attribute (the kernel refuses)         no
//	swapfile        it is an active swap file (the kernel refuses)              no
//	busy            a btrfs send uses its subvolume (EAGAIN)                    yes
//	read-only       it is on a read-only mount or subvolume (EROFS)             no
//	other-fs        it is on another filesystem (EXDEV)                         no
//	io-error        the kernel hit an I/O error (EIO)                           yes
//	refused         the kernel refused to share it for another reason          yes
//	missing         no file by that name (dedup-files --fdupes)                -
//	not-regular     not a regular file (dedup-files --fdupes)                  -
//
// Files of read-only volumes that only serve as sources are never
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
		ReasonSwapfile, ReasonBusy, ReasonReadOnlyFS, ReasonOtherFS, ReasonIO, ReasonRefused,
		ReasonMissing, ReasonNotRegular,
	}
}

// reasonGone marks a member whose inode no longer exists (its row is
// dropped; it is no skip worth counting).
const reasonGone Reason = "gone"

// reasonFor maps the kernel's answer to a skip reason (DESIGN.md §5).
func reasonFor(err error) Reason {
	switch {
	case errors.Is(err, unix.EPERM):
		return ReasonImmutable
	case errors.Is(err, unix.ETXTBSY):
		return ReasonSwapfile
	case errors.Is(err, unix.EAGAIN):
		return ReasonBusy
	case errors.Is(err, unix.EROFS):
		return ReasonReadOnlyFS
	case errors.Is(err, unix.EXDEV):
		return ReasonOtherFS
	case errors.Is(err, unix.EIO):
		return ReasonIO
	default:
		return ReasonRefused
	}
}

// retryLater reports whether a file skipped for r is worth another try in
// a later run (it stays flagged).
func retryLater(r Reason) bool {
	return r == ReasonBusy || r == ReasonIO || r == ReasonRefused
}
