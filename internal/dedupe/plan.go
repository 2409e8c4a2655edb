package dedupe

// Deciding an identical set. Its instances (files that already share all
// their extents) hold the same bytes; each is shared from one source, kept
// as it is, or merged into the source. A file that may not be written (in
// a read-only subvolume nobody named, or immutable) pins its instance: the
// instance's extents stay allocated whatever happens to its other files.
// So:
//
//   - the source is a pinned instance when there is one (sharing from it
//     frees the others; sharing into it would free nothing), else the one
//     whose extents are most shared already (see instanceFacts.better);
//   - an instance that is not pinned is merged: all its files receive the
//     source's extents, and its own extents are freed (unless something
//     outside the set uses them);
//   - a pinned instance other than the source is kept as it is, its
//     writable files too: moving them to the source would free nothing,
//     only rewrite metadata, and since the choice among pinned instances
//     may change as copies come and go, moving them would send them back
//     and forth between extents. Its read-only files could be merged only
//     by writing into their snapshot: they are remembered as frozen
//     (store.Batch.SetFrozen) instead of staying flagged, so their size
//     group is not examined again until it changes or the snapshot is
//     named.
//
// After a run, the set is its source and kept instances: planned again, it
// has nothing to merge, whichever pinned instance is then the source. A
// decision is stable.

// instanceFacts are what deciding an identical set knows about one of its
// instances.
type instanceFacts struct {
	Writable  int // files that may receive another extent
	ReadOnly  int // files in read-only subvolumes nobody named
	Immutable int // immutable files (the kernel refuses to write them)
	// SharedBytes are the bytes FIEMAP calls shared (with a snapshot, a
	// reflink, another file of the instance) and Allocated the bytes on
	// located extents, of the instance's files.
	SharedBytes, Allocated uint64
	// Subvol and Ino name the instance's lowest file: the last tie-break.
	Subvol, Ino uint64
}

// pinned reports whether a file of the instance may not be written.
func (c instanceFacts) pinned() bool { return c.ReadOnly+c.Immutable > 0 }

// better reports whether c makes a better source than o: pinned, then
// more shared bytes (a copy pinned by a snapshot outside the pass), then
// more writable files (new copies join the ones gathered already), then
// fewer allocated bytes (a sparse copy), then the lower (subvolume, inode)
// as in the original.
func (c instanceFacts) better(o instanceFacts) bool {
	switch {
	case c.pinned() != o.pinned():
		return c.pinned()
	case c.SharedBytes != o.SharedBytes:
		return c.SharedBytes > o.SharedBytes
	case c.Writable != o.Writable:
		return c.Writable > o.Writable
	case c.Allocated != o.Allocated:
		return c.Allocated < o.Allocated
	case c.Subvol != o.Subvol:
		return c.Subvol < o.Subvol
	default:
		return c.Ino < o.Ino
	}
}

// role is what a plan does with an instance.
type role int

const (
	roleSource role = iota // shared from
	roleMerge              // all its files receive the source's extents
	roleKeep               // pinned: left as it is
)

func (r role) String() string {
	return [...]string{"source", "merge", "keep"}[r]
}

// planSet decides an identical set: one role per instance, exactly one of
// them roleSource (none for an empty set).
func planSet(set []instanceFacts) []role {
	roles := make([]role, len(set))
	if len(set) == 0 {
		return roles
	}
	src := 0
	for i := 1; i < len(set); i++ {
		if set[i].better(set[src]) {
			src = i
		}
	}
	for i, c := range set {
		switch {
		case i == src:
			roles[i] = roleSource
		case c.pinned() || c.Writable == 0:
			roles[i] = roleKeep
		default:
			roles[i] = roleMerge
		}
	}
	return roles
}
