package dedupe

import "github.com/bedup/bedup/internal/btrfs"

// What a share frees is counted on disk, not from FIEMAP lengths: a data
// extent is given back only when its last user lets go of it, in full
// (every block, the "bookends" no file uses any more included), and it
// then frees its allocated size, which for a compressed extent is its
// compressed size. So before sharing, the destinations' file extent items
// say which extents they use and at what size, and for each extent the
// set of files using it is learnt: the file alone when FIEMAP does not
// call it shared, else every user LOGICAL_INO finds (reflinks, snapshots,
// other members of the set). After sharing, an extent whose users all
// received the source's extents is freed.

// fileKey names a file as LOGICAL_INO does: subvolume id and inode.
type fileKey struct{ root, ino uint64 }

func keyOf(f *file) fileKey { return fileKey{f.vol.V.ID, f.m.Ino} }

// freeable maps the disk address of each extent the destinations of a set
// use to its size and users.
type freeable map[uint64]*diskExtent

// diskExtent is one data extent: its allocated size and every file using
// it; users is nil when they are unknown (it then never counts as freed).
type diskExtent struct {
	size  uint64
	users map[fileKey]bool
}

// freeable reads, before sharing, the extents the destinations of a set
// use and who uses them. An instance with a file that will not receive
// the source (read-only, immutable) keeps its extents, so it is left out.
// It makes ioctls: call it without p.mu.
func (p *pass) freeable(set []*instance, src *instance, dests []*file) freeable {
	will := map[*file]bool{}
	for _, f := range dests {
		will[f] = true
	}
	fr := freeable{}
	for _, in := range set {
		all := in != src
		for _, f := range in.files {
			all = all && will[f]
		}
		if all {
			fr.add(in)
		}
	}
	return fr
}

// add records the extents of an instance. Its files share all their
// extents, so one file's items stand for all; with several files every
// extent is shared, and LOGICAL_INO says by whom.
func (fr freeable) add(in *instance) {
	f := in.files[0]
	top := f.vol.V.FS.Top()
	items, err := btrfs.FileExtents(top, f.vol.V.ID, f.m.Ino)
	if err != nil {
		return // no estimate for this instance; sharing goes on
	}
	for _, e := range items {
		if e.Type == btrfs.FileExtentInline || e.DiskBytenr == 0 || fr[e.DiskBytenr] != nil {
			continue
		}
		d := &diskExtent{size: e.DiskNumBytes}
		fr[e.DiskBytenr] = d
		if len(in.files) == 1 && !sharedAt(f.sharedExt, e.FileOffset) {
			d.users = map[fileKey]bool{keyOf(f): true}
			continue
		}
		refs, complete, err := btrfs.ExtentRefs(top, e.DiskBytenr)
		if err != nil || !complete || len(refs) == 0 {
			continue
		}
		d.users = map[fileKey]bool{}
		for _, r := range refs {
			d.users[fileKey{r.Root, r.Ino}] = true
		}
	}
}

// sharedAt reports whether file offset off lies in one of the extents
// FIEMAP called shared.
func sharedAt(shared []btrfs.Extent, off uint64) bool {
	for _, e := range shared {
		if e.Logical <= off && off < e.Logical+e.Length {
			return true
		}
	}
	return false
}

// freed sums the size of the extents that no file but the shared ones
// used.
func (fr freeable) freed(shared map[fileKey]bool) int64 {
	var n int64
	for _, d := range fr {
		if d.users == nil {
			continue
		}
		all := true
		for u := range d.users {
			all = all && shared[u]
		}
		if all {
			n += int64(d.size)
		}
	}
	return n
}
