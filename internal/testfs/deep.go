package testfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// DeepFile writes data to a new file named "file" at the bottom of a chain
// of directories below root (an existing directory), deep enough that the
// file's path relative to root is longer than minLen bytes. Each directory
// has a 200-byte name. The chain is made with *at calls, one level at a
// time, since no path that long can be passed to the kernel whole. It
// returns the file's path relative to root.
func DeepFile(t testing.TB, root string, minLen int, data []byte) string {
	t.Helper()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { unix.Close(fd) }()
	var parts []string
	for n := 0; n <= minLen; {
		name := fmt.Sprintf("%03d", len(parts)) + strings.Repeat("d", 197)
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatalf("mkdir level %d: %v", len(parts), err)
		}
		sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatalf("open level %d: %v", len(parts), err)
		}
		unix.Close(fd)
		fd = sub
		parts = append(parts, name)
		n += len(name) + 1
	}
	f, err := unix.Openat(fd, "file", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(f)
	for b := data; len(b) > 0; {
		n, err := unix.Write(f, b)
		if err != nil {
			t.Fatal(err)
		}
		b = b[n:]
	}
	return strings.Join(append(parts, "file"), "/")
}

// OpenDeep opens rel (a path below root of any length, such as DeepFile's)
// read-only, one component at a time.
func OpenDeep(t testing.TB, root, rel string) *os.File {
	t.Helper()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range strings.Split(rel, "/") {
		sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		fd = sub
	}
	f := os.NewFile(uintptr(fd), filepath.Join(root, rel))
	t.Cleanup(func() { f.Close() })
	return f
}
