package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/bedup/bedup/internal/testfs"
)

// TestRaisedCutoff: raising --size-cutoff drops the tracked files below
// it: show counts only the files at or above the new cutoff (it claimed
// all 8 were "of size at least 128 KiB"), size-lookup no longer lists a
// small one, and a dedup leaves two small twins alone.
func TestRaisedCutoff(t *testing.T) {
	fs := testfs.New(t)
	vol := fs.Subvolume(t, "vol")
	for i := range 6 {
		// Three pairs of 8 KiB twins.
		testfs.WriteFile(t, filepath.Join(vol, fmt.Sprintf("small%d", i)), testfs.Bytes(uint64(i/2), 8192))
	}
	small := testfs.States(t, filepath.Join(vol, "small0"), filepath.Join(vol, "small1"))
	testfs.WriteFile(t, filepath.Join(vol, "big1"), testfs.Bytes(10, 200000))
	testfs.WriteFile(t, filepath.Join(vol, "big2"), testfs.Bytes(11, 300000))
	db := filepath.Join(t.TempDir(), "db.sqlite")

	mustRun(t, "scan", "--size-cutoff", "4K", "--db-path", db, vol)
	if out := mustRun(t, "show", "--db-path", db, vol); !regexp.MustCompile(`tracking 8 inodes of size at least 4 KiB`).MatchString(out) {
		t.Fatalf("show after the scan with 4K:\n%s", out)
	}
	out := mustRun(t, "scan", "--size-cutoff", "128K", "--db-path", db, vol)
	if !regexp.MustCompile(`: unchanged since generation \d+, size cutoff 128 KiB: 6 dropped\n$`).MatchString(out) {
		t.Errorf("scan raising the cutoff:\n%s", out)
	}
	if out := mustRun(t, "show", "--db-path", db, vol); !regexp.MustCompile(`tracking 2 inodes of size at least 128 KiB`).MatchString(out) {
		t.Errorf("show after raising the cutoff:\n%s", out)
	}
	if out := mustRun(t, "size-lookup", "--db-path", db, "8192"); out != "" {
		t.Errorf("size-lookup of a size below the cutoff: %q", out)
	}
	mustRun(t, "dedup", "--db-path", db, vol)
	if testfs.Shares(t, filepath.Join(vol, "small0"), filepath.Join(vol, "small1")) {
		t.Error("dedup shared files below the raised cutoff")
	}
	testfs.Unchanged(t, small)
}
