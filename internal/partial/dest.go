package partial

import (
	"context"
	"os"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/dedupe"
)

// work is one destination being deduplicated.
type work struct {
	d      *fileInfo
	h      *os.File
	sigs   *sigSource
	srcs   map[int64]*source
	before dedupe.ExtentPrint // the destination's extent map when planned
	plan   plan
	layout []seg // where its blocks live: planned, then as predicted

	shared    []match           // runs the kernel shared
	rewritten [][2]uint64       // blocks rewritten
	tmp       *os.File          // the rewrite's temporary file, kept until verified
	tmpExt    map[uint64]uint64 // its extents: bytenr -> allocated size
	lost      bool              // something was shared in part: no layout prediction holds
	verified  bool              // the final layout is exactly the predicted one
	untouched bool              // the inode had not changed since the scan when planned
	freed     int64
	changed   bool // the kernel found different bytes: someone wrote
}

// source is one file a destination shares from.
type source struct {
	f      *fileInfo
	h      *os.File
	sigs   *sigSource
	layout []seg
}

func (w *work) close() {
	if w.tmp != nil {
		w.tmp.Close()
	}
	for _, s := range w.srcs {
		s.h.Close()
	}
	w.h.Close()
}

// testHookBeforeShare, when set by a test, runs between planning a
// destination and sharing into it: the window where another process may
// write into it.
var testHookBeforeShare func()

// destination plans the shares into d from the chunk runs found for it
// and carries them out.
func (p *pass) destination(ctx context.Context, d *fileInfo, runs []match) error {
	if len(runs) == 0 || p.done[d.m.ID] || !canReceive(d) || !d.m.Current() {
		return nil
	}
	p.done[d.m.ID] = true
	w, err := p.prepare(ctx, d, runs)
	if w == nil || err != nil {
		return err
	}
	defer w.close()
	p.stats.Destinations++
	if p.o.DryRun {
		p.report(w)
		return nil
	}
	if testHookBeforeShare != nil {
		testHookBeforeShare()
	}
	p.share(w)
	p.rewrite(w)
	p.verify(w)
	p.report(w)
	return nil
}

// prepare opens the destination and its sources, widens the runs block by
// block and plans. It returns nil when there is nothing worth doing, or
// when the destination changed since it was keyed.
func (p *pass) prepare(ctx context.Context, d *fileInfo, runs []match) (*work, error) {
	h, err := p.open(d)
	if err != nil {
		return nil, nil
	}
	w := &work{d: d, h: h, srcs: map[int64]*source{}}
	ok := false
	defer func() {
		if !ok {
			w.close()
		}
	}()
	ext, err := btrfs.Fiemap(h)
	if w.before = dedupe.Print(ext, d.m.Size); err != nil || !w.before.Equal(d.m.Print) && !d.nocow {
		return nil, nil // changed since it was keyed: the next scan sees it
	}
	if w.sigs, err = p.newSigSource(d, h); err != nil {
		return nil, nil
	}
	sides := map[int64]side{}
	for _, r := range runs {
		if w.srcs[r.src] == nil {
			if err := p.openSource(ctx, w, r.src); err != nil {
				return nil, err
			}
		}
		if s := w.srcs[r.src]; s != nil {
			sides[r.src] = side{size: s.f.m.Size, sig: s.sigs.sig}
		}
	}
	var usable []match
	for _, r := range runs {
		if w.srcs[r.src] != nil {
			usable = append(usable, r)
		}
	}
	matches := refine(usable, side{size: d.m.Size, sig: w.sigs.sig}, sides)
	items := itemsOf(w.sigs.items)
	ratio := p.o.RewriteRatio
	if d.vol.V.ReadOnly {
		ratio = 0 // no temporary file can be made in a read-only subvolume
	}
	w.plan = makePlan(items, matches, ratio, func(u *extentUse) bool { return p.exclusive(d, ext, u) })
	w.layout = layoutOf(items)
	if w.plan.empty() {
		return nil, nil
	}
	w.untouched = !p.o.DryRun && p.untouched(d)
	ok = true
	return w, nil
}

// openSource opens source id for a destination; a source that cannot be
// opened is left out (its runs are dropped).
func (p *pass) openSource(ctx context.Context, w *work, id int64) error {
	f, err := p.info(ctx, id)
	if err != nil || f == nil {
		return err
	}
	h, err := p.open(f)
	if err != nil {
		return nil
	}
	sigs, err := p.newSigSource(f, h)
	if err != nil {
		h.Close()
		return nil
	}
	w.srcs[id] = &source{f: f, h: h, sigs: sigs, layout: layoutOf(itemsOf(sigs.items))}
	return nil
}

// exclusive reports whether destination d is the only user of an extent:
// FIEMAP says nobody shares its blocks, or every reference LOGICAL_INO
// finds (snapshots included) is d's.
func (p *pass) exclusive(d *fileInfo, ext []btrfs.Extent, u *extentUse) bool {
	shared := false
	for _, e := range ext {
		for _, r := range u.refs {
			if e.Shared() && e.Logical < r[1]*BlockSize && r[0]*BlockSize < e.Logical+e.Length {
				shared = true
			}
		}
	}
	if !shared {
		return true
	}
	refs, complete, err := btrfs.ExtentRefs(p.top, u.bytenr)
	if err != nil || !complete || len(refs) == 0 {
		return false
	}
	for _, r := range refs {
		if r.Root != d.vol.V.ID || r.Ino != d.m.Ino {
			return false
		}
	}
	return true
}

// untouched reports whether the destination's inode is as the scan saw
// it: its committed transid is the one the scan recorded (the filesystem
// is committed once per page first, so a change made since shows, even an
// atime update). Only then may bedup record the transid its own work gives
// the inode, and spare the next scan and the whole-file pass a look.
func (p *pass) untouched(d *fileInfo) bool {
	if !p.synced {
		if err := btrfs.Syncfs(p.top); err != nil {
			return false
		}
		p.synced = true
	}
	ii, err := btrfs.InodeItemOf(p.top, d.vol.V.ID, d.m.Ino)
	return err == nil && ii.Generation == d.m.Generation && ii.Transid == d.m.Transid
}
