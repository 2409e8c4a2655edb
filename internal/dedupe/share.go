// Package dedupe makes files with identical contents share their data
// extents. share.go holds the sharing step used by dedup-files and by the
// dedup pipeline: check what the kernel would refuse, skip what is already
// shared, and hand the rest to FIDEDUPERANGE, which compares the bytes and
// shares them atomically.
package dedupe

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
)

// Outcome says what happened to one destination.
type Outcome int

const (
	// Shared: the destination now shares the source's extents.
	Shared Outcome = iota
	// AlreadyShared: it did before; nothing was asked of the kernel.
	AlreadyShared
	// Empty: a zero-length file has no data to share.
	Empty
	// Inline: the source's data is stored inline in its metadata item,
	// which the kernel cannot share; nothing was asked of it.
	Inline
	// Differs: the contents (or sizes) differ; nothing was shared.
	Differs
	// Skipped: the destination cannot be shared with this source; Reason
	// says why. Nothing was changed.
	Skipped
)

func (o Outcome) String() string {
	return [...]string{"shared", "already shared", "empty", "inline", "differs", "skipped"}[o]
}

// Done reports whether nothing is left to share: the destination holds the
// source's data on the same extents, or there is no data extent to share.
func (o Outcome) Done() bool { return o == Shared || o == AlreadyShared || o == Empty || o == Inline }

// Reason is why a destination was skipped. Reasons are fixed strings so a
// summary can count them.
type Reason string

// The reasons a destination is skipped.
const (
	ReasonNocowMismatch Reason = "NOCOW flag differs from the source (the kernel refuses to share between them)"
	ReasonImmutable     Reason = "immutable file"
	ReasonSwapfile      Reason = "active swap file"
	ReasonBusy          Reason = "busy (a btrfs send is using its subvolume), retry later"
	ReasonReadOnlyFS    Reason = "on a read-only mount or subvolume"
	ReasonOtherFS       Reason = "on another filesystem"
	ReasonIO            Reason = "I/O error"
	ReasonRefused       Reason = "the kernel refused to share it"
)

// File is an open file taking part in a share, with the facts the sharing
// step needs about it.
type File struct {
	F        *os.File
	Size     uint64
	Flags    uint32 // FS_IOC_GETFLAGS
	Dev, Ino uint64 // identity: Dev differs between subvolumes
}

// Describe reads the size and inode flags of an open file.
func Describe(f *os.File) (File, error) {
	st, err := btrfs.Fstat(f)
	if err != nil {
		return File{}, err
	}
	flags, err := btrfs.GetFlags(f)
	if err != nil {
		return File{}, err
	}
	return File{F: f, Size: uint64(st.Size), Flags: flags, Dev: st.Dev, Ino: st.Ino}, nil
}

// Result is the outcome for one destination.
type Result struct {
	Outcome Outcome
	Bytes   uint64 // bytes now shared by this call (Shared only)
	Reason  Reason // Skipped only
	Err     error  // the kernel's error behind a Skipped, if any
}

// ShareOptions change the sharing step.
type ShareOptions struct {
	// NoSharedShortcut asks the kernel even when FIEMAP shows the
	// destination already on the source's extents (dedup-files --defrag,
	// after the source's extents moved).
	NoSharedShortcut bool
}

// Share makes every destination share src's data where the contents are
// identical. Destinations the kernel would refuse (NOCOW mismatch,
// immutable) are skipped without a call; destinations whose extent map
// already matches src's (holes included) are left alone, and an inline
// source is not sent to the kernel, which would answer "same" and share
// nothing. Results are in the order of dests. An error is returned only
// when src itself cannot be examined.
func Share(src File, dests []File, o ShareOptions) ([]Result, error) {
	res := make([]Result, len(dests))
	var srcExt []btrfs.Extent
	if src.Size > 0 {
		var err error
		if srcExt, err = btrfs.Fiemap(src.F); err != nil {
			return nil, fmt.Errorf("extent map of source: %w", err)
		}
	}
	inline := btrfs.HasInline(srcExt)
	var ask []btrfs.DedupeDest
	var askIdx []int
	for i, d := range dests {
		switch {
		case d.Size != src.Size:
			res[i] = Result{Outcome: Differs}
		case src.Size == 0:
			res[i] = Result{Outcome: Empty}
		case inline:
			res[i] = Result{Outcome: Inline}
		case d.Flags&btrfs.FlagNocow != src.Flags&btrfs.FlagNocow:
			res[i] = Result{Outcome: Skipped, Reason: ReasonNocowMismatch}
		case d.Flags&btrfs.FlagImmutable != 0:
			res[i] = Result{Outcome: Skipped, Reason: ReasonImmutable}
		default:
			if !o.NoSharedShortcut {
				dext, err := btrfs.Fiemap(d.F)
				if err != nil {
					res[i] = Result{Outcome: Skipped, Reason: reasonFor(err), Err: err}
					continue
				}
				if btrfs.SharesExtents(srcExt, dext, src.Size) {
					res[i] = Result{Outcome: AlreadyShared}
					continue
				}
			}
			ask = append(ask, btrfs.DedupeDest{File: d.F})
			askIdx = append(askIdx, i)
		}
	}
	for j, r := range btrfs.Dedupe(src.F, 0, src.Size, ask) {
		i := askIdx[j]
		switch r.Status {
		case btrfs.DedupeSame:
			res[i] = Result{Outcome: Shared, Bytes: r.Bytes}
		case btrfs.DedupeDiffers:
			// Chunks before the differing one may have been shared: they
			// held identical bytes, so nothing is lost.
			res[i] = Result{Outcome: Differs, Bytes: r.Bytes}
		default:
			res[i] = Result{Outcome: Skipped, Reason: reasonFor(r.Err), Err: r.Err}
		}
	}
	return res, nil
}

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
