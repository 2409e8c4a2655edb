package dedupe

import (
	"os"
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
					p.skipped(f, ReasonNocowAlone, nil)
				}
			}
		}
		if len(set) < 2 {
			continue
		}
		g.sets++
		p.shareSet(g.size, set, b)
	}
	p.finish(g, b)
}

// source picks the instance to share from (see Candidate.Better): the one
// whose extents are most shared already (pinned by snapshots: sharing from
// it frees everything else), then one that cannot be written anyway, then
// the one with the fewest allocated bytes (a sparse copy), then the lowest
// (subvolume, inode) as in the original.
func source(set []*instance) *instance {
	cs := make([]Candidate, len(set))
	for i, in := range set {
		cs[i] = in.candidate()
	}
	return set[BestSource(cs)]
}

// shareSet shares one source instance into every writable file of the
// other instances of an identical set, reports it and logs the event. It
// is called with p.mu held and releases it only around the kernel's work.
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
		p.skipped(rep, ReasonUnreadable, err)
		return
	}
	defer release(rep, sf)
	if p.o.Defrag && rep.vol.Writable && !p.o.DryRun {
		p.defrag(src, rep, sf, size)
	}
	dests := p.destinations(set, src)
	p.mu.Unlock()
	fr := p.freeable(set, src, dests)
	p.mu.Lock()
	done := p.shareInto(sf, size, dests)
	p.record(size, set, src, rep, done, fr, b)
}

// defrag rewrites the source before it is shared (--defrag).
func (p *pass) defrag(src *instance, rep *file, sf *os.File, size uint64) {
	p.mu.Unlock()
	err := btrfs.Defrag(sf)
	p.mu.Lock()
	if err != nil {
		p.skipped(rep, ReasonRefused, err)
	} else if ext, err := btrfs.Fiemap(sf); err == nil {
		src.print = Print(ext, size)
		for _, f := range src.files {
			f.print = src.print
		}
	}
}

// destinations lists the files of a set that may receive the source's
// extents. Files of read-only volumes are left as they are and stay
// flagged, so that a later run that may write into their subvolume (named,
// or --include-frozen) takes them up; immutable files are skipped.
func (p *pass) destinations(set []*instance, src *instance) []*file {
	var dests []*file
	for _, in := range set {
		if in == src {
			continue
		}
		for _, f := range in.files {
			switch {
			case !f.vol.Writable:
				p.stats.KeptReadOnly++
				f.keepFlag = true
			case f.immut:
				p.skipped(f, ReasonImmutable, nil)
			default:
				dests = append(dests, f)
			}
		}
	}
	return dests
}

// shareInto asks the kernel to share the first size bytes of sf into the
// destinations, up to MaxDedupeDests per call, and returns those that now
// share them. Under DryRun it asks nothing and returns every destination
// that could be opened.
func (p *pass) shareInto(sf *os.File, size uint64, dests []*file) []*file {
	var done []*file
	for len(dests) > 0 {
		batch := dests[:min(len(dests), btrfs.MaxDedupeDests)]
		dests = dests[len(batch):]
		var open []btrfs.DedupeDest
		var which []*file
		for _, f := range batch {
			h, err := p.handle(f)
			if err != nil {
				f.keepFlag = !gone(err)
				p.skipped(f, ReasonUnreadable, err)
				continue
			}
			if p.o.DryRun {
				release(f, h)
				done = append(done, f)
				continue
			}
			open = append(open, btrfs.DedupeDest{File: h})
			which = append(which, f)
		}
		if len(open) == 0 {
			continue
		}
		p.mu.Unlock() // the long part: the kernel reads and compares
		res := btrfs.Dedupe(sf, 0, size, open)
		p.mu.Lock()
		calls := 0
		for i, r := range res {
			f := which[i]
			release(f, open[i].File)
			calls = max(calls, r.Calls) // one ioctl per chunk serves the whole batch
			switch r.Status {
			case btrfs.DedupeSame:
				done = append(done, f)
			case btrfs.DedupeDiffers:
				f.keepFlag = true
				p.skipped(f, ReasonChanged, nil)
			default:
				reason := reasonFor(r.Err)
				f.keepFlag = retryLater(reason)
				p.skipped(f, reason, r.Err)
			}
		}
		p.stats.DedupeCalls += calls
	}
	return done
}

// record accounts for the destinations that now share the source (or
// would, under DryRun): counts, their new extent prints, the bytes freed,
// the Shared event and the database's log entry.
func (p *pass) record(size uint64, set []*instance, src *instance, rep *file, done []*file, fr freeable, b *store.Batch) {
	if len(done) == 0 {
		return
	}
	ok := map[*file]bool{}
	users := map[fileKey]bool{}
	event := []store.EventInode{{VolID: rep.m.VolID, Ino: rep.m.Ino}}
	for _, f := range done {
		ok[f] = true
		users[keyOf(f)] = true
		if !p.o.DryRun {
			p.shared = append(p.shared, f)
		}
		event = append(event, store.EventInode{VolID: f.m.VolID, Ino: f.m.Ino})
	}
	p.stats.FilesShared += len(done)
	p.stats.BytesDeduped += int64(size) * int64(len(done))
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
		if all {
			in.print, in.hash = src.print, src.hash
		}
	}
	freed := fr.freed(users)
	p.stats.BytesFreed += freed
	b.Event(p.fsID, size, uint64(freed), event)
	if p.o.Events == nil {
		return
	}
	e := Shared{Size: size, Source: p.ref(rep, p.o.ResolvePaths), BytesFreed: freed, DryRun: p.o.DryRun}
	e.BytesShared = int64(size) * int64(len(done))
	for _, f := range done {
		e.Dests = append(e.Dests, p.ref(f, p.o.ResolvePaths))
	}
	p.emit(e)
}
