package volume_test

import (
	"os/exec"
	"testing"

	"github.com/bedup/bedup/internal/testfs"
	"github.com/bedup/bedup/internal/volume"
)

// A filtered run holds only the filesystem it names: another Btrfs can be
// unmounted (without -l) while the set is open. Without a filter every
// writable filesystem is still included.
func TestDiscoverHoldsOnlySelected(t *testing.T) {
	a := testfs.New(t, testfs.Options{SizeMiB: 200})
	b := testfs.New(t, testfs.Options{SizeMiB: 200})
	a.Subvolume(t, "sub")
	uuidA, uuidB := fsUUID(t, a.Mnt), fsUUID(t, b.Mnt)
	for _, filters := range [][]string{
		{a.Mnt},
		{"vol:" + a.Mnt},
		{a.Mnt + "/sub"},
		{uuidA},
		{a.Dev},
	} {
		set, err := volume.Discover(filters, volume.Options{})
		if err != nil {
			t.Fatalf("Discover(%q): %v", filters, err)
		}
		for _, v := range set.Volumes {
			if v.FS.UUID != uuidA {
				t.Errorf("Discover(%q) selected %s", filters, v.Desc)
			}
		}
		if out, err := exec.Command("umount", b.Mnt).CombinedOutput(); err != nil {
			t.Errorf("Discover(%q): the unselected filesystem is held: %v: %s", filters, err, out)
		} else {
			testfs.Run(t, "mount", "-t", "btrfs", b.Dev, b.Mnt)
		}
		set.Close()
	}

	set, err := volume.Discover(nil, volume.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	found := map[string]bool{}
	for _, f := range set.Filesystems {
		if f.Top() == nil {
			t.Errorf("selected filesystem %s has no open directory", f.Desc())
		}
		found[f.UUID] = true
	}
	if !found[uuidA] || !found[uuidB] {
		t.Errorf("Discover(nil) filesystems %v, want both test filesystems", found)
	}
}
