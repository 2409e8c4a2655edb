package btrfs

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// iocDefrag is BTRFS_IOC_DEFRAG; on a regular file the kernel ignores the
// argument and defragments the whole file with default settings.
const iocDefrag = 0x50009402

// Inode attribute flags of FS_IOC_GETFLAGS (linux/fs.h).
const (
	FlagCompress  = 0x00000004 // FS_COMPR_FL
	FlagImmutable = 0x00000010 // FS_IMMUTABLE_FL
	FlagAppend    = 0x00000020 // FS_APPEND_FL
	FlagNoatime   = 0x00000080 // FS_NOATIME_FL
	FlagNocomp    = 0x00000400 // FS_NOCOMP_FL
	FlagNocow     = 0x00800000 // FS_NOCOW_FL
)

// GetFlags returns the inode attribute flags of f (what lsattr shows).
func GetFlags(f *os.File) (uint32, error) {
	var v int32
	if err := fileIoctl(f, iocGetFlags, unsafe.Pointer(&v)); err != nil {
		return 0, fmt.Errorf("get inode flags: %w", err)
	}
	return uint32(v), nil
}

// SetFlags sets the inode attribute flags of f (what chattr does). bedup
// itself never changes a file's flags; tests use this to build fixtures.
func SetFlags(f *os.File, flags uint32) error {
	v := int32(flags)
	if err := fileIoctl(f, iocSetFlags, unsafe.Pointer(&v)); err != nil {
		return fmt.Errorf("set inode flags: %w", err)
	}
	return nil
}

// Clone makes dst share all of src's extents (FICLONE). Unlike Dedupe it
// does not compare anything and it sets dst's mtime and ctime: bedup uses
// it only where a user asked for it explicitly.
func Clone(dst, src *os.File) error {
	err := ioctlInt(dst.Fd(), iocClone, src.Fd())
	runtime.KeepAlive(dst)
	runtime.KeepAlive(src)
	if err != nil {
		return fmt.Errorf("ficlone: %w", err)
	}
	return nil
}

// Defrag defragments the whole file f. Since Linux 3.12 this unshares the
// file's extents from snapshots and reflinked copies.
func Defrag(f *os.File) error {
	err := ioctlInt(f.Fd(), iocDefrag, 0)
	runtime.KeepAlive(f)
	if err != nil {
		return fmt.Errorf("defrag: %w", err)
	}
	return nil
}

// Syncfs commits the filesystem f is on (syncfs(2)), so that a following
// tree search or generation read sees every write made so far.
func Syncfs(f *os.File) error {
	err := retryEINTR(func() error { return unix.Syncfs(int(f.Fd())) })
	runtime.KeepAlive(f)
	if err != nil {
		return fmt.Errorf("syncfs: %w", err)
	}
	return nil
}

// ReadOnly reports whether f's mount or filesystem is read-only now (a
// remount may have made it so since it was opened): writes through it,
// FIDEDUPERANGE included, fail with EROFS.
func ReadOnly(f *os.File) (bool, error) {
	var st unix.Statfs_t
	err := retryEINTR(func() error { return unix.Fstatfs(int(f.Fd()), &st) })
	runtime.KeepAlive(f)
	if err != nil {
		return false, fmt.Errorf("statfs: %w", err)
	}
	return st.Flags&unix.ST_RDONLY != 0, nil
}

// Fstat returns the stat of an open file.
func Fstat(f *os.File) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := retryEINTR(func() error { return unix.Fstat(int(f.Fd()), &st) })
	runtime.KeepAlive(f)
	if err != nil {
		return st, fmt.Errorf("fstat: %w", err)
	}
	return st, nil
}

// I/O priority (linux/ioprio.h).
const (
	ioprioWhoProcess = 1
	ioprioClassIdle  = 3
	ioprioClassShift = 13
)

// SetIdleIOPriority puts thread tid (0 = the calling thread) in the idle
// I/O scheduling class. Linux keeps the I/O priority per thread.
func SetIdleIOPriority(tid int) error {
	_, _, e := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), ioprioClassIdle<<ioprioClassShift)
	if e != 0 {
		return fmt.Errorf("ioprio_set thread %d: %w", tid, e)
	}
	return nil
}

// IOPriority returns thread tid's I/O priority value (class << 13 | data).
func IOPriority(tid int) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(tid), 0)
	if e != 0 {
		return 0, fmt.Errorf("ioprio_get thread %d: %w", tid, e)
	}
	return int(r), nil
}

// IsIdleIOPriority reports whether an IOPriority value is in the idle class.
func IsIdleIOPriority(prio int) bool { return prio>>ioprioClassShift == ioprioClassIdle }

// SetIdleIOPriorityAllThreads puts every thread the process has now in the
// idle I/O class. Threads the Go runtime starts later inherit the priority
// of the thread that creates them, so calling this early covers them too.
func SetIdleIOPriorityAllThreads() error {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("list threads: %w", err)
	}
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := SetIdleIOPriority(tid); err != nil && !errors.Is(err, unix.ESRCH) {
			return err
		}
	}
	return nil
}

// TryLock takes an exclusive flock on f without waiting. It returns false
// (and no error) when another open file description holds it. bedup locks
// its database file this way; SQLite's own locks are fcntl OFD locks, which
// Linux keeps apart from flock.
func TryLock(f *os.File) (bool, error) {
	err := retryEINTR(func() error { return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) })
	runtime.KeepAlive(f)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("flock: %w", err)
	}
	return true, nil
}

// MountID returns the id of the mount f was opened through, as
// /proc/self/mountinfo numbers mounts: it tells whether a mount point path
// still leads to that mount or to another one stacked over it.
func MountID(f *os.File) (uint64, error) {
	var stx unix.Statx_t
	err := retryEINTR(func() error {
		return unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &stx)
	})
	runtime.KeepAlive(f)
	if err != nil {
		return 0, fmt.Errorf("statx: %w", err)
	}
	if stx.Mask&unix.STATX_MNT_ID == 0 {
		return 0, fmt.Errorf("statx: no mount id (kernel older than 5.8)")
	}
	return stx.Mnt_id, nil
}

// AdviseSequential tells the kernel f will be read from start to end, which
// doubles its readahead window for the file.
func AdviseSequential(f *os.File) {
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
	runtime.KeepAlive(f)
}

// Prefetch asks the kernel to start reading a range of f into the page
// cache, without waiting (FADV_WILLNEED). FIDEDUPERANGE compares pages it
// reads one at a time, without readahead: on cold data that is many times
// slower than reading ahead first.
//
// The kernel caps one WILLNEED at the device's readahead size (a few MiB),
// so the range is asked for in steps.
func Prefetch(f *os.File, off, length uint64) {
	const step = 2 << 20
	for end := off + length; off < end; off += step {
		unix.Fadvise(int(f.Fd()), int64(off), int64(min(step, end-off)), unix.FADV_WILLNEED)
	}
	runtime.KeepAlive(f)
}
