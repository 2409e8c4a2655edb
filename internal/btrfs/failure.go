package btrfs

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Failure is what a failed open, read or FIDEDUPERANGE says about the
// file or its filesystem, as the callers act on it: each kind names the
// errnos that mean it. Classify sorts an error into one.
type Failure int

// The kinds of failure, with the errnos each covers.
const (
	// FailNone: no error (nil).
	FailNone Failure = iota
	// FailGone: the file is no longer there. ESTALE: open_by_handle_at
	// finds no inode of that number and generation (deleted, or the
	// number reused). ENOENT: a name, an inode's paths (InoPaths finding
	// none) or a deleted subvolume no longer exist. ErrNotRegular and
	// EISDIR: the safe opens (OpenByHandle, OpenBeneath, OpenFile) found
	// something other than a regular file where the file was.
	FailGone
	// FailImmutable: EPERM. FIDEDUPERANGE refuses to change a destination
	// with the immutable attribute; it stays refused until the attribute
	// is cleared.
	FailImmutable
	// FailSwapFile: ETXTBSY. FIDEDUPERANGE refuses an active swap file,
	// as source or destination.
	FailSwapFile
	// FailBusy: EAGAIN (EWOULDBLOCK). Btrfs refuses to share into a
	// subvolume that a btrfs send is reading; it passes when the send ends.
	FailBusy
	// FailReadOnly: EROFS. The mount or the filesystem is read-only (for
	// instance after mount -o remount,ro): every share on it fails alike.
	FailReadOnly
	// FailNoSpace: ENOSPC, EDQUOT. No room for the metadata a share
	// writes (FIDEDUPERANGE frees data, but needs metadata), or a quota
	// group's limit is reached.
	FailNoSpace
	// FailOtherFS: EXDEV. Source and destination of FIDEDUPERANGE are on
	// different filesystems.
	FailOtherFS
	// FailIO: EIO. The kernel could not read the data: a block whose
	// checksum fails or a failing device. Reads and FIDEDUPERANGE (which
	// reads both files to compare them) answer it alike.
	FailIO
	// FailOther: any other error, errno or not (EINVAL for a NOCOW or
	// checksum mismatch between the files, ENOMEM, ...).
	FailOther
)

var failureNames = [...]string{
	FailNone: "none", FailGone: "gone", FailImmutable: "immutable", FailSwapFile: "swapfile",
	FailBusy: "busy", FailReadOnly: "read-only", FailNoSpace: "no-space", FailOtherFS: "other-fs",
	FailIO: "io", FailOther: "other",
}

// String names the kind in a word, for messages and tests.
func (f Failure) String() string {
	if f < 0 || int(f) >= len(failureNames) {
		return "unknown"
	}
	return failureNames[f]
}

// Classify returns the kind of err, looking through wrapping (fmt.Errorf
// with %w, *os.PathError, *os.SyscallError). The kinds are tried in the
// order they are declared, so an error joining several errnos gets the
// first that matches.
func Classify(err error) Failure {
	switch {
	case err == nil:
		return FailNone
	case errors.Is(err, unix.ESTALE), errors.Is(err, unix.ENOENT),
		errors.Is(err, ErrNotRegular), errors.Is(err, unix.EISDIR):
		return FailGone
	case errors.Is(err, unix.EPERM):
		return FailImmutable
	case errors.Is(err, unix.ETXTBSY):
		return FailSwapFile
	case errors.Is(err, unix.EAGAIN):
		return FailBusy
	case errors.Is(err, unix.EROFS):
		return FailReadOnly
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EDQUOT):
		return FailNoSpace
	case errors.Is(err, unix.EXDEV):
		return FailOtherFS
	case errors.Is(err, unix.EIO):
		return FailIO
	}
	return FailOther
}

// IsGone reports whether err says the file is no longer there
// (Classify(err) == FailGone): its inode was deleted or replaced.
func IsGone(err error) bool { return Classify(err) == FailGone }
