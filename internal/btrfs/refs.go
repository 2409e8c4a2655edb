package btrfs

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FileExtent is one EXTENT_DATA item of a file: which part of which data
// extent holds the file's bytes from FileOffset on.
type FileExtent struct {
	FileOffset uint64 // the item's key offset: where in the file it starts
	FileExtentItem
}

// fileExtentsBuf is the search buffer of FileExtents: 16 KiB holds about
// 190 items (85 bytes each with the search header), most files in one call.
const fileExtentsBuf = 16 << 10

// FileExtents reads the file extent items of inode ino in subvolume tree
// (0 = the subvolume f is in) with TREE_SEARCH_V2, in file order: the
// on-disk extents (DiskBytenr, DiskNumBytes: the compressed size for a
// compressed extent) behind the file's data. Holes have DiskBytenr 0;
// inline items have none. Only committed items are seen. Needs
// CAP_SYS_ADMIN.
func FileExtents(f *os.File, tree, ino uint64) ([]FileExtent, error) {
	s := NewSearch(f, SearchRange{
		TreeID: tree,
		Min:    Key{ObjectID: ino, Type: ExtentDataKey},
		Max:    Key{ObjectID: ino, Type: ExtentDataKey, Offset: ^uint64(0)},
	}, fileExtentsBuf)
	defer s.free()
	var out []FileExtent
	for s.Next() {
		it := s.Item()
		if it.Key.ObjectID != ino || it.Key.Type != ExtentDataKey {
			continue
		}
		e, err := DecodeFileExtentItem(it.Data)
		if err != nil {
			return nil, fmt.Errorf("extents of inode %d in tree %d: offset %d: %w", ino, tree, it.Key.Offset, err)
		}
		out = append(out, FileExtent{FileOffset: it.Key.Offset, FileExtentItem: e})
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("extents of inode %d in tree %d: %w", ino, tree, err)
	}
	return out, nil
}

// InodeExtents reads inode ino of subvolume tree (0 = the subvolume f is
// in) in one TREE_SEARCH_V2: its inode item and its file extent items, in
// file order (see FileExtents). What lies between them in the tree
// (names, extended attributes) is skipped. An inode that is gone gives an
// error wrapping ENOENT. Needs CAP_SYS_ADMIN.
func InodeExtents(f *os.File, tree, ino uint64) (InodeItem, []FileExtent, error) {
	s := NewSearch(f, SearchRange{
		TreeID: tree,
		Min:    Key{ObjectID: ino, Type: InodeItemKey},
		Max:    Key{ObjectID: ino, Type: ExtentDataKey, Offset: ^uint64(0)},
	}, fileExtentsBuf)
	defer s.free()
	var ii InodeItem
	found := false
	var out []FileExtent
	for s.Next() {
		it := s.Item()
		if it.Key.ObjectID != ino {
			continue
		}
		var err error
		switch it.Key.Type {
		case InodeItemKey:
			ii, err = DecodeInodeItem(it.Data)
			found = err == nil
		case ExtentDataKey:
			var e FileExtentItem
			if e, err = DecodeFileExtentItem(it.Data); err == nil {
				out = append(out, FileExtent{FileOffset: it.Key.Offset, FileExtentItem: e})
			}
		}
		if err != nil {
			return InodeItem{}, nil, fmt.Errorf("inode %d of tree %d: key %d: %w", ino, tree, it.Key.Type, err)
		}
	}
	if err := s.Err(); err != nil {
		return InodeItem{}, nil, fmt.Errorf("inode %d of tree %d: %w", ino, tree, err)
	}
	if !found {
		return InodeItem{}, nil, fmt.Errorf("inode %d of tree %d: %w", ino, tree, unix.ENOENT)
	}
	return ii, out, nil
}

// logicalInoArgs mirrors struct btrfs_ioctl_logical_ino_args (56 bytes on
// 64-bit systems).
type logicalInoArgs struct {
	Logical uint64
	Size    uint64
	_       [3]uint64
	Flags   uint64
	// Inodes points to a struct btrfs_data_container: a pointer, so that it
	// follows the buffer if the stack moves (see inoPathArgs).
	Inodes unsafe.Pointer
}

// iocLogicalInoV2 is _IOWR(0x94, 59, struct btrfs_ioctl_logical_ino_args).
const iocLogicalInoV2 = 0xC038943B

// logicalInoIgnoreOffset (BTRFS_LOGICAL_INO_ARGS_IGNORE_OFFSET) asks for
// every reference to the extent, not only those covering the exact byte.
const logicalInoIgnoreOffset = 1

// Answer sizes of LOGICAL_INO_V2: most extents have a few references; the
// kernel takes at most 16 MiB.
const (
	extentRefsFirst = 4 << 10
	extentRefsMax   = 16 << 20
)

// ExtentRef is one reference to a data extent: inode Ino of subvolume Root
// uses it at file offset Offset (the offset the extent's start would have
// in the file: file position minus the item's offset into the extent).
type ExtentRef struct {
	Ino, Offset, Root uint64
}

// ExtentRefs returns every reference to the data extent that holds the
// logical address bytenr (a file extent item's DiskBytenr), through every
// subvolume, snapshots sharing b-tree leaves included: LOGICAL_INO_V2 with
// IGNORE_OFFSET. complete is false when even the largest answer the kernel
// gives could not hold them all. f is any file of the filesystem. Needs
// CAP_SYS_ADMIN.
func ExtentRefs(f *os.File, bytenr uint64) (refs []ExtentRef, complete bool, err error) {
	for size := extentRefsFirst; ; size *= 4 {
		mem := make([]uint64, size/8)
		args := &logicalInoArgs{
			Logical: bytenr,
			Size:    uint64(size),
			Flags:   logicalInoIgnoreOffset,
			Inodes:  unsafe.Pointer(&mem[0]),
		}
		err := fileIoctl(f, iocLogicalInoV2, unsafe.Pointer(args))
		buf := unsafe.Slice((*byte)(unsafe.Pointer(&mem[0])), size)
		if err != nil {
			return nil, false, fmt.Errorf("references of extent %d: %w", bytenr, err)
		}
		refs, missed, err := decodeExtentRefs(buf)
		if err != nil {
			return nil, false, fmt.Errorf("references of extent %d: %w", bytenr, err)
		}
		if missed == 0 || size >= extentRefsMax {
			return refs, missed == 0, nil
		}
	}
}

// decodeExtentRefs decodes a struct btrfs_data_container filled by
// LOGICAL_INO: a 16-byte header (bytes_left, bytes_missing, elem_cnt,
// elem_missed) and elem_cnt u64 values, three per reference (inode,
// offset, root). It returns the references and how many values were left
// out.
func decodeExtentRefs(b []byte) ([]ExtentRef, int, error) {
	const hdr = 16
	if len(b) < hdr {
		return nil, 0, errShort("extent refs container", len(b), hdr)
	}
	cnt, missed := int(le32(b, 8)), int(le32(b, 12))
	val := b[hdr:]
	if cnt < 0 || cnt > len(val)/8 || cnt%3 != 0 {
		return nil, 0, fmt.Errorf("extent refs container: %d values do not make references in %d bytes", cnt, len(val))
	}
	refs := make([]ExtentRef, 0, cnt/3)
	for i := 0; i < cnt; i += 3 {
		refs = append(refs, ExtentRef{Ino: le64(val, 8*i), Offset: le64(val, 8*i+8), Root: le64(val, 8*i+16)})
	}
	return refs, missed, nil
}
