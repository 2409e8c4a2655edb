package dedupe

import (
	"fmt"

	"github.com/bedup/bedup/internal/btrfs"
)

// Candidate is what the choice of a source knows about one copy of a set
// of identical files. dedup and dedup-files --fdupes choose alike.
type Candidate struct {
	// SharedBytes are the bytes on extents FIEMAP calls shared (with a
	// snapshot, a reflink copy or another file): sharing from this copy
	// frees the others, sharing into it would free nothing.
	SharedBytes uint64
	// ReadOnly: the copy cannot (or is not to) be written, e.g. it is in a
	// read-only snapshot.
	ReadOnly bool
	// Allocated are the bytes on located extents (fewer for a sparse copy).
	Allocated uint64
	// Subvol and Ino break the remaining ties, lowest first, as in the
	// original bedup.
	Subvol, Ino uint64
}

// Better reports whether c is a better source than o: more shared bytes,
// then read-only, then fewer allocated bytes, then the lower (subvolume,
// inode).
func (c Candidate) Better(o Candidate) bool {
	switch {
	case c.SharedBytes != o.SharedBytes:
		return c.SharedBytes > o.SharedBytes
	case c.ReadOnly != o.ReadOnly:
		return c.ReadOnly
	case c.Allocated != o.Allocated:
		return c.Allocated < o.Allocated
	case c.Subvol != o.Subvol:
		return c.Subvol < o.Subvol
	default:
		return c.Ino < o.Ino
	}
}

// BestSource returns the index of the best source among cs (the first of
// equals), or -1 when cs is empty.
func BestSource(cs []Candidate) int {
	if len(cs) == 0 {
		return -1
	}
	best := 0
	for i := 1; i < len(cs); i++ {
		if cs[i].Better(cs[best]) {
			best = i
		}
	}
	return best
}

// CandidateOf reads what source choice needs about an open file: its
// extent map (FIEMAP) and its subvolume, which makes it ReadOnly when that
// subvolume is read-only.
func CandidateOf(f File) (Candidate, error) {
	c := Candidate{Ino: f.Ino}
	ext, err := btrfs.Fiemap(f.F)
	if err != nil {
		return c, fmt.Errorf("extent map: %w", err)
	}
	c.SharedBytes, c.Allocated = extentBytes(ext)
	sv, err := btrfs.GetSubvolInfo(f.F)
	if err != nil {
		return c, err
	}
	c.Subvol, c.ReadOnly = sv.ID, sv.ReadOnly
	return c, nil
}

// extentBytes sums the bytes of an extent map on shared extents and on
// located ones.
func extentBytes(ext []btrfs.Extent) (shared, located uint64) {
	for _, e := range ext {
		if e.Located() {
			located += e.Length
			if e.Shared() {
				shared += e.Length
			}
		}
	}
	return shared, located
}

// candidate is what source choice knows about an instance of a pass: the
// most shared of its files, read-only when none of them may be written.
func (in *instance) candidate() Candidate {
	c := Candidate{ReadOnly: true}
	for _, f := range in.files {
		c.SharedBytes = max(c.SharedBytes, f.shared)
		c.ReadOnly = c.ReadOnly && !f.vol.Writable
	}
	f := in.files[0]
	c.Allocated, c.Subvol, c.Ino = f.located, f.vol.V.ID, f.m.Ino
	return c
}
