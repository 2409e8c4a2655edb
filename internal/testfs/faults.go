package testfs

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// CorruptBlock overwrites, on the device under the filesystem, the 4 KiB
// data block holding byte off of the file at path, in every copy (DUP
// profiles keep two), and evicts the file's cached pages: reads of that
// block then fail their checksum and return EIO. The file's extent map
// gives the block's logical address; btrfs-map-logical maps it to the
// device. The filesystem must be one of New's (single device, image file).
func (fs *FS) CorruptBlock(t testing.TB, path string, off uint64) {
	t.Helper()
	fs.Sync(t)
	off &^= 4095
	var logical uint64
	for _, e := range Extents(t, path) {
		if e.Logical <= off && off < e.Logical+e.Length {
			if !e.Located() {
				t.Fatalf("%s: byte %d is not in a located extent: %+v", path, off, e)
			}
			logical = e.Physical + off - e.Logical
		}
	}
	if logical == 0 {
		t.Fatalf("%s: no extent holds byte %d", path, off)
	}
	img, err := os.OpenFile(fs.Image, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	copies := 0
	// "mirror 1 logical L physical P device D", one line per copy.
	for _, line := range strings.Split(Run(t, "btrfs-map-logical", "-l", strconv.FormatUint(logical, 10), fs.Dev), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[0] != "mirror" || f[4] != "physical" {
			continue
		}
		phys, err := strconv.ParseInt(f[5], 10, 64)
		if err != nil {
			t.Fatalf("btrfs-map-logical: %q: %v", line, err)
		}
		if _, err := img.WriteAt(bytes.Repeat([]byte{0xba, 0xd0}, 2048), phys); err != nil {
			t.Fatal(err)
		}
		copies++
	}
	if copies == 0 {
		t.Fatalf("btrfs-map-logical found no copy of logical address %d", logical)
	}
	if err := img.Sync(); err != nil {
		t.Fatal(err)
	}
	EvictCache(t, path)
}

// EvictCache drops the cached pages of the file at path, so that the next
// read goes to the device.
func EvictCache(t testing.TB, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
}

// Remount changes the mount options of the filesystem, e.g. "ro" or "rw".
// A remount read-only is refused (EBUSY) while a write is in flight, a
// FIDEDUPERANGE included: it is tried again for up to a second.
func (fs *FS) Remount(t testing.TB, opts string) {
	t.Helper()
	Run(t, "sh", "-c", RemountCommand(fs.Mnt, opts))
}

// RemountCommand is a shell command that remounts mnt with opts, trying
// again for up to a second while the kernel answers that it is busy (see
// Remount): for test hooks that run commands.
func RemountCommand(mnt, opts string) string {
	m := shellQuote(mnt)
	return "for i in $(seq 100); do mount -o remount," + opts + " " + m + " 2>/dev/null && exit 0; sleep 0.01; done; mount -o remount," + opts + " " + m
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
