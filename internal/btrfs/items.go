package btrfs

import (
	"encoding/binary"
	"fmt"
)

// Item key types (linux/btrfs_tree.h).
const (
	InodeItemKey   = 1
	InodeRefKey    = 12
	InodeExtrefKey = 13
	XattrItemKey   = 24
	OrphanItemKey  = 48
	DirItemKey     = 84
	DirIndexKey    = 96
	ExtentDataKey  = 108
	ExtentCsumKey  = 128
	RootItemKey    = 132
	RootBackrefKey = 144
	RootRefKey     = 156
)

// Well-known object ids.
const (
	RootTreeObjectID  = 1
	FSTreeObjectID    = 5
	FirstFreeObjectID = 256
	// LastFreeObjectID is -256 as an unsigned 64-bit number: the highest id a
	// subvolume or inode can have.
	LastFreeObjectID = ^uint64(0) - 255
)

// RootSubvolRdonly is the read-only flag in a root item's flags.
const RootSubvolRdonly = 1

// Timespec is a Btrfs on-disk time (seconds since the epoch and nanoseconds).
type Timespec struct {
	Sec  uint64
	Nsec uint32
}

// InodeItem is the part of struct btrfs_inode_item that bedup uses.
type InodeItem struct {
	Generation uint64 // transaction that created the inode
	Transid    uint64 // transaction of the inode's last change
	Size       uint64
	Nbytes     uint64
	Nlink      uint32
	UID        uint32
	GID        uint32
	Mode       uint32
	Flags      uint64 // BTRFS_INODE_* flags (NODATASUM 1, NODATACOW 2, ...)
	Atime      Timespec
	Ctime      Timespec
	Mtime      Timespec
	Otime      Timespec
}

// InodeItemSize is sizeof(struct btrfs_inode_item).
const InodeItemSize = 160

// Btrfs inode item flags (not the FS_*_FL flags of FS_IOC_GETFLAGS).
const (
	InodeNodatasum  = 1 << 0
	InodeNodatacow  = 1 << 1
	InodeReadonly   = 1 << 2
	InodeNocompress = 1 << 3
	InodeImmutable  = 1 << 6
	InodeAppend     = 1 << 7
)

// IsRegular reports whether the item describes a regular file.
func (i InodeItem) IsRegular() bool { return i.Mode&0o170000 == 0o100000 }

// IsDir reports whether the item describes a directory.
func (i InodeItem) IsDir() bool { return i.Mode&0o170000 == 0o040000 }

// errShort builds the error every decoder returns for a truncated payload.
func errShort(what string, have, need int) error {
	return fmt.Errorf("%s: %d bytes, need %d", what, have, need)
}

func le64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func le16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }

func timespecAt(b []byte, off int) Timespec {
	return Timespec{Sec: le64(b, off), Nsec: le32(b, off+8)}
}

// DecodeInodeItem decodes a btrfs_inode_item payload.
func DecodeInodeItem(b []byte) (InodeItem, error) {
	if len(b) < InodeItemSize {
		return InodeItem{}, errShort("inode item", len(b), InodeItemSize)
	}
	return InodeItem{
		Generation: le64(b, 0),
		Transid:    le64(b, 8),
		Size:       le64(b, 16),
		Nbytes:     le64(b, 24),
		Nlink:      le32(b, 40),
		UID:        le32(b, 44),
		GID:        le32(b, 48),
		Mode:       le32(b, 52),
		Flags:      le64(b, 64),
		Atime:      timespecAt(b, 112),
		Ctime:      timespecAt(b, 124),
		Mtime:      timespecAt(b, 136),
		Otime:      timespecAt(b, 148),
	}, nil
}

// RootItem is the part of struct btrfs_root_item that bedup uses.
type RootItem struct {
	Generation uint64 // last transaction that changed this tree
	RootDirID  uint64
	Flags      uint64 // RootSubvolRdonly
	Refs       uint32
	// UUID and ParentUUID are zero on root items written by kernels older
	// than 3.6, whose items end before generation_v2.
	UUID       [16]byte
	ParentUUID [16]byte
	Ctransid   uint64
	Otransid   uint64
}

// ReadOnly reports whether the subvolume is read-only (a "frozen" snapshot).
func (r RootItem) ReadOnly() bool { return r.Flags&RootSubvolRdonly != 0 }

// rootItemV1Size is the length of a root item before the 3.6 extension
// (generation_v2 onwards); rootItemV2End is where the fields we read end.
const (
	rootItemV1Size = 239
	rootItemV2End  = 311
)

// DecodeRootItem decodes a btrfs_root_item payload, old or new layout.
func DecodeRootItem(b []byte) (RootItem, error) {
	if len(b) < rootItemV1Size {
		return RootItem{}, errShort("root item", len(b), rootItemV1Size)
	}
	r := RootItem{
		Generation: le64(b, 160),
		RootDirID:  le64(b, 168),
		Flags:      le64(b, 208),
		Refs:       le32(b, 216),
	}
	if len(b) >= rootItemV2End {
		copy(r.UUID[:], b[247:263])
		copy(r.ParentUUID[:], b[263:279])
		r.Ctransid = le64(b, 295)
		r.Otransid = le64(b, 303)
	}
	return r, nil
}

