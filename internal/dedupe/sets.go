package dedupe

import (
	"os"
	"slices"
	"sort"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/store"
)

// plan is one identical set of a group and what to do with it: share
// the source's extents into the destinations.
type plan struct {
	set    []*instance
	src    *instance
	dests  []*file
	fr     freeable
	freed  int64 // what sharing into every destination frees
	intent int64 // id of its logged intent (0: none)
}

// step is one thing execute does, in order: report a file skipped (the
// reason was found while planning), or carry out a plan.
type step struct {
	skip   *file
	reason Reason
	plan   *plan
}

// plan finds the identical sets of a group, and for each its source, its
// destinations and what sharing them would free. What it finds is done
// (reported, shared) by execute, in order. It is called with p.mu held and
// releases it only around the kernel's work.
func (p *pass) plan(g *group) {
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
		k := key{hashKey(in.hash), nocow}
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
					g.steps = append(g.steps, step{skip: f, reason: ReasonNocowAlone})
				}
			}
		}
		if len(set) < 2 {
			continue
		}
		g.sets++
		src, roles := decide(set)
		pl := &plan{set: set, src: src}
		if pl.dests = p.destinations(g, set, roles); len(pl.dests) == 0 {
			continue
		}
		p.mu.Unlock()
		pl.fr = p.freeable(set, pl.src, pl.dests)
		p.mu.Lock()
		all := map[fileKey]bool{}
		for _, f := range pl.dests {
			all[keyOf(f)] = true
		}
		pl.freed = pl.fr.freed(all)
		g.plans = append(g.plans, pl)
		g.steps = append(g.steps, step{plan: pl})
	}
}

// execute carries out a group's plans, then records the group.
func (p *pass) execute(g *group, b *store.Batch) {
	if g.executed || g.done {
		g.executed = true
		return
	}
	g.executed = true
	for _, s := range g.steps {
		if s.plan == nil {
			p.skipped(s.skip, s.reason, nil)
			continue
		}
		p.sharePlan(g.size, s.plan, b)
		if s.plan.intent != 0 {
			b.IntentDone(s.plan.intent)
		}
	}
	// Halted on the way (a destination was kept for the halt): the group
	// stays as flagged as it was. A halt another lane met while this
	// group's shares all went through leaves it done.
	g.cut = p.halted != "" && slices.ContainsFunc(g.files, func(f *file) bool { return f.deferred })
	if g.cut {
		for _, f := range g.files {
			f.keepFlag = f.keepFlag || f.m.Flagged
		}
	}
	p.finish(g, b)
	p.remember(g, b)
}

// leave records a group that was examined but not shared (the pass was
// interrupted or halted): what was learnt is kept, and so is every flag,
// so the next run takes the group up again.
func (p *pass) leave(g *group, b *store.Batch) {
	if g.executed || g.done {
		return
	}
	g.executed = true
	for _, s := range g.steps {
		switch {
		case s.plan == nil:
			p.skipped(s.skip, s.reason, nil)
		case s.plan.intent != 0:
			b.IntentDone(s.plan.intent)
		}
	}
	for _, f := range g.files {
		f.keepFlag = f.keepFlag || f.m.Flagged
	}
	p.finish(g, b)
}

// sharePlan shares the plan's source into its destinations, reports it
// and logs the event. It is called with p.mu held and releases it only
// around the kernel's work. When the source cannot be opened, the
// destinations are kept for the next run (the source is named once).
func (p *pass) sharePlan(size uint64, pl *plan, b *store.Batch) {
	src := pl.src
	rep := src.rep
	if rep == nil {
		rep = src.files[0]
	}
	sf, err := p.handleLocked(rep)
	if err != nil {
		if gone(err) {
			rep.skip = reasonGone
		} else {
			p.skipped(rep, readFailure(err), err)
		}
		for _, f := range pl.dests {
			f.keepFlag = true
			f.deferred = f.deferred || !gone(err)
		}
		return
	}
	defer release(rep, sf)
	if p.o.Defrag && rep.vol.Writable && !p.o.DryRun {
		p.defrag(src, rep, sf, size)
	}
	done, differ, ioerr := p.shareInto(sf, rep, size, pl.dests, src.csum)
	if len(ioerr) > 0 {
		p.blameIO(size, src, rep, sf, ioerr)
	}
	for _, f := range differ {
		// A file changed after it was read is flagged by the next scan;
		// but a stored fingerprint that led here may be stale (see
		// stillHolds): either side's is forgotten.
		src.suspect = src.suspect || src.stored
		f.inst.suspect = f.inst.suspect || f.inst.stored || f.inst.csum
	}
	p.record(size, pl, rep, done, b)
}

