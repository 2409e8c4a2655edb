package btrfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// inoLookupArgs mirrors struct btrfs_ioctl_ino_lookup_args (4096 bytes).
type inoLookupArgs struct {
	TreeID   uint64
	ObjectID uint64
	Name     [4080]byte
}

// InoLookup resolves inode objectID of subvolume treeID (0 = the subvolume f
// lives in) to its path relative to that subvolume's root, following the
// first INODE_REF of each ancestor. It also returns the tree id the kernel
// used, which is how the subvolume id of f is learnt (treeID 0, objectID
// 256). A path longer than the kernel's 4080-byte answer is built from the
// inode refs instead (RefPath). Needs CAP_SYS_ADMIN.
func InoLookup(f *os.File, treeID, objectID uint64) (path string, tree uint64, err error) {
	args := &inoLookupArgs{TreeID: treeID, ObjectID: objectID}
	err = fileIoctl(f, iocInoLookup, unsafe.Pointer(args))
	if errors.Is(err, unix.ENAMETOOLONG) {
		return longLookup(f, treeID, objectID)
	}
	if err != nil {
		return "", 0, fmt.Errorf("ino lookup %d in tree %d: %w", objectID, treeID, err)
	}
	name := args.Name[:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	// The kernel ends every non-empty result with a slash.
	return string(bytes.TrimSuffix(name, []byte("/"))), args.TreeID, nil
}

// longLookup is InoLookup for a path too long for the kernel's answer.
func longLookup(f *os.File, treeID, objectID uint64) (string, uint64, error) {
	tree := treeID
	if tree == 0 {
		// The root directory's path is empty: it always fits.
		_, id, err := InoLookup(f, 0, FirstFreeObjectID)
		if err != nil {
			return "", 0, err
		}
		tree = id
	}
	p, err := RefPath(f, tree, objectID)
	if err != nil {
		return "", 0, fmt.Errorf("ino lookup %d in tree %d: %w", objectID, treeID, err)
	}
	return p, tree, nil
}

// SubvolumeID returns the id of the subvolume that f is in.
func SubvolumeID(f *os.File) (uint64, error) {
	_, id, err := InoLookup(f, 0, FirstFreeObjectID)
	return id, err
}

// inoPathArgs mirrors struct btrfs_ioctl_ino_path_args (56 bytes on 64-bit
// systems, which TestStructSizes checks).
type inoPathArgs struct {
	Inum uint64
	Size uint64
	_    [4]uint64
	// FSPath points to a struct btrfs_data_container (a u64 in the UAPI).
	// It is a real pointer, not a number: the buffer may live on the
	// goroutine's stack, which moves when it grows, and only pointers are
	// moved with it (a stale address made the kernel fill freed memory).
	FSPath unsafe.Pointer
}

// inoPathsBuf is the largest answer the kernel gives to INO_PATHS.
const inoPathsBuf = 4096

// InoPaths returns every path (one per hard link) of inode inum, relative to
// the root of the subvolume f lives in. When some did not fit the kernel's
// answer (4 KiB at most, whatever size is asked for), all of them are built
// from the inode refs instead (RefPaths); missed reports how many paths
// are still left out (none unless that fails too).
func InoPaths(f *os.File, inum uint64) (paths []string, missed int, err error) {
	mem := make([]uint64, inoPathsBuf/8)
	args := &inoPathArgs{Inum: inum, Size: inoPathsBuf, FSPath: unsafe.Pointer(&mem[0])}
	err = fileIoctl(f, iocInoPaths, unsafe.Pointer(args))
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&mem[0])), inoPathsBuf)
	if err != nil {
		return nil, 0, fmt.Errorf("ino paths %d: %w", inum, err)
	}
	paths, missed, err = decodeInoPaths(buf)
	if err != nil {
		return nil, 0, fmt.Errorf("ino paths %d: %w", inum, err)
	}
	if missed > 0 {
		if all, err := RefPaths(f, 0, inum); err == nil && len(all) >= len(paths)+missed {
			return all, 0, nil
		}
	}
	return paths, missed, nil
}

// decodeInoPaths decodes a struct btrfs_data_container filled by INO_PATHS:
// a 16-byte header, elem_cnt u64 offsets (relative to the first offset) and
// the NUL-terminated strings they point at.
func decodeInoPaths(b []byte) ([]string, int, error) {
	const hdr = 16
	if len(b) < hdr {
		return nil, 0, errShort("ino paths container", len(b), hdr)
	}
	cnt := int(le32(b, 8))
	missed := int(le32(b, 12))
	val := b[hdr:]
	if cnt < 0 || cnt > len(val)/8 {
		return nil, 0, fmt.Errorf("ino paths container: %d entries do not fit %d bytes", cnt, len(val))
	}
	paths := make([]string, 0, cnt)
	for i := range cnt {
		off := le64(val, i*8)
		if off >= uint64(len(val)) {
			return nil, 0, fmt.Errorf("ino paths container: entry %d at %d is out of range", i, off)
		}
		s := val[off:]
		end := bytes.IndexByte(s, 0)
		if end < 0 {
			return nil, 0, fmt.Errorf("ino paths container: entry %d is not terminated", i)
		}
		paths = append(paths, string(s[:end]))
	}
	return paths, missed, nil
}
