package scan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/volume"
)

// walker handles the items of one scan, in key order: an inode's
// INODE_ITEM comes first, then its INODE_REF and INODE_EXTREF items.
type walker struct {
	v       *volume.Volume
	w       *store.ScanWriter
	o       Options
	r       *Result
	scanned bool   // a scan of the volume completed before: not a fresh one
	lastGen uint64 // the generation it reached
	bandEnd uint64 // files below this size are new to a lowered cutoff
	calls   int    // tree searches of its own (an inode's refs)
	cur     refs   // the inode whose parents are being collected
	// changedDirs are the directories an incremental scan saw changed.
	changedDirs []uint64
	// pending is the row of the candidate whose items are being read,
	// written once they end: its EXTENT_DATA items, after its refs, tell
	// whether its data is inline.
	pending    store.InodeRow
	hasPending bool
}

// refs collects the parent directories of one inode from its ref items.
type refs struct {
	active  bool
	dir     bool
	ino     uint64
	nlink   uint32
	names   int
	parents []uint64
}

// walk handles every item of the search, then what needs the whole walk.
func (wk *walker) walk(ctx context.Context, s *btrfs.Search) error {
	r := wk.r
	for s.Next() {
		r.Items++
		if r.Items%8192 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if wk.o.Progress != nil {
				r.Calls = s.Calls + wk.calls
				wk.o.Progress(*r)
			}
		}
		if err := wk.item(s.Item()); err != nil {
			return err
		}
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("%s: %w", wk.v.Desc, err)
	}
	if err := wk.endPending(); err != nil {
		return err
	}
	if err := wk.endParents(); err != nil {
		return err
	}
	return wk.deletedSubdirs()
}

func (wk *walker) item(it btrfs.Item) error {
	if wk.hasPending && it.Key.ObjectID != wk.pending.Ino {
		if err := wk.endPending(); err != nil {
			return err
		}
	}
	if wk.cur.active && (it.Key.ObjectID != wk.cur.ino || it.Key.Type > btrfs.InodeExtrefKey) {
		if err := wk.endParents(); err != nil {
			return err
		}
	}
	switch it.Key.Type {
	case btrfs.InodeItemKey:
		wk.r.Inodes++
		return wk.inode(it)
	case btrfs.InodeRefKey, btrfs.InodeExtrefKey:
		if wk.cur.active && it.Key.ObjectID == wk.cur.ino {
			return wk.cur.add(it)
		}
	case btrfs.ExtentDataKey:
		if wk.hasPending && it.Key.ObjectID == wk.pending.Ino && it.Key.Offset == 0 {
			wk.pending.Inline = allInline(it.Data, wk.pending.Size)
		}
	}
	return nil // the key range is compound: other items come along
}

// allInline reports whether the EXTENT_DATA item at offset 0 of a file of
// size bytes holds all of its data inline. An incremental scan may not
// see the item (its leaf was not rewritten): the file is then flagged,
// and the dedup step finds out.
func allInline(data []byte, size uint64) bool {
	e, err := btrfs.DecodeFileExtentItem(data)
	return err == nil && e.Type == btrfs.FileExtentInline && e.RAMBytes >= size
}

// endPending writes the row of the candidate whose items have ended.
func (wk *walker) endPending() error {
	if !wk.hasPending {
		return nil
	}
	wk.hasPending = false
	return wk.w.Upsert(wk.pending)
}

// inode handles an INODE_ITEM: a candidate is recorded or dropped, and the
// parents of a changed directory or candidate are collected from the ref
// items that follow. A deleted directory (no links) gets no parents.
func (wk *walker) inode(it btrfs.Item) error {
	ii, err := btrfs.DecodeInodeItem(it.Data)
	if err != nil {
		return fmt.Errorf("%s: inode %d: %w", wk.v.Desc, it.Key.ObjectID, err)
	}
	ino := it.Key.ObjectID
	// Everything is new to a first scan (mkfs --rootdir writes transid 0).
	// Any change of an inode's names (link, unlink, rename) rewrites its
	// INODE_ITEM with a new transid, so an unchanged inode kept its parents.
	changed := !wk.scanned || ii.Transid > wk.lastGen
	switch {
	case ii.IsDir():
		if changed {
			wk.collect(ino, ii.Nlink, true)
		}
	case !ii.IsRegular() || wk.o.Exclude[ino]:
	case ii.Nlink == 0 || ii.Size < wk.r.Cutoff:
		// Unlinked, or now too small. Only a changed inode can have a
		// row to drop (unless this is the first scan: no rows yet); its
		// parent rows go with it.
		if wk.scanned && changed {
			dropped, err := wk.w.Delete(ino)
			if err != nil {
				return err
			}
			if dropped {
				wk.r.Dropped++
			}
		}
	case changed || ii.Size < wk.bandEnd:
		wk.pending = store.InodeRow{Ino: ino, Size: ii.Size, Generation: ii.Generation, Transid: ii.Transid}
		wk.hasPending = true
		wk.collect(ino, ii.Nlink, false)
	}
	return nil
}

