package volume_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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

// Inventory lists mounted filesystems (from sysfs) and unmounted ones (from
// their superblocks) without running any program.
func TestInventoryWithoutPath(t *testing.T) {
	mounted := testfs.New(t, testfs.Options{SizeMiB: 200, MkfsArgs: []string{"-L", "bedup-inv-mounted"}})
	mountedUUID := fsUUID(t, mounted.Mnt)
	const unmountedUUID = "3f1c9a7e-5d2b-4e8f-9a61-7b0c2d4e6f80"
	img := filepath.Join(t.TempDir(), "img")
	testfs.WriteFile(t, img, nil)
	if err := os.Truncate(img, 200<<20); err != nil {
		t.Fatal(err)
	}
	dev := strings.TrimSpace(testfs.Run(t, "losetup", "--find", "--show", img))
	t.Cleanup(func() { testfs.Run(t, "losetup", "-d", dev) })
	testfs.Run(t, "mkfs.btrfs", "-q", "-f", "-L", "somelabel", "-U", unmountedUUID, dev)

	t.Setenv("PATH", "") // restored before the cleanups above run
	set, err := volume.Inventory()
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	byUUID := map[string]*volume.Filesystem{}
	for _, f := range set.Filesystems {
		byUUID[f.UUID] = f
	}
	for _, c := range []struct {
		uuid, label, dev string
		mounted          bool
	}{
		{mountedUUID, "bedup-inv-mounted", mounted.Dev, true},
		{unmountedUUID, "somelabel", dev, false},
	} {
		f := byUUID[c.uuid]
		if f == nil {
			t.Errorf("%s (%s) not in the inventory", c.uuid, c.label)
			continue
		}
		if f.Label != c.label || !slices.Contains(f.Devices, c.dev) {
			t.Errorf("%s: label %q devices %q, want %q on %s", c.uuid, f.Label, f.Devices, c.label, c.dev)
		}
		if (f.Top() != nil) != c.mounted || (len(f.Mounts) > 0) != c.mounted {
			t.Errorf("%s: open %v, %d mounts; want mounted %v", c.uuid, f.Top() != nil, len(f.Mounts), c.mounted)
		}
	}
}
