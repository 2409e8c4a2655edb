package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/testfs"
)

// TestPartialCLI: an image and its clone with a few blocks changed are
// deduplicated in part by a plain dedup; -n lists it first, --json's
// partial event and summary follow docs/json.md, and --no-extents leaves
// such files alone.
func TestPartialCLI(t *testing.T) {
	set := schemas(t)
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "bedup.db")
	base := testfs.Bytes(11, 8<<20)
	clone := append([]byte(nil), base...)
	for _, off := range []int{1 << 20, 5<<20 + 4096} {
		copy(clone[off:off+4096], testfs.Bytes(12, 4096))
	}
	img := testfs.WriteFile(t, fs.Path("disk.img"), base)
	cp := testfs.WriteFile(t, fs.Path("disk-clone.img"), clone)
	before := testfs.States(t, img, cp)

	out := mustRun(t, "dedup", "--no-extents", "--db-path", db, fs.Mnt)
	if strings.Contains(out, "partial") {
		t.Errorf("--no-extents did partial work:\n%s", out)
	}
	dry := mustRun(t, "dedup", "-n", "--db-path", db, fs.Mnt)
	if !strings.Contains(dry, " <= ") || !strings.Contains(dry, "(dry run)") {
		t.Errorf("the dry run lists no partial share:\n%s", dry)
	}
	used := fs.DataUsed(t)
	out = mustRun(t, "dedup", "--json", "-v", "--db-path", db, fs.Mnt)
	found := false
	for _, e := range checkLines(t, set, "event:summary", out) {
		if e["type"] == "partial" {
			found = true
		}
	}
	if !found {
		t.Errorf("no partial event:\n%s", out)
	}
	fs.Sync(t)
	if drop := int64(used) - int64(fs.DataUsed(t)); drop < 7<<20 {
		t.Errorf("data used dropped by %d bytes, want nearly 8 MiB", drop)
	}
	testfs.Unchanged(t, before)
}
