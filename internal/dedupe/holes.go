package dedupe

import (
	"slices"

	"github.com/bedup/bedup/internal/btrfs"
)

// Sparse files. FIDEDUPERANGE reads a hole as zeros, page by page, in both
// files: sharing two 512 MiB files with 8 MiB of data each cost half a
// second of CPU, nearly all of it filling the page cache with zeros and
// comparing them. A hole holds no extent, so sharing it frees nothing:
// when a destination has its holes exactly where the source has them, only
// the ranges with data are shared (btrfs.DedupeRanges), and the holes stay
// holes in both, as they were. The kernel compares every byte it shares,
// so a hole a writer fills meanwhile is simply not shared, and the file's
// new extent shows in its map when its transid is read back (it stays
// flagged).

// dataRanges returns the ranges [start, end) of a file of size bytes that
// its extent map covers, merged where they touch and cut at size, or nil
// when the map leaves no hole (then the whole file is shared in one).
// Preallocated extents count as data: they read as zeros but hold space.
func dataRanges(ext []btrfs.Extent, size uint64) [][2]uint64 {
	if size == 0 {
		return nil
	}
	var out [][2]uint64
	for _, e := range ext {
		start, end := e.Logical, min(e.Logical+e.Length, size)
		if start >= end {
			continue
		}
		if n := len(out); n > 0 && out[n-1][1] >= start {
			out[n-1][1] = max(out[n-1][1], end)
			continue
		}
		out = append(out, [2]uint64{start, end})
	}
	if len(out) == 1 && out[0] == [2]uint64{0, size} {
		return nil
	}
	if out == nil {
		return [][2]uint64{} // all hole: nothing to share, but not "no hole"
	}
	return out
}

// sameHoles reports whether a destination can be shared by its data
// ranges alone: the source has holes and the destination has them at the
// same offsets.
func sameHoles(src, dest *file) bool { return holesAlike(src.data, dest.data) }

// holesAlike is sameHoles on two files' dataRanges. A file without holes
// (nil) is never alike: sharing a hole into its data frees that data.
func holesAlike(src, dest [][2]uint64) bool {
	return src != nil && dest != nil && slices.Equal(src, dest)
}
