package testfs

import (
	"testing"

	"github.com/bedup/bedup/internal/mountinfo"
)

// Unmount unmounts the filesystem (its loop device stays attached), and
// fails t when that is refused, for example because a descriptor still
// holds it. Should the test end before Mount, the filesystem is mounted
// again first, so that its removal works as usual.
func (fs *FS) Unmount(t testing.TB) {
	t.Helper()
	Run(t, "umount", fs.Mnt)
	t.Cleanup(func() {
		if !fs.mounted() {
			run("mount", "-t", "btrfs", fs.Dev, fs.Mnt)
		}
	})
}

// Mount mounts the filesystem again after Unmount, at the same place.
func (fs *FS) Mount(t testing.TB) {
	t.Helper()
	Run(t, "mount", "-t", "btrfs", fs.Dev, fs.Mnt)
}

// mounted reports whether a mount shows the filesystem's mount point.
func (fs *FS) mounted() bool {
	mounts, err := mountinfo.Read()
	if err != nil {
		return true // do not stack a second mount on a doubt
	}
	for _, m := range mounts {
		if m.MountPoint == fs.Mnt {
			return true
		}
	}
	return false
}
