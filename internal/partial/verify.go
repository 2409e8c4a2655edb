package partial

import (
	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/store"
)

// verify learns, from the destination's extent items after the work, what
// it freed (the planned extents it no longer uses: it was their only user)
// less what the rewrite allocated (the temporary file's extents it now
// uses), and whether its blocks live exactly where the work put them.
func (p *pass) verify(w *work) {
	if len(w.shared) == 0 && len(w.rewritten) == 0 {
		return
	}
	btrfs.Fiemap(w.h) // flushes a writer's data, so that the items show it
	now, err := btrfs.FileExtents(p.top, w.d.vol.V.ID, w.d.m.Ino)
	if err != nil {
		return
	}
	items := itemsOf(now)
	inUse := map[uint64]bool{}
	for _, it := range items {
		inUse[it.bytenr] = true
	}
	var freed, alloc int64
	for _, u := range w.plan.extents {
		if !inUse[u.bytenr] {
			freed += int64(u.disk)
		}
	}
	for b, size := range w.tmpExt {
		if inUse[b] {
			alloc += int64(size)
		}
	}
	w.freed = freed - alloc
	w.verified = !w.lost && sameLayout(layoutOf(items), w.layout)
}

// toRecord is a destination whose new transid is recorded once committed.
type toRecord struct {
	f         *fileInfo
	before    dedupe.ExtentPrint
	layout    []seg
	untouched bool
}

// report counts a destination's work, reports it and logs it; a verified
// copy-on-write destination is queued for recordShared. Under DryRun it
// reports the plan.
func (p *pass) report(w *work) {
	runs, rewrites, freed := w.shared, w.rewritten, w.freed
	if p.o.DryRun {
		runs, rewrites, freed = w.plan.shares, w.plan.rewrites, int64(w.plan.freed)-int64(w.plan.rewrite)
	}
	if len(runs) == 0 {
		if w.changed {
			p.skipped(w.d, dedupe.ReasonChanged, nil)
		}
		return
	}
	size := w.d.m.Size
	e := FileShared{Size: size, BytesFreed: freed, DryRun: p.o.DryRun, Changed: w.changed}
	srcRefs := map[int64]dedupe.FileRef{}
	inodes := []store.EventInode{}
	for _, m := range runs {
		ref, ok := srcRefs[m.src]
		if !ok {
			s := w.srcs[m.src].f
			ref = p.ref(s, p.o.ResolvePaths)
			srcRefs[m.src] = ref
			inodes = append(inodes, store.EventInode{VolID: s.m.VolID, Ino: s.m.Ino})
		}
		n := byteLen(m.d, m.n, size)
		e.Runs = append(e.Runs, SharedRun{Source: ref, SourceOffset: m.s * BlockSize, Offset: m.d * BlockSize, Length: n})
		e.BytesShared += int64(n)
	}
	for _, r := range rewrites {
		e.BytesRewritten += int64(byteLen(r[0], r[1]-r[0], size))
	}
	p.stats.FilesShared++
	p.stats.BytesShared += e.BytesShared
	p.stats.BytesRewritten += e.BytesRewritten
	p.stats.BytesFreed += freed
	if !p.o.DryRun {
		inodes = append(inodes, store.EventInode{VolID: w.d.m.VolID, Ino: w.d.m.Ino})
		p.batch.Event(p.fsID, size, uint64(max(freed, 0)), inodes)
		if w.verified && !w.d.nocow {
			p.pending = append(p.pending, toRecord{f: w.d, before: w.before, layout: w.layout, untouched: w.untouched})
		}
	}
	if p.o.Events != nil {
		e.File = p.ref(w.d, p.o.ResolvePaths)
		p.emit(e)
	}
}

// recordShared commits the filesystem and records, for each verified
// destination whose blocks still live exactly where bedup put them, its
// new transid and extent map with its keys (its content did not change).
// When nobody had touched the inode since the scan, the tracked inode gets
// that transid too (so the next scan does not take bedup's work for a
// change) and its whole-file fingerprint moves along; otherwise the next
// scan flags it as usual. A NOCOW destination is never recorded: a write
// in place would not show in its layout.
func (p *pass) recordShared(b *store.IndexBatch) {
	if len(p.pending) == 0 {
		return
	}
	defer func() { p.pending = nil }()
	if err := btrfs.Syncfs(p.top); err != nil {
		return
	}
	for _, r := range p.pending {
		f := r.f
		ii, err := btrfs.InodeItemOf(p.top, f.vol.V.ID, f.m.Ino)
		if err != nil || ii.Generation != f.m.Generation {
			continue
		}
		now, err := btrfs.FileExtents(p.top, f.vol.V.ID, f.m.Ino)
		if err != nil || !sameLayout(layoutOf(itemsOf(now)), r.layout) {
			continue
		}
		h, err := p.open(f)
		if err != nil {
			continue
		}
		ext, err := btrfs.Fiemap(h)
		h.Close()
		if err != nil {
			continue
		}
		after := dedupe.Print(ext, f.m.Size)
		if r.untouched {
			b.InodeShared(f.m.VolID, f.m.Ino, ii.Transid, r.before, after)
		}
		b.Matched(f.m.VolID, f.m.Ino, ii.Transid, after)
	}
}
