package main

import (
	"path/filepath"
	"testing"

	"github.com/bedup/bedup/internal/testfs"
)

// TestLongPathCommands: find-new --terse and size-lookup name a file whose
// path is longer than the kernel's path lookups answer (about 4 KiB),
// instead of stopping (find-new) or leaving it out (size-lookup).
func TestLongPathCommands(t *testing.T) {
	fs := testfs.New(t)
	vol := fs.Subvolume(t, "vol")
	const size = 200000
	rel := testfs.DeepFile(t, vol, 5000, testfs.Bytes(1, size))
	testfs.WriteFile(t, filepath.Join(vol, "short"), testfs.Bytes(2, size))
	fs.Sync(t)
	db := filepath.Join(t.TempDir(), "db.sqlite")

	out, errs, code := runBedup(t, "find-new", "--terse", vol)
	if code != 0 || errs != "" || out != rel+"\nshort\n" {
		t.Errorf("find-new --terse: exit %d, stderr %q, %d bytes of stdout; want both paths", code, errs, len(out))
	}
	if _, errs, code := runBedup(t, "scan", "-q", "--db-path", db, vol); code != 0 {
		t.Fatalf("scan: exit %d: %s", code, errs)
	}
	out, errs, code = runBedup(t, "size-lookup", "--db-path", db, "200000")
	want := filepath.Join(vol, rel) + "\n" + filepath.Join(vol, "short") + "\n"
	if code != 0 || errs != "" || out != want {
		t.Errorf("size-lookup: exit %d, stderr %q, stdout %d bytes, want %d bytes", code, errs, len(out), len(want))
	}
}
