package btrfs

// SharesExtents reports whether the first size bytes of a file with extent
// map dst are stored in exactly the same physical places as those of src:
// every byte of dst must be covered by a located extent (see
// Extent.Located) whose physical address matches src's for the same file
// offset. Inline, delalloc and unlocated extents never count as shared,
// so two files that merely both have inline data are not "already shared".
// Both maps must be sorted by Logical, as FIEMAP returns them.
func SharesExtents(src, dst []Extent, size uint64) bool {
	if size == 0 {
		return false
	}
	i := 0
	for pos := uint64(0); pos < size; {
		d, ok := covering(dst, pos)
		if !ok {
			return false
		}
		for i < len(src) && src[i].Logical+src[i].Length <= pos {
			i++
		}
		if i == len(src) || src[i].Logical > pos || !src[i].Located() {
			return false
		}
		s := src[i]
		if s.Physical+(pos-s.Logical) != d.Physical+(pos-d.Logical) {
			return false
		}
		pos = min(s.Logical+s.Length, d.Logical+d.Length)
	}
	return true
}

// covering returns the located extent of m that contains offset pos.
func covering(m []Extent, pos uint64) (Extent, bool) {
	for _, e := range m {
		if e.Logical <= pos && pos < e.Logical+e.Length {
			return e, e.Located()
		}
		if e.Logical > pos {
			break
		}
	}
	return Extent{}, false
}
