package volume

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/mountinfo"
)

// inventory is every Btrfs filesystem known to this run.
type inventory struct {
	fss     []*Filesystem
	byUUID  map[string]*Filesystem
	plugged bool // blkid was consulted
}

func (inv *inventory) close() {
	for _, f := range inv.fss {
		if f.top != nil {
			f.top.Close()
			f.top = nil
		}
	}
}

// newInventory finds the mounted Btrfs filesystems: every Btrfs mount point
// is opened and asked for its filesystem id, which matches mounts to
// filesystems whatever their device names (dm-crypt, LVM). A mount point
// hidden under another mount is left out.
func newInventory() (*inventory, error) {
	mounts, err := mountinfo.Read()
	if err != nil {
		return nil, err
	}
	inv := &inventory{byUUID: map[string]*Filesystem{}}
	for _, m := range mounts {
		if m.FSType != "btrfs" {
			continue
		}
		d, err := btrfs.OpenDir(m.MountPoint)
		if err != nil {
			continue
		}
		id, err := btrfs.MountID(d)
		if err != nil || id != uint64(m.ID) {
			d.Close() // another mount is stacked on this mount point
			continue
		}
		info, err := btrfs.GetFSInfo(d)
		if err != nil {
			d.Close()
			continue
		}
		f := inv.byUUID[info.UUID()]
		if f == nil {
			f = &Filesystem{UUID: info.UUID(), top: d}
			f.Label, f.Devices = sysfsInfo(f.UUID)
			inv.byUUID[f.UUID] = f
			inv.fss = append(inv.fss, f)
		} else {
			d.Close()
		}
		f.Mounts = append(f.Mounts, m)
	}
	inv.describe()
	return inv, nil
}

// addPlugged adds the filesystems blkid knows that are not mounted.
func (inv *inventory) addPlugged() error {
	if inv.plugged {
		return nil
	}
	inv.plugged = true
	devs, err := blkidAll()
	if err != nil {
		return err
	}
	for _, p := range devs {
		f := inv.byUUID[p.UUID]
		if f == nil {
			f = &Filesystem{UUID: p.UUID, Label: p.Label}
			inv.byUUID[p.UUID] = f
			inv.fss = append(inv.fss, f)
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
		devices = append(devices, "/dev/"+e.Name())
	}
	return label, devices
}

// Mounted lists the mounted Btrfs filesystems, each with an open directory
// (Top). Close the returned set when done.
func Mounted() (*Set, error) {
	inv, err := newInventory()
	if err != nil {
		return nil, err
	}
	return &Set{Filesystems: inv.fss, inv: inv}, nil
}

// Inventory lists every Btrfs filesystem the system has: the mounted ones
// and, through blkid, the ones plugged in but not mounted. It is what show
// walks. Close the returned set when done.
func Inventory() (*Set, error) {
	inv, err := newInventory()
	if err != nil {
		return nil, err
	}
	if err := inv.addPlugged(); err != nil {
		inv.close()
		return nil, err
	}
	return &Set{Filesystems: inv.fss, inv: inv}, nil
}

