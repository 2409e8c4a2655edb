package dedupe

import "github.com/bedup/bedup/internal/store"

// facts sums up an instance of a pass for planSet.
func (in *instance) facts() instanceFacts {
	var c instanceFacts
	for i, f := range in.files {
		switch {
		case !f.vol.Writable:
			c.ReadOnly++
		case f.immut:
			c.Immutable++
		default:
			c.Writable++
		}
		c.SharedBytes = max(c.SharedBytes, f.shared)
		id := f.vol.V.ID
		if i == 0 || id < c.Subvol || id == c.Subvol && f.m.Ino < c.Ino {
			c.Subvol, c.Ino = id, f.m.Ino
		}
	}
	if len(in.files) > 0 {
		c.Allocated = in.files[0].located
	}
	return c
}

// decide decides an identical set of a pass (see planSet).
func decide(set []*instance) (src *instance, roles []role) {
	facts := make([]instanceFacts, len(set))
	for i, in := range set {
		facts[i] = in.facts()
	}
	roles = planSet(facts)
	for i, r := range roles {
		if r == roleSource {
			src = set[i]
		}
	}
	return src, roles
}

// destinations lists the files of a set that receive the source's
// extents: those of the instances to merge. Of a kept instance, the files
// of read-only volumes are remembered as frozen (and counted as kept),
// immutable ones are reported skipped (a step of g), and writable ones
// stay where they are.
func (p *pass) destinations(g *group, set []*instance, roles []role) []*file {
	var dests []*file
	for i, in := range set {
		switch roles[i] {
		case roleMerge:
			dests = append(dests, in.files...)
		case roleKeep:
			for _, f := range in.files {
				switch {
				case !f.vol.Writable:
					p.stats.KeptReadOnly++
					f.frozen = true
				case f.immut:
					g.steps = append(g.steps, step{skip: f, reason: ReasonImmutable})
				}
			}
		}
	}
	return dests
}

// remember records, after finish, which files of a group are frozen: left
// unshared only because they are in a read-only volume. A frozen file is
// not flagged, so its size group is not examined again until a new or
// changed file of that size comes, or its volume is writable in a run
// (store.DB.Thaw).
func (p *pass) remember(g *group, b *store.Batch) {
	for _, f := range g.files {
		if f.frozen != f.m.Frozen {
			b.SetFrozen(f.key(), f.frozen)
		}
	}
}
