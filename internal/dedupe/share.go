// Package dedupe makes files with identical contents share their data
// extents. share.go holds the sharing step used by dedup-files and by the
// dedup pipeline: check what the kernel would refuse, skip what is already
// shared, and hand the rest to FIDEDUPERANGE, which compares the bytes and
// shares them atomically.
package dedupe

import (
	"fmt"
	"os"

	"github.com/bedup/bedup/internal/btrfs"
)

// Outcome says what happened to one destination.
type Outcome int

const (
	// OutcomeShared: the destination now shares the source's extents.
	OutcomeShared Outcome = iota
	// OutcomeAlreadyShared: it did before; nothing was asked of the kernel.
	OutcomeAlreadyShared
	// OutcomeEmpty: a zero-length file has no data to share.
	OutcomeEmpty
	// OutcomeInline: the source's data is stored inline in its metadata
	// item, which the kernel cannot share; nothing was asked of it.
	OutcomeInline
	// OutcomeDiffers: the contents (or sizes) differ; nothing was shared.
	OutcomeDiffers
	// OutcomeSkipped: the destination cannot be shared with this source;
	// Reason says why. Nothing was changed.
	OutcomeSkipped
)

func (o Outcome) String() string {
	return [...]string{"shared", "already shared", "empty", "inline", "differs", "skipped"}[o]
}

// Done reports whether nothing is left to share: the destination holds the
// source's data on the same extents, or there is no data extent to share.
func (o Outcome) Done() bool {
	return o == OutcomeShared || o == OutcomeAlreadyShared || o == OutcomeEmpty || o == OutcomeInline
}

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
	Bytes   uint64 // bytes now shared by this call (OutcomeShared only)
	Reason  Reason // OutcomeSkipped only
	Err     error  // the kernel's error behind an OutcomeSkipped, if any
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
// already matches src's (holes included) are left alone, those with src's
// holes are asked for its data ranges only, and an inline
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
	srcData := dataRanges(srcExt, src.Size)
	// Two asks: destinations with the source's holes, by its data ranges
	// (see holes.go), and the others whole.
	var ask [2][]btrfs.DedupeDest
	var askIdx [2][]int
	for i, d := range dests {
		switch {
		case d.Size != src.Size:
			res[i] = Result{Outcome: OutcomeDiffers}
		case src.Size == 0:
			res[i] = Result{Outcome: OutcomeEmpty}
		case inline:
			res[i] = Result{Outcome: OutcomeInline}
		case d.Flags&btrfs.FlagNocow != src.Flags&btrfs.FlagNocow:
			res[i] = Result{Outcome: OutcomeSkipped, Reason: ReasonNocowMismatch}
		case d.Flags&btrfs.FlagImmutable != 0:
			res[i] = Result{Outcome: OutcomeSkipped, Reason: ReasonImmutable}
		default:
			if !o.NoSharedShortcut {
				dext, err := btrfs.Fiemap(d.F)
				if err != nil {
					res[i] = Result{Outcome: OutcomeSkipped, Reason: reasonFor(err), Err: err}
					continue
				}
				if btrfs.SharesExtents(srcExt, dext, src.Size) {
					res[i] = Result{Outcome: OutcomeAlreadyShared}
					continue
				}
				if holesAlike(srcData, dataRanges(dext, d.Size)) {
					ask[1] = append(ask[1], btrfs.DedupeDest{File: d.F})
					askIdx[1] = append(askIdx[1], i)
					continue
				}
			}
			ask[0] = append(ask[0], btrfs.DedupeDest{File: d.F})
			askIdx[0] = append(askIdx[0], i)
		}
	}
	for k, ranges := range [][][2]uint64{{{0, src.Size}}, srcData} {
		if len(ask[k]) > 0 {
			recordAnswers(res, askIdx[k], btrfs.DedupeRanges(src.F, ranges, ask[k]))
		}
	}
	return res, nil
}

// recordAnswers fills the results of the destinations at idx from the kernel's
// answers.
func recordAnswers(res []Result, idx []int, answers []btrfs.DedupeResult) {
	for j, r := range answers {
		i := idx[j]
		switch r.Status {
		case btrfs.DedupeSame:
			res[i] = Result{Outcome: OutcomeShared, Bytes: r.Bytes}
		case btrfs.DedupeDiffers:
			// Chunks before the differing one may have been shared: they
			// held identical bytes, so nothing is lost.
			res[i] = Result{Outcome: OutcomeDiffers, Bytes: r.Bytes}
		default:
			res[i] = Result{Outcome: OutcomeSkipped, Reason: reasonFor(r.Err), Err: r.Err}
		}
	}
}
