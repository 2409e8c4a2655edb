// Package testfs gives tests a real Btrfs: a sparse image file, attached to a
// loop device, formatted with mkfs.btrfs and mounted in a temporary
// directory, plus helpers to build fixtures on it (subvolumes, snapshots,
// files of given bytes, NOCOW and immutable files) and to read the kernel's
// truth back (FIEMAP sharing, data usage, file metadata).
//
// Tests that need it call Require first. Without root, mkfs.btrfs or loop
// devices they are skipped on a developer's laptop, but fail when the CI
// environment variable is set: a suite that silently skips its real-Btrfs
// tests proves nothing.
package testfs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Missing says why real-Btrfs tests cannot run here, or "" if they can.
func Missing() string {
	if os.Geteuid() != 0 {
		return "not running as root"
	}
	for _, tool := range []string{"mkfs.btrfs", "btrfs", "losetup", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " not found (install btrfs-progs)"
		}
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		return "no loop device support (/dev/loop-control)"
	}
	return ""
}

// Require skips t when real Btrfs tests cannot run, or fails it when the
// CI environment variable is set.
func Require(t testing.TB) {
	t.Helper()
	if why := Missing(); why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("real Btrfs needed and CI is set: %s", why)
		}
		t.Skipf("real Btrfs needed: %s", why)
	}
}

// Options shape a new filesystem.
type Options struct {
	SizeMiB   int      // image size; default 512
	MkfsArgs  []string // extra mkfs.btrfs arguments
	MountOpts string   // extra mount options, comma separated
}

// FS is one mounted test filesystem.
type FS struct {
	Mnt   string // mount point
	Image string // backing file
	Dev   string // loop device
	dir   string
}

// Create makes and mounts a fresh Btrfs under dir, which must exist and be
// empty-ish; Close undoes it. Use New inside tests; Create serves callers
// without a testing.TB (testscript setup).
func Create(dir string, o Options) (*FS, error) {
	if o.SizeMiB == 0 {
		o.SizeMiB = 512
	}
	fs := &FS{dir: dir, Image: filepath.Join(dir, "btrfs.img"), Mnt: filepath.Join(dir, "mnt")}
	img, err := os.Create(fs.Image)
	if err != nil {
		return nil, err
	}
	err = img.Truncate(int64(o.SizeMiB) << 20)
	img.Close()
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(fs.Mnt, 0o755); err != nil {
		return nil, err
	}
	args := append([]string{"-q", "-f"}, o.MkfsArgs...)
	if _, err := run("mkfs.btrfs", append(args, fs.Image)...); err != nil {
		return nil, err
	}
	dev, err := run("losetup", "--find", "--show", fs.Image)
	if err != nil {
		return nil, err
	}
	fs.Dev = strings.TrimSpace(dev)
	mountArgs := []string{"-t", "btrfs"}
	if o.MountOpts != "" {
		mountArgs = append(mountArgs, "-o", o.MountOpts)
	}
	if _, err := run("mount", append(mountArgs, fs.Dev, fs.Mnt)...); err != nil {
		run("losetup", "-d", fs.Dev)
		return nil, err
	}
	return fs, nil
}

// Close unmounts the filesystem and detaches its loop device, retrying a
// busy unmount for a while and falling back to a lazy one, so that a failed
// test never leaves a mount behind.
func (fs *FS) Close() error {
	var err error
	for range 20 {
		if _, err = run("umount", fs.Mnt); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		if _, lazyErr := run("umount", "-l", fs.Mnt); lazyErr != nil {
			return fmt.Errorf("unmount %s: %w", fs.Mnt, err)
		}
	}
	if _, err := run("losetup", "-d", fs.Dev); err != nil {
		return err
	}
	return os.Remove(fs.Image)
}

// New makes a fresh mounted Btrfs for t, removed when t ends.
func New(t testing.TB, o ...Options) *FS {
	t.Helper()
	Require(t)
	var opt Options
	if len(o) > 0 {
		opt = o[0]
	}
	fs, err := Create(t.TempDir(), opt)
	if err != nil {
		t.Fatalf("make test Btrfs: %v", err)
	}
	t.Cleanup(func() {
		if err := fs.Close(); err != nil {
			t.Errorf("remove test Btrfs: %v", err)
		}
	})
	return fs
}

// Path joins parts under the mount point.
func (fs *FS) Path(parts ...string) string {
	return filepath.Join(append([]string{fs.Mnt}, parts...)...)
}

// run executes a command and returns its stdout, or an error with stderr.
func run(name string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// Run executes a command for a test and fails it on error.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := run(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Subvolume creates a subvolume at rel (relative to the mount point).
func (fs *FS) Subvolume(t testing.TB, rel string) string {
	t.Helper()
	p := fs.Path(rel)
	Run(t, "btrfs", "-q", "subvolume", "create", p)
	return p
}

// Snapshot snapshots the subvolume at src (relative) to dst, read-only if ro.
func (fs *FS) Snapshot(t testing.TB, src, dst string, ro bool) string {
	t.Helper()
	args := []string{"-q", "subvolume", "snapshot"}
	if ro {
		args = append(args, "-r")
	}
	p := fs.Path(dst)
	Run(t, "btrfs", append(args, fs.Path(src), p)...)
	return p
}

// DataUsed returns the bytes of data the filesystem stores ("Data ... used"
// of btrfs filesystem df), after committing the current transaction so that
// freed extents are counted.
func (fs *FS) DataUsed(t testing.TB) uint64 {
	t.Helper()
	Run(t, "btrfs", "filesystem", "sync", fs.Mnt)
	out := Run(t, "btrfs", "filesystem", "df", "-b", fs.Mnt)
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "Data") {
			continue
		}
		i := strings.Index(line, "used=")
		if i < 0 {
			break
		}
		v, err := strconv.ParseUint(strings.TrimSpace(line[i+len("used="):]), 10, 64)
		if err != nil {
			t.Fatalf("parse %q: %v", line, err)
		}
		return v
	}
	t.Fatalf("no Data line in btrfs filesystem df output:\n%s", out)
	return 0
}

// Sync commits the filesystem's current transaction.
func (fs *FS) Sync(t testing.TB) {
	t.Helper()
	Run(t, "btrfs", "filesystem", "sync", fs.Mnt)
}
