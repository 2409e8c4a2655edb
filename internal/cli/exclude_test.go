package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/cli"
	"github.com/bedup/bedup/internal/testfs"
)

// dedupTotals runs bedup dedup --json and returns its summary's total.
func dedupTotals(t *testing.T, args ...string) map[string]float64 {
	t.Helper()
	out, stderr, err := bedup(t, append([]string{"dedup", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("dedup %v: %v\n%s", args, err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var ev struct {
		Type  string
		Total map[string]any
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ev); err != nil || ev.Type != "summary" {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	m := map[string]float64{}
	for k, v := range ev.Total {
		if n, ok := v.(float64); ok {
			m[k] = n
		}
	}
	return m
}

// --exclude leaves the matching files out of deduplication (by name, by
// directory, by any of a file's hard links) while their identical twins
// are shared; a rerun does no work, and so does a run without the
// patterns, until a new twin brings the group back.
func TestDedupExclude(t *testing.T) {
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "db.sqlite")
	x, y, z := testfs.Bytes(1, 300<<10), testfs.Bytes(2, 200<<10), testfs.Bytes(3, 150<<10)
	aISO := testfs.WriteFile(t, fs.Path("a.iso"), x)
	bISO := testfs.WriteFile(t, fs.Path("sub/b.iso"), x)
	cDat := testfs.WriteFile(t, fs.Path("c.dat"), x)
	dDat := testfs.WriteFile(t, fs.Path("sub/d.dat"), x)
	e := testfs.WriteFile(t, fs.Path("cache/e"), y)
	f := testfs.WriteFile(t, fs.Path("cache/deep/f"), y)
	g := testfs.WriteFile(t, fs.Path("g"), y)
	h := testfs.WriteFile(t, fs.Path("h"), y)
	k := testfs.WriteFile(t, fs.Path("k"), z)
	if err := os.Link(k, fs.Path("cache/k-link")); err != nil {
		t.Fatal(err)
	}
	k2 := testfs.WriteFile(t, fs.Path("k2"), z)
	all := []string{aISO, bISO, cDat, dDat, e, f, g, h, k, k2}
	fs.Sync(t)
	before := testfs.States(t, all...)
	kept := map[string]string{}
	for _, p := range []string{aISO, bISO, e, f, k, k2} {
		kept[p] = fmt.Sprint(testfs.Extents(t, p))
	}

	args := []string{"--db-path", db, "--exclude", "*.iso", "--exclude", fs.Path("cache") + "/*", fs.Mnt}
	tot := dedupTotals(t, args...)
	// a.iso, b.iso, cache/e, cache/deep/f, and k by its link in cache.
	// k2 is alone once k is left out: its group is no "already shared" one.
	if tot["files_excluded"] != 5 || tot["files_shared"] != 2 || tot["files_skipped"] != 0 || tot["already_shared_groups"] != 0 {
		t.Errorf("excluded %v, shared %v, skipped %v, already shared groups %v; want 5, 2, 0, 0",
			tot["files_excluded"], tot["files_shared"], tot["files_skipped"], tot["already_shared_groups"])
	}
	for _, pair := range [][2]string{{cDat, dDat}, {g, h}} {
		if !testfs.Shares(t, pair[0], pair[1]) {
			t.Errorf("%s and %s do not share their extents", pair[0], pair[1])
		}
	}
	for p, ext := range kept {
		if got := fmt.Sprint(testfs.Extents(t, p)); got != ext {
			t.Errorf("%s: extents changed:\n%s\n%s", p, ext, got)
		}
	}
	testfs.Unchanged(t, before)

	// Excluded files are no longer flagged: no group comes back, with the
	// patterns or without them.
	for _, a := range [][]string{args, {"--db-path", db, fs.Mnt}} {
		tot = dedupTotals(t, a...)
		if tot["size_groups"] != 0 || tot["files_excluded"] != 0 || tot["bytes_read"] != 0 || tot["files_shared"] != 0 {
			t.Errorf("rerun %v did work: %v", a, tot)
		}
	}
	// A new twin brings the group back; without the patterns, the .iso
	// files are shared too.
	l := testfs.WriteFile(t, fs.Path("l"), x)
	tot = dedupTotals(t, "--db-path", db, fs.Mnt)
	if tot["files_excluded"] != 0 || tot["files_shared"] != 3 {
		t.Errorf("after a new twin: %v", tot)
	}
	for _, p := range []string{aISO, bISO, l} {
		if !testfs.Shares(t, cDat, p) {
			t.Errorf("%s does not share c.dat's extents", p)
		}
	}
}

// A malformed pattern is a usage error, on scan as on dedup.
func TestExcludeBadPattern(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db.sqlite")
	for _, cmd := range []string{"scan", "dedup"} {
		_, stderr, err := bedup(t, cmd, "--db-path", db, "--exclude", "[a-", "/")
		if !cli.IsUsage(err) || !strings.Contains(stderr, "--exclude") {
			t.Errorf("%s --exclude '[a-': %v, %q; want a usage error", cmd, err, stderr)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a usage error created the database")
	}
}
