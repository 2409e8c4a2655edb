package dedupe

import (
	"context"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/store"
)

// The dedup history must not miss a share, whenever the process dies. A
// share is made by the kernel before bedup can record it, so recording
// after the fact always leaves a gap; instead each window logs what it is
// about to share before its first FIDEDUPERANGE (one transaction per
// window: store.LogIntents), and the window's results commit turns each
// intent into its history event (Batch.IntentDone, same transaction). A run
// killed in between leaves intents behind; the next run over the
// filesystem asks FIEMAP which of their destinations share the source and
// logs exactly those (reconcile). The cost: one small transaction per
// window, and at the start of a run one query.

// logIntents logs the planned shares of a window before any of them is
// made (not under DryRun: nothing is shared).
func (p *pass) logIntents(ctx context.Context, groups []*group) error {
	if p.o.DryRun {
		return nil
	}
	var intents []store.Intent
	var plans []*plan
	for _, g := range groups {
		for _, pl := range g.plans {
			rep := pl.src.rep
			if rep == nil {
				rep = pl.src.files[0]
			}
			in := store.Intent{FSID: p.fsID, Size: g.size, Freed: uint64(pl.freed)}
			for _, f := range append([]*file{rep}, pl.dests...) {
				in.Inodes = append(in.Inodes, store.IntentInode{VolID: f.m.VolID, Ino: f.m.Ino, Generation: f.m.Generation})
			}
			intents = append(intents, in)
			plans = append(plans, pl)
		}
	}
	if len(intents) == 0 {
		return nil
	}
	ids, err := p.db.LogIntents(ctx, intents)
	if err != nil {
		return err
	}
	for i, pl := range plans {
		pl.intent = ids[i]
	}
	p.hook(HookIntents)
	return nil
}

// reconcile records the shares of the intents an interrupted run left:
// the destinations that now share the source's extents. What the share
// freed is known only if every destination shares (else 0: never more
// than was freed).
func (p *pass) reconcile(ctx context.Context) error {
	if p.o.DryRun || p.top == nil {
		return nil
	}
	pending, err := p.db.PendingIntents(ctx, p.fsID)
	if err != nil {
		return err
	}
	for _, in := range pending {
		shared := p.sharedNow(in.Intent)
		var freed uint64
		if len(shared) == len(in.Inodes) {
			freed = in.Freed
		}
		if err := p.db.ResolveIntent(ctx, in.ID, shared, freed); err != nil {
			return err
		}
	}
	return nil
}

// sharedNow returns the source of an intent and the destinations that
// share its extents now, or nothing when the source is gone.
func (p *pass) sharedNow(in store.Intent) []store.EventInode {
	open := func(f store.IntentInode) []btrfs.Extent {
		if f.VolID == 0 {
			return nil
		}
		h, err := btrfs.OpenByHandle(p.top, f.RootID, f.Ino, f.Generation)
		if err != nil {
			return nil
		}
		defer h.Close()
		st, err := btrfs.Fstat(h)
		if err != nil || uint64(st.Size) != in.Size {
			return nil
		}
		ext, err := btrfs.Fiemap(h)
		if err != nil {
			return nil
		}
		return ext
	}
	src := open(in.Inodes[0])
	if src == nil {
		return nil
	}
	shared := []store.EventInode{{VolID: in.Inodes[0].VolID, Ino: in.Inodes[0].Ino}}
	for _, d := range in.Inodes[1:] {
		if ext := open(d); ext != nil && btrfs.SharesExtents(src, ext, in.Size) {
			shared = append(shared, store.EventInode{VolID: d.VolID, Ino: d.Ino})
		}
	}
	return shared
}
