package btrfs

import (
	"testing"
	"unsafe"
)

// ioc re-derives an ioctl number the way linux/ioctl.h does.
func ioc(dir, typ, nr, size uintptr) uintptr {
	return dir<<30 | size<<16 | typ<<8 | nr
}

const (
	iocWrite = 1
	iocRead  = 2
)

// TestStructSizes pins every ioctl argument struct to the kernel's size: a
// wrong size would make the kernel read or write past our memory.
func TestStructSizes(t *testing.T) {
	for _, c := range []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"btrfs_ioctl_search_key", unsafe.Sizeof(searchKey{}), 104},
		{"btrfs_ioctl_search_args_v2 (fixed part)", unsafe.Sizeof(searchArgsV2{}), 112},
		{"btrfs_ioctl_ino_lookup_args", unsafe.Sizeof(inoLookupArgs{}), 4096},
		{"btrfs_ioctl_ino_path_args", unsafe.Sizeof(inoPathArgs{}), 56},
		{"btrfs_ioctl_fs_info_args", unsafe.Sizeof(fsInfoArgs{}), 1024},
		{"btrfs_ioctl_get_subvol_info_args", unsafe.Sizeof(subvolInfoArgs{}), 504},
		{"btrfs_ioctl_timespec", unsafe.Sizeof(ioctlTimespec{}), 16},
		{"fiemap", unsafe.Sizeof(fiemapHeader{}), 32},
		{"fiemap_extent", unsafe.Sizeof(fiemapExtent{}), 56},
		{"file_dedupe_range", unsafe.Sizeof(dedupeRangeHeader{}), 24},
		{"file_dedupe_range_info", unsafe.Sizeof(dedupeRangeInfo{}), 32},
	} {
		if c.got != c.want {
			t.Errorf("sizeof(%s) = %d, want %d", c.name, c.got, c.want)
		}
	}
	// Field offsets the kernel depends on.
	for _, c := range []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"fs_info.fsid", unsafe.Offsetof(fsInfoArgs{}.FSID), 16},
		{"fs_info.flags", unsafe.Offsetof(fsInfoArgs{}.Flags), 48},
		{"fs_info.generation", unsafe.Offsetof(fsInfoArgs{}.Generation), 56},
		{"subvol_info.parent_id", unsafe.Offsetof(subvolInfoArgs{}.ParentID), 264},
		{"subvol_info.generation", unsafe.Offsetof(subvolInfoArgs{}.Generation), 280},
		{"subvol_info.flags", unsafe.Offsetof(subvolInfoArgs{}.Flags), 288},
		{"subvol_info.ctime", unsafe.Offsetof(subvolInfoArgs{}.Ctime), 376},
		{"search_key.min_type", unsafe.Offsetof(searchKey{}.MinType), 56},
		{"search_key.nr_items", unsafe.Offsetof(searchKey{}.NrItems), 64},
		{"fiemap_extent.flags", unsafe.Offsetof(fiemapExtent{}.Flags), 40},
		{"dedupe_info.status", unsafe.Offsetof(dedupeRangeInfo{}.Status), 24},
		{"dedupe_range.dest_count", unsafe.Offsetof(dedupeRangeHeader{}.DestCount), 16},
	} {
		if c.got != c.want {
			t.Errorf("offsetof(%s) = %d, want %d", c.name, c.got, c.want)
		}
	}
	if n := unsafe.Sizeof(dedupeRangeHeader{}) + MaxDedupeDests*unsafe.Sizeof(dedupeRangeInfo{}); n > 4096 {
		t.Errorf("a full FIDEDUPERANGE argument is %d bytes, more than a page", n)
	}
}

// TestIoctlNumbers checks each request number against its _IOC encoding.
func TestIoctlNumbers(t *testing.T) {
	for _, c := range []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"TREE_SEARCH_V2", iocTreeSearchV2, ioc(iocRead|iocWrite, 0x94, 17, unsafe.Sizeof(searchArgsV2{}))},
		{"INO_LOOKUP", iocInoLookup, ioc(iocRead|iocWrite, 0x94, 18, unsafe.Sizeof(inoLookupArgs{}))},
		{"DEFRAG_RANGE", iocDefragRange, ioc(iocWrite, 0x94, 16, 48)},
		{"DEFRAG", iocDefrag, ioc(iocWrite, 0x94, 2, 4096)},
		{"INO_PATHS", iocInoPaths, ioc(iocRead|iocWrite, 0x94, 35, unsafe.Sizeof(inoPathArgs{}))},
		{"FS_INFO", iocFSInfo, ioc(iocRead, 0x94, 31, unsafe.Sizeof(fsInfoArgs{}))},
		{"GET_SUBVOL_INFO", iocGetSubvolInfo, ioc(iocRead, 0x94, 60, unsafe.Sizeof(subvolInfoArgs{}))},
		{"FS_IOC_FIEMAP", iocFiemap, ioc(iocRead|iocWrite, 'f', 11, unsafe.Sizeof(fiemapHeader{}))},
		{"FS_IOC_GETFLAGS", iocGetFlags, ioc(iocRead, 'f', 1, 8)},
		{"FS_IOC_SETFLAGS", iocSetFlags, ioc(iocWrite, 'f', 2, 8)},
		{"FIDEDUPERANGE", iocDedupeRange, ioc(iocRead|iocWrite, 0x94, 54, unsafe.Sizeof(dedupeRangeHeader{}))},
		{"FICLONE", iocClone, ioc(iocWrite, 0x94, 9, 4)},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}