// defrag rewrites the source before it is shared (--defrag).
func (p *pass) defrag(src *instance, rep *file, sf *os.File, size uint64) {
	p.mu.Unlock()
	err := btrfs.Defrag(sf)
	var ext []btrfs.Extent
	var ferr error
	if err == nil {
		ext, ferr = btrfs.Fiemap(sf)
	}
	p.mu.Lock()
	if err != nil {
		p.skipped(rep, ReasonRefused, err)
	} else if ferr == nil {
		src.print = Print(ext, size)
		for _, f := range src.files {
			f.print = src.print
		}
	}
}

// shareInto asks the kernel to share the first size bytes of sf (the
// source file rep) into the destinations, up to MaxDedupeDests per call,
// and returns those that now share them, and those the kernel found
// different. Destinations with the source's holes are asked for its data
// ranges only (see holes.go). Under DryRun it asks nothing and returns
// every destination that could be opened. A read-only or full filesystem
// halts the pass: the destinations it refused, and those not yet asked,
// are kept silently.
//
// With csum (the source was never read), a destination of a csum-printed
// instance the kernel failed with an I/O error is returned in ioerr and
// not reported: the error may be the source's (see blameIO).
func (p *pass) shareInto(sf *os.File, rep *file, size uint64, dests []*file, csum bool) (done, differ []*file, ioerr []ioFailure) {
	whole := [][2]uint64{{0, size}}
	if rep.data != nil {
		// Those with the source's holes first, by its data ranges.
		dests = slices.Clone(dests)
		sort.SliceStable(dests, func(i, j int) bool { return sameHoles(rep, dests[i]) && !sameHoles(rep, dests[j]) })
	}
	for len(dests) > 0 {
		ranges := whole
		n := min(len(dests), btrfs.MaxDedupeDests)
		if sameHoles(rep, dests[0]) {
			ranges = rep.data
			n = 1
			for n < min(len(dests), btrfs.MaxDedupeDests) && sameHoles(rep, dests[n]) {
				n++
			}
		}
		batch := dests[:n]
		dests = dests[len(batch):]
		var open []btrfs.DedupeDest
		var which []*file
		for _, f := range batch {
			if p.halted != "" {
				p.deferred(f, p.halted)
				continue
			}
			h, err := p.handleLocked(f)
			switch {
			case gone(err):
				f.skip = reasonGone
				continue
			case err != nil:
				p.skipped(f, readFailure(err), err)
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
		res := btrfs.DedupeRanges(sf, ranges, open)
		for i, f := range which {
			release(f, open[i].File)
		}
		p.mu.Lock()
		p.hook(HookDedupe)
		calls := 0
		for i, r := range res {
			f := which[i]
			calls = max(calls, r.Calls) // one ioctl per chunk serves the whole batch
			switch reason := reasonFor(r.Err); {
			case r.Status == btrfs.DedupeSame:
				done = append(done, f)
			case r.Status == btrfs.DedupeDiffers:
				p.skipped(f, ReasonChanged, nil)
				differ = append(differ, f)
			case halts(reason):
				p.halt(reason, r.Err)
				p.deferred(f, reason)
			case reason == ReasonIO && csum && f.inst.csum:
				ioerr = append(ioerr, ioFailure{f, r.Err})
			default:
				p.skipped(f, reason, r.Err)
			}
		}
		p.stats.DedupeCalls += calls
	}
	return done, differ, ioerr
}

// record accounts for the destinations that now share the source (or
// would, under DryRun): counts, their new extent prints, the bytes freed,
// the Shared event and the database's log entry.
func (p *pass) record(size uint64, pl *plan, rep *file, done []*file, b *store.Batch) {
	if len(done) == 0 {
		return
	}
	set, src := pl.set, pl.src
	ok := map[*file]bool{}
	users := map[fileKey]bool{}
	event := []store.EventInode{{VolID: rep.m.VolID, Ino: rep.m.Ino}}
	for _, f := range done {
		ok[f] = true
		users[keyOf(f)] = true
		if !p.o.DryRun {
			p.shared = append(p.shared, sharedDest{vol: f.vol, key: f.key(), generation: f.m.Generation, print: src.print})
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
			in.print, in.hash, in.csum = src.print, src.hash, src.csum
		}
	}
	freed := pl.fr.freed(users)
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