// collect starts collecting the parents of ino, a directory or a
// candidate, from the items that follow.
func (wk *walker) collect(ino uint64, nlink uint32, dir bool) {
	wk.cur = refs{active: true, ino: ino, nlink: nlink, dir: dir, parents: wk.cur.parents[:0]}
}

// add takes the parents of one INODE_REF or INODE_EXTREF item.
func (c *refs) add(it btrfs.Item) error {
	if it.Key.Type == btrfs.InodeRefKey {
		names, err := btrfs.DecodeInodeRefs(it.Data)
		if err != nil {
			return fmt.Errorf("inode %d: %w", c.ino, err)
		}
		c.names += len(names)
		c.parents = append(c.parents, it.Key.Offset) // the directory
		return nil
	}
	ext, err := btrfs.DecodeInodeExtrefs(it.Data)
	if err != nil {
		return fmt.Errorf("inode %d: %w", c.ino, err)
	}
	for _, e := range ext {
		c.names++
		c.parents = append(c.parents, e.Parent)
	}
	return nil
}

// endParents records the parents collected for the current inode. The
// search returns whole leaves, and an inode's ref items may lie in a leaf
// that was not rewritten: when fewer names came back than the inode has
// links, its refs are read on their own.
func (wk *walker) endParents() error {
	c := &wk.cur
	if !c.active {
		return nil
	}
	c.active = false
	if c.names < int(c.nlink) {
		if err := wk.readRefs(c); err != nil {
			return err
		}
	}
	if !c.dir {
		return wk.w.SetParents(c.ino, c.parents)
	}
	if err := wk.w.SetDirParents(c.ino, c.parents); err != nil {
		return err
	}
	switch {
	case !wk.scanned:
	case c.nlink == 0: // deleted, still seen
		return wk.w.DropTree(c.ino)
	default:
		wk.changedDirs = append(wk.changedDirs, c.ino)
	}
	return nil
}

// deletedSubdirs forgets the subtrees of the recorded subdirectories of
// the changed directories that no longer exist. A deleted directory's
// items vanish from the tree, so no search returns them; but removing it
// changed its parent. It runs after the walk, when every changed inode
// has its new parents: a subdirectory still recorded below a changed
// directory either is there, or is gone (one lookup each; directories
// seen changed are there).
func (wk *walker) deletedSubdirs() error {
	if len(wk.changedDirs) == 0 {
		return nil
	}
	seen := make(map[uint64]bool, len(wk.changedDirs))
	for _, d := range wk.changedDirs {
		seen[d] = true
	}
	subs, err := wk.w.Subdirs(wk.changedDirs)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if seen[sub] {
			continue
		}
		wk.calls++
		ii, err := btrfs.InodeItemOf(wk.v.Dir, wk.v.ID, sub)
		switch {
		case errors.Is(err, fs.ErrNotExist) || err == nil && ii.Nlink == 0:
			if err := wk.w.DropTree(sub); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("%s: directory %d: %w", wk.v.Desc, sub, err)
		}
	}
	return nil
}

// readRefs reads every INODE_REF and INODE_EXTREF item of c's inode.
func (wk *walker) readRefs(c *refs) error {
	*c = refs{ino: c.ino, nlink: c.nlink, dir: c.dir, parents: c.parents[:0]}
	s := btrfs.NewSearch(wk.v.Dir, btrfs.SearchRange{
		Min: btrfs.Key{ObjectID: c.ino, Type: btrfs.InodeRefKey},
		Max: btrfs.Key{ObjectID: c.ino, Type: btrfs.InodeExtrefKey, Offset: ^uint64(0)},
	}, 16<<10)
	for s.Next() {
		if err := c.add(s.Item()); err != nil {
			return fmt.Errorf("%s: %w", wk.v.Desc, err)
		}
	}
	wk.calls += s.Calls
	if err := s.Err(); err != nil {
		return fmt.Errorf("%s: parents of inode %d: %w", wk.v.Desc, c.ino, err)
	}
	return nil
}
