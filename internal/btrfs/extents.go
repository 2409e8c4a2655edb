package btrfs

// SharesExtents reports whether the first size bytes of a file with extent
// map dst are stored exactly where those of src are: at every file offset
// either both files have a hole, or both have a located extent (see
// Extent.Located) at the same physical address. Inline, delalloc and
// unlocated extents never count as shared, so two files that merely both
// hold inline data are not "already shared". Both maps must be sorted by
// Logical, as FIEMAP returns them.
func SharesExtents(src, dst []Extent, size uint64) bool {
	if size == 0 {
		return false
	}
	for pos := uint64(0); pos < size; {
		s, sok, snext := at(src, pos)
		d, dok, dnext := at(dst, pos)
		switch {
		case !sok && !dok: // a hole in both
			pos = min(snext, dnext)
			continue
		case sok != dok, !s.Located(), !d.Located():
			return false
		case s.Physical+(pos-s.Logical) != d.Physical+(pos-d.Logical):
			return false
		}
		pos = min(s.Logical+s.Length, d.Logical+d.Length)
	}
	return true
}

// at returns the extent of m containing offset pos, or, in a hole, false
// and the offset where the next extent starts (max uint64 if none).
func at(m []Extent, pos uint64) (Extent, bool, uint64) {
	for _, e := range m {
		if e.Logical <= pos && pos < e.Logical+e.Length {
			return e, true, 0
		}
		if e.Logical > pos {
			return Extent{}, false, e.Logical
		}
	}
	return Extent{}, false, ^uint64(0)
}

// HasInline reports whether any extent of m holds inline data (stored in
// the metadata item itself, which the kernel cannot share).
func HasInline(m []Extent) bool {
	for _, e := range m {
		if e.Flags&ExtentDataInline != 0 {
			return true
		}
	}
	return false
}
