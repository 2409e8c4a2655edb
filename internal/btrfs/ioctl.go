package btrfs

import (
	"errors"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl request numbers. x/sys/unix lacks most Btrfs ones; the values are the
// _IOC encodings of the UAPI definitions and sizes_test.go re-derives them.
const (
	iocTreeSearchV2  = 0xC0709411 // _IOWR(0x94, 17, struct btrfs_ioctl_search_args_v2)
	iocInoLookup     = 0xD0009412 // _IOWR(0x94, 18, struct btrfs_ioctl_ino_lookup_args)
	iocDefragRange   = 0x40309410 // _IOW(0x94, 16, struct btrfs_ioctl_defrag_range_args)
	iocInoPaths      = 0xC0389423 // _IOWR(0x94, 35, struct btrfs_ioctl_ino_path_args)
	iocFSInfo        = 0x8400941F // _IOR(0x94, 31, struct btrfs_ioctl_fs_info_args)
	iocGetSubvolInfo = 0x81F8943C // _IOR(0x94, 60, struct btrfs_ioctl_get_subvol_info_args)
	iocFiemap        = 0xC020660B // _IOWR('f', 11, struct fiemap)
	iocGetFlags      = 0x80086601 // _IOR('f', 1, long); the kernel reads and writes an int
	iocSetFlags      = 0x40086602 // _IOW('f', 2, long); the kernel reads and writes an int
	iocDedupeRange   = 0xC0189436 // _IOWR(0x94, 54, struct file_dedupe_range)
	iocClone         = 0x40049409 // _IOW(0x94, 9, int)
)

// ioctlPtr issues one ioctl whose argument is a pointer, retrying on EINTR
// (a signal arriving during a long FIDEDUPERANGE or FIEMAP must not turn into
// a spurious failure). The caller keeps the memory behind arg alive.
func ioctlPtr(fd uintptr, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// ioctlInt is ioctlPtr for ioctls that take a plain integer argument.
func ioctlInt(fd uintptr, req uintptr, arg uintptr) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, fd, req, arg)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// fileIoctl runs an ioctl on f and keeps f reachable until it returns: a
// finalizer closing the descriptor mid-call would otherwise make the kernel
// act on whatever file reused the number.
func fileIoctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	err := ioctlPtr(f.Fd(), req, arg)
	runtime.KeepAlive(f)
	return err
}

// IsNotBtrfs reports whether err says the file is not on Btrfs: the kernel
// answers a Btrfs ioctl on another filesystem with ENOTTY (or EINVAL/
// EOPNOTSUPP for some generic ones).
func IsNotBtrfs(err error) bool {
	return errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EOPNOTSUPP)
}

// retryEINTR calls fn until it returns something other than EINTR.
func retryEINTR(fn func() error) error {
	for {
		err := fn()
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
