package testfs

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// Tmpfs mounts a tmpfs of sizeKiB KiB on a new directory for t and
// returns it; it is unmounted when t ends. Needs root.
func Tmpfs(t testing.TB, sizeKiB int) string {
	t.Helper()
	Require(t)
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	Run(t, "mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(sizeKiB)+"k,mode=0755", "tmpfs", dir)
	t.Cleanup(func() {
		if _, err := run("umount", dir); err != nil {
			run("umount", "-l", dir)
		}
	})
	return dir
}

// FullTmpfs is a Tmpfs whose every byte is taken by a file named "filler":
// the next write on it fails with ENOSPC.
func FullTmpfs(t testing.TB) string {
	t.Helper()
	dir := Tmpfs(t, 64)
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return dir
		}
	}
}