// RootRef is a ROOT_REF or ROOT_BACKREF payload: where a subvolume's root
// directory is linked inside its parent.
type RootRef struct {
	DirID    uint64 // directory of the parent subvolume that holds the link
	Sequence uint64
	Name     []byte
}

// DecodeRootRef decodes a btrfs_root_ref followed by its name.
func DecodeRootRef(b []byte) (RootRef, error) {
	const hdr = 18
	if len(b) < hdr {
		return RootRef{}, errShort("root ref", len(b), hdr)
	}
	n := int(le16(b, 16))
	if len(b) < hdr+n {
		return RootRef{}, errShort("root ref name", len(b), hdr+n)
	}
	return RootRef{DirID: le64(b, 0), Sequence: le64(b, 8), Name: b[hdr : hdr+n]}, nil
}

// InodeRef is one entry of an INODE_REF item: a name of the inode inside the
// directory given by the item's key offset.
type InodeRef struct {
	Index uint64
	Name  []byte
}

// DecodeInodeRefs decodes an INODE_REF payload, which packs one entry per
// hard link of the inode in the same directory.
func DecodeInodeRefs(b []byte) ([]InodeRef, error) {
	const hdr = 10
	var refs []InodeRef
	for len(b) > 0 {
		if len(b) < hdr {
			return refs, errShort("inode ref", len(b), hdr)
		}
		n := int(le16(b, 8))
		if len(b) < hdr+n {
			return refs, errShort("inode ref name", len(b), hdr+n)
		}
		refs = append(refs, InodeRef{Index: le64(b, 0), Name: b[hdr : hdr+n]})
		b = b[hdr+n:]
	}
	return refs, nil
}

// Key is a b-tree key: (objectid, type, offset), compared in that order.
type Key struct {
	ObjectID uint64
	Type     uint8
	Offset   uint64
}

// DirItem is one entry of a DIR_ITEM or DIR_INDEX item.
type DirItem struct {
	Location Key    // the inode (or subvolume root) the entry points to
	Transid  uint64 // transaction that created the entry
	Type     uint8  // BTRFS_FT_* file type
	Name     []byte
	Data     []byte // xattr value for XATTR_ITEM, empty for directories
}

// DecodeDirItems decodes a DIR_ITEM, DIR_INDEX or XATTR_ITEM payload; a
// DIR_ITEM holds several entries when names collide in the hash.
func DecodeDirItems(b []byte) ([]DirItem, error) {
	const hdr = 30
	var items []DirItem
	for len(b) > 0 {
		if len(b) < hdr {
			return items, errShort("dir item", len(b), hdr)
		}
		dataLen := int(le16(b, 25))
		nameLen := int(le16(b, 27))
		end := hdr + nameLen + dataLen
		if len(b) < end {
			return items, errShort("dir item name", len(b), end)
		}
		items = append(items, DirItem{
			Location: Key{ObjectID: le64(b, 0), Type: b[8], Offset: le64(b, 9)},
			Transid:  le64(b, 17),
			Type:     b[29],
			Name:     b[hdr : hdr+nameLen],
			Data:     b[hdr+nameLen : end],
		})
		b = b[end:]
	}
	return items, nil
}

// File extent types.
const (
	FileExtentInline   = 0
	FileExtentReg      = 1
	FileExtentPrealloc = 2
)

// FileExtentItem is a decoded btrfs_file_extent_item.
type FileExtentItem struct {
	Generation  uint64 // transaction that wrote the extent
	RAMBytes    uint64
	Compression uint8
	Type        uint8 // FileExtentInline, FileExtentReg, FileExtentPrealloc
	// For regular and preallocated extents: where the data lives on disk and
	// which part of that extent this file item uses. DiskBytenr 0 is a hole.
	DiskBytenr   uint64
	DiskNumBytes uint64
	Offset       uint64
	NumBytes     uint64
	// InlineLen is the length of inline data stored in the item itself.
	InlineLen int
}

// DecodeFileExtentItem decodes an EXTENT_DATA payload.
func DecodeFileExtentItem(b []byte) (FileExtentItem, error) {
	const inlineHdr, regSize = 21, 53
	if len(b) < inlineHdr {
		return FileExtentItem{}, errShort("file extent item", len(b), inlineHdr)
	}
	e := FileExtentItem{
		Generation:  le64(b, 0),
		RAMBytes:    le64(b, 8),
		Compression: b[16],
		Type:        b[20],
	}
	if e.Type == FileExtentInline {
		e.InlineLen = len(b) - inlineHdr
		return e, nil
	}
	if len(b) < regSize {
		return FileExtentItem{}, errShort("file extent item", len(b), regSize)
	}
	e.DiskBytenr = le64(b, 21)
	e.DiskNumBytes = le64(b, 29)
	e.Offset = le64(b, 37)
	e.NumBytes = le64(b, 45)
	return e, nil
}
