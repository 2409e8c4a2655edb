package btrfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// fileidBtrfsWithoutParent is the handle type Btrfs gives to a file handle of
// a non-directory: objectid u64, root id u64, creation generation u32.
const fileidBtrfsWithoutParent = 0x4d

// ErrNotRegular is returned by the safe opens when the path or handle names
// something other than a regular file.
var ErrNotRegular = errors.New("not a regular file")

// Handle builds the Btrfs file handle of inode ino of subvolume root,
// created in transaction gen (the inode item's Generation). The triple names
// one inode for its whole life: a reused inode number has another gen.
func Handle(root, ino, gen uint64) unix.FileHandle {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint64(b[0:], ino)
	binary.LittleEndian.PutUint64(b[8:], root)
	binary.LittleEndian.PutUint32(b[16:], uint32(gen))
	return unix.NewFileHandle(fileidBtrfsWithoutParent, b)
}

// openFlags are the flags every read-only open of a candidate file uses:
// no atime update, no fd leak into children, no blocking on a FIFO.
const openFlags = unix.O_RDONLY | unix.O_NOATIME | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY

// OpenByHandle opens inode ino of subvolume root (created in gen) read-only
// through mount, any open file of the same filesystem. No path is walked, so
// no rename or symlink can redirect it; ESTALE means the inode is gone or its
// number was reused. Needs CAP_DAC_READ_SEARCH. The result is checked to be a
// regular file.
func OpenByHandle(mount *os.File, root, ino, gen uint64) (*os.File, error) {
	f, _, err := OpenByHandleStat(mount, root, ino, gen)
	return f, err
}

// OpenByHandleStat is OpenByHandle that also returns the file's status, taken
// to check it is a regular file: a caller wanting its size or device needs no
// second fstat (a dedup pass opens every candidate).
func OpenByHandleStat(mount *os.File, root, ino, gen uint64) (*os.File, unix.Stat_t, error) {
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = unix.OpenByHandleAt(int(mount.Fd()), Handle(root, ino, gen), openFlags)
		return err
	})
	runtime.KeepAlive(mount)
	if err != nil {
		return nil, unix.Stat_t{}, fmt.Errorf("open inode %d of subvolume %d: %w", ino, root, err)
	}
	// The name, built without fmt: a pass names every file it opens.
	name := make([]byte, 0, 64)
	name = append(name, "inode "...)
	name = strconv.AppendUint(name, ino, 10)
	name = append(name, " of subvolume "...)
	name = strconv.AppendUint(name, root, 10)
	return regularFileStat(fd, string(name))
}

// OpenBeneath opens rel, a path found on the filesystem (never one the user
// typed), relative to dir without leaving it and without following any
// symlink (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS). The result is
// checked to be a regular file.
func OpenBeneath(dir *os.File, rel string) (*os.File, error) {
	how := &unix.OpenHow{
		Flags:   uint64(openFlags | unix.O_NOFOLLOW),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = unix.Openat2(int(dir.Fd()), rel, how)
		return err
	})
	runtime.KeepAlive(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", rel, err)
	}
	return regularFile(fd, rel)
}

// OpenFile opens a path the user typed, as typed (symlinks followed), for
// reading without touching its atime and without blocking on a FIFO, and
// checks that it is a regular file.
func OpenFile(path string) (*os.File, error) {
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = unix.Open(path, openFlags, 0)
		return err
	})
	if errors.Is(err, unix.EPERM) {
		// O_NOATIME needs ownership or CAP_FOWNER.
		err = retryEINTR(func() (err error) {
			fd, err = unix.Open(path, openFlags&^unix.O_NOATIME, 0)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return regularFile(fd, path)
}

// OpenDir opens a directory (a volume, a mount point) for ioctls and for
// opening files beneath it.
func OpenDir(path string) (*os.File, error) {
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// regularFile wraps fd, closing it unless it is a regular file.
func regularFile(fd int, name string) (*os.File, error) {
	f, _, err := regularFileStat(fd, name)
	return f, err
}

// regularFileStat is regularFile that also returns the status it checked.
func regularFileStat(fd int, name string) (*os.File, unix.Stat_t, error) {
	f := os.NewFile(uintptr(fd), name)
	st, err := Fstat(f)
	if err != nil {
		f.Close()
		return nil, st, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return nil, st, unix.EISDIR
		}
		return nil, st, ErrNotRegular
	}
	return f, st, nil
}
