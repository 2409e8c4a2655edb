package dedupe

import (
	"sort"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/store"
)

// share makes the identical instances of a group share one source's
// extents.
func (p *pass) share(g *group, b *store.Batch) {
	if g.done {
		return
	}
	// Identical instances, by hash and by NOCOW class: the kernel refuses
	// to share between files whose data checksumming differs.
	type key struct {
		hash  string
		nocow bool
	}
	sets := map[key][]*instance{}
	hashes := map[string]map[bool]bool{}
	for _, in := range g.instances {
		if in.hash == nil {
			continue
		}
		nocow := in.files[0].nocow
		k := key{string(in.hash[:16]), nocow}
		sets[k] = append(sets[k], in)
		if hashes[k.hash] == nil {
			hashes[k.hash] = map[bool]bool{}
		}
		hashes[k.hash][nocow] = true
	}
	keys := make([]key, 0, len(sets))
	for k := range sets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].hash != keys[j].hash {
			return keys[i].hash < keys[j].hash
		}
		return !keys[i].nocow
	})
	for _, k := range keys {
		set := sets[k]
		if len(hashes[k.hash]) > 1 && len(set) == 1 {
			// Its identical copies are on the other side of the NOCOW line.
			for _, f := range set[0].files {
				if f.vol.Writable {
					p.notice(f, ReasonNocowAlone, nil)
				}
			}
		}
		if len(set) < 2 {
			continue
		}
		p.shareSet(g.size, set, b)
	}
	p.finish(g, b)
}

// source picks the instance to share from: the one whose extents are most
// shared already (pinned by snapshots: sharing from it frees everything
// else), then one that cannot be written anyway, then the one with the
// fewest allocated bytes (a sparse copy), then the lowest (subvolume,
// inode) as in the original.
func source(set []*instance) *instance {
	best := set[0]
	score := func(in *instance) (uint64, bool, uint64, uint64, uint64) {
		var shared uint64
		writable := false
		for _, f := range in.files {
			shared = max(shared, f.shared)
			writable = writable || f.vol.Writable
		}
		f := in.files[0]
		return shared, !writable, f.located, f.vol.V.ID, f.m.Ino
	}
	for _, in := range set[1:] {
		s1, r1, l1, v1, i1 := score(in)
		s2, r2, l2, v2, i2 := score(best)
		switch {
		case s1 != s2:
			if s1 > s2 {
				best = in
			}
		case r1 != r2:
			if r1 {
				best = in
			}
		case l1 != l2:
			if l1 < l2 {
				best = in
			}
		case v1 != v2:
			if v1 < v2 {
				best = in
			}
		case i1 < i2:
			best = in
		}
	}
	return best
}

// shareSet shares one source instance into every writable file of the
// other instances of an identical set, and logs the event. It is called
// with p.mu held and releases it only around the ioctls.
func (p *pass) shareSet(size uint64, set []*instance, b *store.Batch) {
	src := source(set)
	rep := src.rep
	if rep == nil {
		rep = src.files[0]
	}
	sf, err := p.handle(rep)
	if err != nil {
		for _, in := range set {
			for _, f := range in.files {
				f.keepFlag = true
			}
		}
		p.notice(rep, ReasonUnreadable, err)
		return
	}
	defer release(rep, sf)
	if p.o.Defrag && rep.vol.Writable {
		p.mu.Unlock()
		err := btrfs.Defrag(sf)
		p.mu.Lock()
		if err != nil {
			p.notice(rep, ReasonRefused, err)
		} else if ext, err := btrfs.Fiemap(sf); err == nil {
			src.print = Print(ext, size)
			for _, f := range src.files {
				f.print = src.print
			}
		}
	}
	type dest struct {
		f  *file
		in *instance
	}
	var dests []dest
	for _, in := range set {
		if in == src {
			continue
		}
		for _, f := range in.files {
			switch {
			case !f.vol.Writable:
				// Kept flagged: a later run that may write into its
				// subvolume (named, or --include-frozen) takes it up.
				p.stats.skip(ReasonReadOnlyVol)
				f.keepFlag = true
			case f.immut:
				p.notice(f, ReasonImmutable, nil)
			default:
				dests = append(dests, dest{f, in})
			}
		}
	}
	event := []store.EventInode{{VolID: rep.m.VolID, Ino: rep.m.Ino}}
	ok := map[*file]bool{}
	for len(dests) > 0 {
		batch := dests[:min(len(dests), btrfs.MaxDedupeDests)]
		dests = dests[len(batch):]
		var open []btrfs.DedupeDest
		var which []dest
		for _, d := range batch {
			h, err := p.handle(d.f)
			if err != nil {
				d.f.keepFlag = !gone(err)
				p.notice(d.f, ReasonUnreadable, err)
				continue
			}
			open = append(open, btrfs.DedupeDest{File: h})
			which = append(which, d)
		}
		p.mu.Unlock() // the long part: the kernel reads and compares
		res := btrfs.Dedupe(sf, 0, size, open)
		p.mu.Lock()
		calls := 0
		for i, r := range res {
			d := which[i]
			release(d.f, open[i].File)
			calls = max(calls, r.Calls) // one ioctl per chunk serves the whole batch
			switch r.Status {
			case btrfs.DedupeSame:
				ok[d.f] = true
				p.shared = append(p.shared, d.f)
				p.stats.FilesShared++
				p.stats.BytesDeduped += int64(size)
				event = append(event, store.EventInode{VolID: d.f.m.VolID, Ino: d.f.m.Ino})
			case btrfs.DedupeDiffers:
				d.f.keepFlag = true
				p.notice(d.f, ReasonChanged, nil)
			default:
				reason := reasonFor(r.Err)
				d.f.keepFlag = reason == ReasonBusy || reason == ReasonIO || reason == ReasonRefused
				p.notice(d.f, reason, r.Err)
			}
		}
		p.stats.DedupeCalls += calls
	}
	var freed uint64
	for _, in := range set {
		if in == src {
			continue
		}
		all := true
		for _, f := range in.files {
			if ok[f] {
				f.print = src.print // it now holds the source's extents
			} else {
				all = false
			}
		}
		// The old extents are free only when no file of the instance still
		// uses them, and only the part nobody else (a snapshot) shares.
		if all {
			freed += in.files[0].located - min(in.files[0].located, in.files[0].shared)
			in.print, in.hash = src.print, src.hash
		}
	}
	p.stats.BytesFreed += int64(freed)
	if len(event) > 1 {
		b.Event(p.fsID, size, freed, event)
	}
}
