package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/mountinfo"
)

// inventory is every Btrfs filesystem known to this run.
type inventory struct {
	fss     []*Filesystem
	byUUID  map[string]*Filesystem
	plugged bool // block devices were probed for unmounted filesystems
}

func (inv *inventory) close() {
	for _, f := range inv.fss {
		f.release()
	}
}

// add records a filesystem not known yet.
func (inv *inventory) add(f *Filesystem) {
	inv.byUUID[f.UUID] = f
	inv.fss = append(inv.fss, f)
}

// newInventory finds the mounted Btrfs filesystems: every Btrfs mount point
// is opened and asked for its filesystem id, which matches mounts to
// filesystems whatever their device names (dm-crypt, LVM). A mount point
// hidden under another mount is left out. With keep, each filesystem keeps
// the first descriptor as its Top; without, every descriptor is closed at
// once, so that nothing holds a filesystem the run does not select (an
// unrelated umount would fail with "target is busy").
func newInventory(keep bool) (*inventory, error) {
	mounts, err := mountinfo.Read()
	if err != nil {
		return nil, err
	}
	inv := &inventory{byUUID: map[string]*Filesystem{}}
	for _, m := range mounts {
		if m.FSType != "btrfs" {
			continue
		}
		d, info, err := openMount(m)
		if err != nil {
			continue
		}
		f := inv.byUUID[info.UUID()]
		if f == nil {
			f = &Filesystem{UUID: info.UUID()}
			f.Label, f.Devices = sysfsInfo(f.UUID)
			inv.add(f)
		}
		if keep && f.top == nil {
			f.top = d
		} else {
			d.Close()
		}
		f.Mounts = append(f.Mounts, m)
	}
	inv.describe()
	return inv, nil
}

// openMount opens the root of mount m and asks for its filesystem id. It
// fails when another mount is stacked on m's mount point, hiding it.
func openMount(m mountinfo.Mount) (*os.File, btrfs.FSInfo, error) {
	d, err := btrfs.OpenDir(m.MountPoint)
	if err != nil {
		return nil, btrfs.FSInfo{}, fmt.Errorf("%s: %w", m.MountPoint, err)
	}
	id, err := btrfs.MountID(d)
	if err == nil && id != uint64(m.ID) {
		err = errors.New("hidden by another mount")
	}
	var info btrfs.FSInfo
	if err == nil {
		info, err = btrfs.GetFSInfo(d)
	}
	if err != nil {
		d.Close()
		return nil, btrfs.FSInfo{}, fmt.Errorf("%s: %w", m.MountPoint, err)
	}
	return d, info, nil
}

// open gives f an open directory (Top) if it has none, through one of its
// mounts (read-write ones first) that still shows this filesystem.
func (f *Filesystem) open() error {
	if f.top != nil {
		return nil
	}
	if len(f.Mounts) == 0 {
		return fmt.Errorf("filesystem %s is not mounted", f.desc)
	}
	mounts := slices.Clone(f.Mounts)
	slices.SortStableFunc(mounts, func(a, b mountinfo.Mount) int {
		switch {
		case a.ReadOnly() == b.ReadOnly():
			return 0
		case b.ReadOnly():
			return -1
		}
		return 1
	})
	var firstErr error
	for _, m := range mounts {
		d, info, err := openMount(m)
		if err == nil && info.UUID() != f.UUID {
			d.Close()
			err = fmt.Errorf("%s: now mounts filesystem %s", m.MountPoint, info.UUID())
		}
		if err == nil {
			f.top = d
			return nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return fmt.Errorf("filesystem %s: none of its mounts can be opened: %w", f.desc, firstErr)
}

// release closes f's Top, if open.
func (f *Filesystem) release() {
	if f.top != nil {
		f.top.Close()
		f.top = nil
	}
}

// addPlugged adds the Btrfs filesystems on block devices that are not
// mounted, found by reading each device's superblock (no blkid: it needs
// no program on PATH, which cron and systemd do not set up).
func (inv *inventory) addPlugged() error {
	if inv.plugged {
		return nil
	}
	known := map[string]bool{}
	for _, f := range inv.fss {
		for _, d := range f.Devices {
			known[d] = true
		}
	}
	devs, err := scanPlugged(known)
	if err != nil {
		return err
	}
	inv.plugged = true
	for _, p := range devs {
		f := inv.byUUID[p.UUID]
		if f == nil {
			f = &Filesystem{UUID: p.UUID, Label: p.Label}
			inv.add(f)
		}
		if !contains(f.Devices, p.Device) {
			f.Devices = append(f.Devices, p.Device)
		}
	}
	inv.describe()
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// describe gives each filesystem its description (label if unique).
func (inv *inventory) describe() {
	labels := map[string]int{}
	for _, f := range inv.fss {
		labels[f.Label]++
	}
	for _, f := range inv.fss {
		if f.Label != "" && labels[f.Label] == 1 {
			f.desc = f.Label
		} else {
			f.desc = "{" + f.UUID + "}"
		}
	}
}

// sysfsInfo reads a mounted filesystem's label and devices from
// /sys/fs/btrfs/<uuid>/.
func sysfsInfo(uuid string) (label string, devices []string) {
	dir := filepath.Join("/sys/fs/btrfs", uuid)
	if b, err := os.ReadFile(filepath.Join(dir, "label")); err == nil {
		label = strings.TrimRight(string(b), "\n")
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "devices"))
	for _, e := range ents {
		devices = append(devices, devNode(filepath.Join(dir, "devices", e.Name()), e.Name()))
	}
	return label, devices
}

// Mounted lists the mounted Btrfs filesystems, each with an open directory
// (Top). Close the returned set when done.
func Mounted() (*Set, error) {
	inv, err := newInventory(true)
	if err != nil {
		return nil, err
	}
	return &Set{Filesystems: inv.fss, inv: inv}, nil
}

// Inventory lists every Btrfs filesystem the system has: the mounted ones,
// each with an open directory (Top), and the ones plugged in but not
// mounted, found by reading the superblock of every block device. It is
// what show walks. Close the returned set when done.
func Inventory() (*Set, error) {
	inv, err := newInventory(true)
	if err != nil {
		return nil, err
	}
	if err := inv.addPlugged(); err != nil {
		inv.close()
		return nil, err
	}
	return &Set{Filesystems: inv.fss, inv: inv}, nil
}
