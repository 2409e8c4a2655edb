// Package findnew lists what changed in a subvolume since a generation, as
// the original bedup's find-new did: the raw b-tree items of every leaf
// written since then, or (terse) the paths of files whose data changed.
package findnew

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bedup/bedup/internal/btrfs"
)

// search returns the tree search find-new walks: every item of the
// subvolume up to EXTENT_DATA, from leaves written in or after gen.
func search(vol *os.File, gen uint64) *btrfs.Search {
	return btrfs.NewSearch(vol, btrfs.SearchRange{
		Max:        btrfs.Key{ObjectID: ^uint64(0), Type: btrfs.ExtentDataKey, Offset: ^uint64(0)},
		MinTransid: gen,
	}, 0)
}

// Record is one b-tree item as find-new lists it (SPEC §8.1): its key,
// payload length and the transid of the leaf it was found in, plus what
// its payload says for the types the original decoded.
type Record struct {
	Type        uint8
	ObjectID    uint64 // the inode (or directory) the item belongs to
	Len         int    // payload bytes
	LeafTransid uint64 // gen0: the transid of the leaf holding the item
	// Decoded is set when the payload of an inode, extent, inode-ref or
	// dir item decoded; the fields below are then meaningful for its type.
	Decoded bool
	// Gen1: an inode's creation generation, an extent's generation, a dir
	// item's transid.
	Gen1    uint64
	Name    string // inode-ref and dir items: the (first) name, raw bytes
	DirType uint8  // dir items: the type of the entry
}

// Items calls fn with the record of every item in leaves of the subvolume
// written in or after generation gen.
func Items(ctx context.Context, vol *os.File, gen uint64, fn func(Record) error) error {
	s := search(vol, gen)
	for s.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(Decode(s.Item())); err != nil {
			return err
		}
	}
	return s.Err()
}

// Decode makes one item's record. Items whose payload does not decode
// keep only their key, length and leaf transid.
func Decode(it btrfs.Item) Record {
	k := it.Key
	r := Record{Type: k.Type, ObjectID: k.ObjectID, Len: len(it.Data), LeafTransid: it.Transid}
	switch k.Type {
	case btrfs.ExtentDataKey:
		if e, err := btrfs.DecodeFileExtentItem(it.Data); err == nil {
			r.Decoded, r.Gen1 = true, e.Generation
		}
	case btrfs.InodeItemKey:
		if ii, err := btrfs.DecodeInodeItem(it.Data); err == nil {
			r.Decoded, r.Gen1 = true, ii.Generation
		}
	case btrfs.InodeRefKey:
		if refs, err := btrfs.DecodeInodeRefs(it.Data); err == nil && len(refs) > 0 {
			r.Decoded, r.Name = true, string(refs[0].Name)
		}
	case btrfs.DirItemKey, btrfs.DirIndexKey:
		if ds, err := btrfs.DecodeDirItems(it.Data); err == nil && len(ds) > 0 {
			r.Decoded, r.Gen1, r.DirType, r.Name = true, ds[0].Transid, ds[0].Type, string(ds[0].Name)
		}
	}
	return r
}

// Paths calls fn once with the path (relative to the subvolume root) of
// every file that has data written in or after generation gen, in inode
// order. Unlike the original, a file is listed once however many extents
// changed, and unchanged files that merely share a rewritten leaf are left
// out. Files deleted meanwhile are skipped.
func Paths(ctx context.Context, vol *os.File, gen uint64, fn func(path string) error) error {
	s := search(vol, gen)
	last := uint64(0)
	for s.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		it := s.Item()
		if it.Key.Type != btrfs.ExtentDataKey || it.Key.ObjectID == last {
			continue
		}
		e, err := btrfs.DecodeFileExtentItem(it.Data)
		if err != nil {
			return fmt.Errorf("inode %d: %w", it.Key.ObjectID, err)
		}
		if e.Generation < gen {
			continue
		}
		last = it.Key.ObjectID
		p, _, err := btrfs.InoLookup(vol, 0, it.Key.ObjectID)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted since the leaf was written
		}
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return s.Err()
}
