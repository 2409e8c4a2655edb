package btrfs

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// MountPrivate mounts the top-level subvolume of the Btrfs filesystem on
// device where nobody else can see it, and returns an open directory of its
// root. It is for a filesystem the user named that is not mounted
// read-write anywhere.
//
// It uses the kernel's mount API (fsopen, fsconfig, fsmount): the result is
// a detached mount, attached to no mount point in any namespace, so nothing
// leaks to the host and there is no temporary directory. It lives only as
// long as descriptors opened through it, so the filesystem is unmounted when
// bedup closes them or exits — also after Ctrl-C, a crash or kill -9.
func MountPrivate(device string) (*os.File, error) {
	fsfd, err := unix.Fsopen("btrfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("mount %s: fsopen: %w", device, err)
	}
	defer unix.Close(fsfd)
	for _, kv := range [][2]string{{"source", device}, {"subvol", "/"}} {
		if err := unix.FsconfigSetString(fsfd, kv[0], kv[1]); err != nil {
			return nil, fmt.Errorf("mount %s: %s=%s: %w", device, kv[0], kv[1], err)
		}
	}
	if err := retryEINTR(func() error { return unix.FsconfigCreate(fsfd) }); err != nil {
		return nil, fmt.Errorf("mount %s: %w", device, err)
	}
	attrs := unix.MOUNT_ATTR_NOATIME | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NOSUID
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return nil, fmt.Errorf("mount %s: fsmount: %w", device, err)
	}
	defer unix.Close(mfd)
	// The mount fd is O_PATH, which takes no ioctls: open its root for real.
	var fd int
	err = retryEINTR(func() (err error) {
		fd, err = unix.Openat(mfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mount %s: open root: %w", device, err)
	}
	return os.NewFile(uintptr(fd), device), nil
}

// InodeItemOf reads the inode item of inode ino in subvolume tree (0 = the
// subvolume f is in). Needs CAP_SYS_ADMIN.
func InodeItemOf(f *os.File, tree, ino uint64) (InodeItem, error) {
	s := NewSearch(f, SearchRange{
		TreeID: tree,
		Min:    Key{ObjectID: ino, Type: InodeItemKey},
		Max:    Key{ObjectID: ino, Type: InodeItemKey, Offset: ^uint64(0)},
	}, 4096)
	defer s.free()
	for s.Next() {
		if it := s.Item(); it.Key.ObjectID == ino && it.Key.Type == InodeItemKey {
			return DecodeInodeItem(it.Data)
		}
	}
	if err := s.Err(); err != nil {
		return InodeItem{}, err
	}
	return InodeItem{}, fmt.Errorf("inode %d of tree %d: %w", ino, tree, unix.ENOENT)
}

// OpenSubvolume opens the root directory of subvolume id through fs, any
// open directory of the same filesystem, by file handle: no mount needs to
// show the subvolume and no path is walked. The result is checked to be
// that subvolume's root.
func OpenSubvolume(fs *os.File, id uint64) (*os.File, error) {
	ii, err := InodeItemOf(fs, id, FirstFreeObjectID)
	if err != nil {
		return nil, fmt.Errorf("subvolume %d: %w", id, err)
	}
	var fd int
	err = retryEINTR(func() (err error) {
		fd, err = unix.OpenByHandleAt(int(fs.Fd()), Handle(id, FirstFreeObjectID, ii.Generation),
			unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
		return err
	})
	runtime.KeepAlive(fs)
	if err != nil {
		return nil, fmt.Errorf("open subvolume %d: %w", id, err)
	}
	d := os.NewFile(uintptr(fd), fmt.Sprintf("subvolume %d", id))
	got, err := SubvolumeID(d)
	if err == nil && got != id {
		err = fmt.Errorf("handle opened subvolume %d", got)
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("open subvolume %d: %w", id, err)
	}
	return d, nil
}
