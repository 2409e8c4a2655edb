package scan_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/scan"
	"github.com/bedup/bedup/internal/testfs"
)

// below returns the inode numbers the store has below directory dir.
func (f *fixture) below(t *testing.T, volID int64, dir string) []uint64 {
	t.Helper()
	got, err := f.db.InodesBelow(context.Background(), volID, []uint64{ino(t, dir)})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// inos returns the sorted inode numbers of paths.
func inos(t *testing.T, paths ...string) []uint64 {
	t.Helper()
	var out []uint64
	for _, p := range paths {
		out = append(out, ino(t, p))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// The scan records every directory's and every candidate's parents, and
// keeps them right across renames, hard links and deletions, reading only
// what changed.
func TestScanRecordsAncestry(t *testing.T) {
	f := newFixture(t)
	big := testfs.Bytes(1, 8192)
	p := func(rel string) string { return filepath.Join(f.dir, rel) }
	for _, rel := range []string{"D/e/f/x", "D/y", "D/e/y2", "out/z", "out/m/q", "out/m/n/r"} {
		testfs.WriteFile(t, p(rel), big)
	}
	testfs.WriteFile(t, p("D/small"), []byte("tiny"))
	os.MkdirAll(p("D/empty"), 0o755)

	r := f.scan(t, scan.Options{SizeCutoff: 4096})
	D := p("D")
	want := inos(t, D, p("D/e"), p("D/e/f"), p("D/e/f/x"), p("D/y"), p("D/e/y2"), p("D/empty"))
	if got := f.below(t, r.VolID, D); !slices.Equal(got, want) {
		t.Errorf("first scan: below D %v, want %v (no row for the small file)", got, want)
	}
	root := f.below(t, r.VolID, f.dir)
	if len(root) != len(want)+len(inos(t, p("out"), p("out/z"), p("out/m"), p("out/m/q"), p("out/m/n"), p("out/m/n/r")))+1 {
		t.Errorf("below the root: %v", root)
	}

	// Between two scans: a file renamed out of D, a hard link into D, a
	// directory deleted with a file in it after another was moved out of
	// it, a directory moved into D with its files.
	zIno := ino(t, p("out/z"))
	steps := []func() error{
		func() error { return os.Rename(p("D/y"), p("out/y")) },
		func() error { return os.Link(p("out/z"), p("D/zlink")) },
		func() error { return os.Rename(p("D/e/y2"), p("out/y2")) },
		func() error { return os.RemoveAll(p("D/e")) },
		func() error { return os.Rename(p("out/m"), p("D/m")) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	r = f.scan(t, scan.Options{})
	want = inos(t, D, p("D/zlink"), p("D/m"), p("D/m/q"), p("D/m/n"), p("D/m/n/r"), p("D/empty"))
	if got := f.below(t, r.VolID, D); !slices.Equal(got, want) {
		t.Errorf("after the changes: below D %v, want %v", got, want)
	}
	if got := f.below(t, r.VolID, p("out")); !slices.Equal(got, inos(t, p("out"), p("out/y"), p("out/y2"), p("out/z"))) {
		t.Errorf("below out %v", got)
	}
	if ps, err := f.db.Parents(context.Background(), r.VolID, zIno); err != nil || len(ps) != 2 {
		t.Errorf("the hard-linked file's parents %v, %v: want both directories", ps, err)
	}

	// Unchanged: nothing read, the parents stay.
	again := f.scan(t, scan.Options{})
	if !again.Unchanged || again.Items != 0 || again.Calls != 0 {
		t.Errorf("unchanged rescan: %+v", again)
	}
	if got := f.below(t, r.VolID, D); !slices.Equal(got, want) {
		t.Errorf("after an unchanged rescan: below D %v", got)
	}
}

// The names of an inode in a directory that outgrow its INODE_REF item go
// to INODE_EXTREF items; and an inode's refs may lie in leaves a change did
// not rewrite. Either way the scan knows every parent.
func TestScanParentsAcrossItemsAndLeaves(t *testing.T) {
	f := newFixture(t)
	p := func(rel string) string { return filepath.Join(f.dir, rel) }
	ctx := context.Background()
	long := func(i int) string { return fmt.Sprintf("%03d%s", i, strings.Repeat("n", 250)) }

	// One file linked 100 times into T under long names, then the first
	// 70 names (those of the INODE_REF item) and the original removed:
	// T holds it through extended refs only.
	ext := testfs.WriteFile(t, p("orig"), testfs.Bytes(1, 8192))
	os.Mkdir(p("T"), 0o755)
	for i := range 100 {
		if err := os.Link(ext, p("T/"+long(i))); err != nil {
			t.Fatal(err)
		}
	}
	extIno := ino(t, ext)
	for i := range 70 {
		os.Remove(p("T/" + long(i)))
	}
	os.Remove(ext)

	// Another file with one long name in each of 100 directories: its
	// INODE_REF items fill more than one leaf.
	spread := testfs.WriteFile(t, p("spread"), testfs.Bytes(2, 8192))
	var dirs []string
	for i := range 100 {
		d := p(fmt.Sprintf("d%03d", i))
		os.Mkdir(d, 0o755)
		if err := os.Link(spread, d+"/"+long(i)); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	os.Remove(spread)
	spreadIno := ino(t, dirs[0]+"/"+long(0))

	r := f.scan(t, scan.Options{SizeCutoff: 4096})
	if ps, err := f.db.Parents(ctx, r.VolID, extIno); err != nil || !slices.Equal(ps, inos(t, p("T"))) {
		t.Errorf("parents through extended refs: %v, %v", ps, err)
	}
	wantSpread := inos(t, dirs...)
	if ps, err := f.db.Parents(ctx, r.VolID, spreadIno); err != nil || !slices.Equal(ps, wantSpread) {
		t.Errorf("first scan: %d parents of the spread file, want %d (%v)", len(ps), len(wantSpread), err)
	}

	// A chmod rewrites the leaf of the inode item only.
	os.Chmod(dirs[0]+"/"+long(0), 0o600)
	os.Chmod(p("T/"+long(99)), 0o600)
	r = f.scan(t, scan.Options{})
	if ps, err := f.db.Parents(ctx, r.VolID, spreadIno); err != nil || !slices.Equal(ps, wantSpread) {
		t.Errorf("after a chmod: %d parents of the spread file, want %d (%v)", len(ps), len(wantSpread), err)
	}
	if ps, err := f.db.Parents(ctx, r.VolID, extIno); err != nil || !slices.Equal(ps, inos(t, p("T"))) {
		t.Errorf("after a chmod: parents through extended refs: %v, %v", ps, err)
	}
}
