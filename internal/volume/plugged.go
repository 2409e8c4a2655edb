package volume

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bedup/bedup/internal/btrfs"
)

// sysBlock lists every block device of the system, by kernel name.
const sysBlock = "/sys/class/block"

// plugged is one block device that holds a Btrfs filesystem.
type plugged struct {
	Device, UUID, Label string
}

// minSectors is the smallest device (in 512-byte sectors) that can hold a
// primary superblock.
const minSectors = (btrfs.SuperblockOffset + btrfs.SuperblockSize) / 512

// scanPlugged reads the primary superblock of every block device sysfs
// lists, but those in skip (device paths already known), and returns the
// Btrfs ones. Devices that are empty (an unattached loop device, a drive
// without medium), taken by a stacked device (a RAID member, an LVM or
// dm-crypt backing device: its contents are not a filesystem to mount), or
// that cannot be opened or read are passed over.
func scanPlugged(skip map[string]bool) ([]plugged, error) {
	ents, err := os.ReadDir(sysBlock)
	if err != nil {
		return nil, fmt.Errorf("list block devices: %w", err)
	}
	var res []plugged
	for _, e := range ents {
		dir := filepath.Join(sysBlock, e.Name())
		dev := devNode(dir, e.Name())
		if skip[dev] || !probeable(dir) {
			continue
		}
		sb, err := btrfs.ReadSuperblock(dev)
		if err != nil {
			continue
		}
		res = append(res, plugged{Device: dev, UUID: sb.UUID(), Label: sb.Label})
	}
	return res, nil
}

// probeable reports whether the block device whose sysfs directory is dir
// is large enough to hold a superblock and not held by another block
// device.
func probeable(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "size"))
	if err != nil {
		return false
	}
	sectors, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || sectors < minSectors {
		return false
	}
	holders, _ := os.ReadDir(filepath.Join(dir, "holders"))
	return len(holders) == 0
}

// devNode names the device node of the block device whose sysfs directory
// is dir: DEVNAME in its uevent file, else its kernel name with '!' for
// '/' (as udev and devtmpfs do), under /dev.
func devNode(dir, kernelName string) string {
	if f, err := os.Open(filepath.Join(dir, "uevent")); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "DEVNAME="); ok && v != "" {
				return filepath.Join("/dev", v)
			}
		}
	}
	return filepath.Join("/dev", strings.ReplaceAll(kernelName, "!", "/"))
}
