package testfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// ManyFilesImage returns a Btrfs image file holding n one-byte files (1000
// per directory), for benchmarks that need a large tree. Building one takes
// about a minute per million files (the tree is written to tmpfs, then
// mkfs.btrfs --rootdir copies it), so the image is kept in
// $BEDUP_BENCH_DIR (default /var/tmp/bedup-bench) and reused. Mount it with
// MountImage.
func ManyFilesImage(tb testing.TB, n int) string {
	tb.Helper()
	Require(tb)
	dir := os.Getenv("BEDUP_BENCH_DIR")
	if dir == "" {
		dir = "/var/tmp/bedup-bench"
	}
	img := filepath.Join(dir, "files-"+strconv.Itoa(n)+".img")
	if _, err := os.Stat(img); err == nil {
		return img
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	tree, err := os.MkdirTemp("/dev/shm", "bedup-tree-")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(tree)
	one := []byte{'x'}
	for i := range n {
		d := filepath.Join(tree, strconv.Itoa(i/1000))
		if i%1000 == 0 {
			if err := os.Mkdir(d, 0o755); err != nil {
				tb.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(d, strconv.Itoa(i%1000)), one, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	// A name of its own: two test processes building the same image at
	// once must not write into one file (each renames a whole image).
	f, err := os.CreateTemp(dir, filepath.Base(img)+".tmp-")
	if err != nil {
		tb.Fatal(err)
	}
	tmp := f.Name()
	// About 1 KiB of metadata per file, twice over (DUP), plus slack.
	err = f.Truncate(int64(n)*4096 + 1<<30)
	f.Close()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := run("mkfs.btrfs", "-q", "-f", "--rootdir", tree, tmp); err != nil {
		os.Remove(tmp)
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, img); err != nil {
		tb.Fatal(err)
	}
	return img
}

// MountImage attaches an existing image to a loop device and mounts it for
// the test or benchmark; it is unmounted when tb ends.
func MountImage(tb testing.TB, img string) *FS {
	tb.Helper()
	Require(tb)
	fs := &FS{Image: img, Mnt: filepath.Join(tb.TempDir(), "mnt"), dir: filepath.Dir(img)}
	if err := os.Mkdir(fs.Mnt, 0o755); err != nil {
		tb.Fatal(err)
	}
	dev, err := run("losetup", "--find", "--show", img)
	if err != nil {
		tb.Fatal(err)
	}
	fs.Dev = dev[:len(dev)-1]
	if _, err := run("mount", "-o", "noatime", fs.Dev, fs.Mnt); err != nil {
		run("losetup", "-d", fs.Dev)
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		run("umount", fs.Mnt)
		run("losetup", "-d", fs.Dev)
	})
	return fs
}

// PeakRSS returns the process's peak resident set size in bytes (VmHWM).
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	var kb int64
	for _, line := range splitLines(string(b)) {
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
			return kb << 10
		}
	}
	return 0
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}
