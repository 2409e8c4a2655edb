package btrfs

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// OpenRegular opens path with flags (os.O_RDONLY, os.O_RDWR, plus
// os.O_CREATE to make it with mode perm when missing) without blocking
// (opening a FIFO for reading waits for a writer) and without becoming the
// controlling terminal, and checks that it is a regular file: EISDIR for a
// directory, ErrNotRegular for anything else, wrapped in an *os.PathError.
// With os.O_CREATE, created reports whether this call made the file.
func OpenRegular(path string, flags int, perm os.FileMode) (f *os.File, created bool, err error) {
	base := flags&^os.O_CREATE | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
	var fd int
	for range 3 {
		if flags&os.O_CREATE != 0 {
			err = retryEINTR(func() (err error) {
				fd, err = unix.Open(path, base|unix.O_CREAT|unix.O_EXCL, uint32(perm.Perm()))
				return err
			})
			if err == nil {
				created = true
				break
			}
			if !errors.Is(err, unix.EEXIST) {
				break
			}
		}
		err = retryEINTR(func() (err error) {
			fd, err = unix.Open(path, base, 0)
			return err
		})
		if flags&os.O_CREATE == 0 || !errors.Is(err, unix.ENOENT) {
			break // removed between the two opens: try again
		}
	}
	if err != nil {
		return nil, false, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f, err = regularFile(fd, path)
	if err != nil {
		if created {
			os.Remove(path)
		}
		return nil, false, &os.PathError{Op: "open", Path: path, Err: err}
	}
	// O_NONBLOCK stays set: it means nothing to a regular file.
	return f, created, nil
}

// WithUmask runs fn with the process's file mode creation mask set to
// mask, and then puts the old one back. The mask belongs to the whole
// process: files other goroutines create meanwhile get it too.
func WithUmask(mask int, fn func() error) error {
	old := unix.Umask(mask)
	defer unix.Umask(old)
	return fn()
}

// AvailableBytes returns the free bytes an unprivileged user could still
// write on the filesystem holding path (statfs f_bavail).
func AvailableBytes(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// DescriptorLimit returns how many file descriptors the process may have
// open (the soft RLIMIT_NOFILE, which Go raises to the hard limit at
// start), or 1024 when it cannot be read.
func DescriptorLimit() uint64 {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return 1024
	}
	return r.Cur
}
