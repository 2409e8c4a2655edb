package testfs_test

import (
	"os"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/testfs"
)

func mounted(t *testing.T, mnt string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), " "+mnt+" ")
}

// Close must unmount and detach even while a file is still open (as after a
// test that failed before closing its files).
func TestCloseWhileBusy(t *testing.T) {
	testfs.Require(t)
	fs, err := testfs.Create(t.TempDir(), testfs.Options{SizeMiB: 200})
	if err != nil {
		t.Fatal(err)
	}
	if !mounted(t, fs.Mnt) {
		t.Fatal("not mounted after Create")
	}
	f, err := os.Create(fs.Path("busy"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := fs.Close(); err != nil {
		t.Fatal(err)
	}
	if mounted(t, fs.Mnt) {
		t.Error("still mounted after Close")
	}
}

func TestHelpers(t *testing.T) {
	fs := testfs.New(t)
	fs.Subvolume(t, "sub")
	a := testfs.WriteFile(t, fs.Path("sub/a"), testfs.Bytes(1, 100000))
	snap := fs.Snapshot(t, "sub", "snap", true)
	if err := os.WriteFile(snap+"/x", nil, 0o644); err == nil {
		t.Error("wrote into a read-only snapshot")
	}
	if !testfs.Shares(t, a, snap+"/a") {
		t.Error("a snapshot's file does not share the original's extents")
	}
	b := testfs.WriteFile(t, fs.Path("b"), testfs.Bytes(1, 100000))
	if testfs.Shares(t, a, b) || !testfs.SameContent(t, a, b) {
		t.Error("two written copies: want same content, separate extents")
	}
	if string(testfs.Bytes(1, 10)) == string(testfs.Bytes(2, 10)) {
		t.Error("different seeds gave the same bytes")
	}
}
