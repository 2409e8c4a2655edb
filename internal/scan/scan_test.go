package scan_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/bedup/bedup/internal/scan"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
	"github.com/bedup/bedup/internal/volume"
)

type fixture struct {
	fs  *testfs.FS
	dir string // the subvolume
	vol *volume.Volume
	db  *store.DB
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{fs: testfs.New(t)}
	f.dir = f.fs.Subvolume(t, "vol")
	set, err := volume.Discover([]string{"vol:" + f.dir}, volume.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Close)
	f.vol = set.Volumes[0]
	f.db, err = store.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	return f
}

func (f *fixture) scan(t *testing.T, o scan.Options) scan.Result {
	t.Helper()
	f.fs.Sync(t)
	r, err := scan.Volume(context.Background(), f.db, f.vol, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scan %d..%d cutoff %d: %d items, %d inodes, %d retained, %d dropped, %d calls, %v",
		r.From, r.To, r.Cutoff, r.Items, r.Inodes, r.Retained, r.Dropped, r.Calls, r.Elapsed)
	return r
}

// tracked returns the store's rows of the volume by inode number.
func (f *fixture) tracked(t *testing.T, volID int64) map[uint64]store.InodeState {
	t.Helper()
	rows, err := f.db.Inodes(context.Background(), volID)
	if err != nil {
		t.Fatal(err)
	}
	m := map[uint64]store.InodeState{}
	for _, r := range rows {
		m[r.Ino] = r
	}
	return m
}

// walk returns the inode numbers of the regular files of at least min
// bytes below dir, as find(1) would see them.
func walk(t *testing.T, dir string, min int64) map[uint64]int64 {
	t.Helper()
	out := map[uint64]int64{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Size() >= min {
			out[fi.Sys().(*syscall.Stat_t).Ino] = fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ino(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// populate makes n files of assorted sizes (sparse for the large ones),
// with hard links, symlinks, directories and FIFOs among them.
func populate(t *testing.T, dir string, n int) {
	t.Helper()
	sizes := []int64{0, 1, 100, 3000, 4095, 4096, 4097, 10000, 65536, 200000, 1 << 20, 1<<20 + 1, 5 << 20}
	small := make([]byte, 10000)
	for i := range n {
		d := filepath.Join(dir, fmt.Sprintf("d%02d", i%50))
		if i < 50 {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		p := filepath.Join(d, fmt.Sprintf("f%05d", i))
		size := sizes[i%len(sizes)] + int64(i/len(sizes))%3
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if size <= int64(len(small)) {
			_, err = f.Write(small[:size])
		} else {
			err = f.Truncate(size)
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		switch i % 97 {
		case 1:
			if err := os.Link(p, p+".link"); err != nil {
				t.Fatal(err)
			}
		case 2:
			if err := os.Symlink(p, p+".sym"); err != nil {
				t.Fatal(err)
			}
		case 3:
			if err := syscall.Mkfifo(p+".fifo", 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestScanTracksExactlyTheCandidates(t *testing.T) {
	f := newFixture(t)
	populate(t, f.dir, 20000)
	// Walk first: reading the directories updates their atimes (relatime),
	// a real change a later scan would rightly see.
	want := walk(t, f.dir, 4096)
	r := f.scan(t, scan.Options{SizeCutoff: 4096})
	got := f.tracked(t, r.VolID)
	if len(got) != len(want) || r.Retained != len(want) {
		t.Errorf("tracked %d inodes (retained %d), find sees %d", len(got), r.Retained, len(want))
	}
	for i, size := range want {
		if s, ok := got[i]; !ok || int64(s.Size) != size || !s.Flagged {
			t.Fatalf("inode %d (size %d): row %+v, %v", i, size, s, ok)
		}
	}
	// Nothing changed: no item read, no ioctl, nothing flagged.
	r2 := f.scan(t, scan.Options{})
	if !r2.Unchanged || r2.Items != 0 || r2.Calls != 0 || r2.Retained != 0 || r2.Cutoff != 4096 {
		t.Errorf("unchanged rescan: %+v", r2)
	}
}

func TestScanChanges(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	data := testfs.Bytes(1, 64<<10)
	names := []string{"rewritten", "appended", "deleted", "shrunk", "untouched", "neighbour"}
	for _, n := range names {
		testfs.WriteFile(t, filepath.Join(f.dir, n), data)
	}
	r := f.scan(t, scan.Options{SizeCutoff: 4096})
	if err := f.db.ClearFlags(ctx, r.VolID); err != nil {
		t.Fatal(err)
	}
	inos := map[string]uint64{}
	for _, n := range names {
		inos[n] = ino(t, filepath.Join(f.dir, n))
	}
	// Rewritten in place, same size.
	w, err := os.OpenFile(filepath.Join(f.dir, "rewritten"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteAt(testfs.Bytes(2, len(data)), 0)
	w.Close()
	a, _ := os.OpenFile(filepath.Join(f.dir, "appended"), os.O_WRONLY|os.O_APPEND, 0)
	a.Write([]byte("more"))
	a.Close()
	testfs.WriteFile(t, filepath.Join(f.dir, "new"), data)
	inos["new"] = ino(t, filepath.Join(f.dir, "new"))
	os.Remove(filepath.Join(f.dir, "deleted"))
	os.Truncate(filepath.Join(f.dir, "shrunk"), 100)

	r = f.scan(t, scan.Options{})
	got := f.tracked(t, r.VolID)
	var flagged []uint64
	for i, s := range got {
		if s.Flagged {
			flagged = append(flagged, i)
		}
	}
	slices.Sort(flagged)
	want := []uint64{inos["rewritten"], inos["appended"], inos["new"]}
	slices.Sort(want)
	if !slices.Equal(flagged, want) || r.Retained != 3 {
		t.Errorf("flagged %v (retained %d), want %v (rewritten, appended, new)", flagged, r.Retained, want)
	}
	if _, ok := got[inos["shrunk"]]; ok || r.Dropped != 1 {
		t.Errorf("shrunk file still tracked (dropped %d)", r.Dropped)
	}
	// The deleted file's inode item is gone from the tree, so the scan cannot
	// see it: its row stays until the dedup step fails to open it.
	if _, ok := got[inos["deleted"]]; !ok {
		t.Errorf("deleted file's row dropped eagerly (the scan cannot know)")
	}
	if s := got[inos["appended"]]; s.Size != uint64(len(data)+4) {
		t.Errorf("appended file recorded with size %d", s.Size)
	}
}

func TestScanCutoffChanges(t *testing.T) {
	f := newFixture(t)
	populate(t, f.dir, 2000)
	r := f.scan(t, scan.Options{SizeCutoff: 1 << 20})
	big := walk(t, f.dir, 1<<20)
	if got := f.tracked(t, r.VolID); !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(big))) {
		t.Fatalf("cutoff 1M: %d tracked, want %d", len(got), len(big))
	}
	if err := f.db.ClearFlags(context.Background(), r.VolID); err != nil {
		t.Fatal(err)
	}
	r = f.scan(t, scan.Options{SizeCutoff: 4096})
	all := walk(t, f.dir, 4096)
	got := f.tracked(t, r.VolID)
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(all))) {
		t.Fatalf("cutoff lowered to 4K: %d tracked, want %d", len(got), len(all))
	}
	// Exactly the 4K–1M band is new; the large files were left alone.
	if r.Retained != len(all)-len(big) {
		t.Errorf("lowering retained %d, want the band's %d", r.Retained, len(all)-len(big))
	}
	for i, s := range got {
		if _, isBig := big[i]; s.Flagged == isBig {
			t.Fatalf("inode %d (size %d): flagged %v", i, s.Size, s.Flagged)
		}
	}
	// Raising the cutoff drops the files below it (they were kept, as
	// candidates, and show counted them) and keeps the large ones as they
	// were.
	r = f.scan(t, scan.Options{SizeCutoff: 1 << 20})
	after := f.tracked(t, r.VolID)
	if !slices.Equal(slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(big))) || r.Retained != 0 || r.Dropped != len(all)-len(big) {
		t.Errorf("raising the cutoff: %d rows, retained %d, dropped %d; want the %d large ones, %d dropped",
			len(after), r.Retained, r.Dropped, len(big), len(all)-len(big))
	}
	for i, s := range after {
		if s != got[i] {
			t.Errorf("inode %d changed when the cutoff was raised: %+v, then %+v", i, got[i], s)
		}
	}
	if r.Cutoff != 1<<20 {
		t.Errorf("cutoff %d after raising", r.Cutoff)
	}
	// Lowering it again finds the dropped band anew.
	r = f.scan(t, scan.Options{SizeCutoff: 4096})
	if again := f.tracked(t, r.VolID); len(again) != len(all) || r.Retained != len(all)-len(big) {
		t.Errorf("lowered again: %d rows, retained %d; want %d rows, %d retained", len(again), r.Retained, len(all), len(all)-len(big))
	}
}

func TestScanInterrupted(t *testing.T) {
	f := newFixture(t)
	populate(t, f.dir, 20000)
	f.fs.Sync(t)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := scan.Volume(ctx, f.db, f.vol, scan.Options{SizeCutoff: 4096, Progress: func(scan.Result) {
		if calls++; calls == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted scan: %v", err)
	}
	r := f.scan(t, scan.Options{})
	if r.From != 0 || r.Cutoff != 4096 {
		t.Errorf("scan after an interrupted first scan did not start over: %+v", r)
	}
	want := walk(t, f.dir, 4096)
	if got := f.tracked(t, r.VolID); len(got) != len(want) {
		t.Errorf("after the interrupted scan and a full one: %d tracked, want %d", len(got), len(want))
	}
	if s, err := f.db.IntegrityCheck(context.Background()); err != nil || s != "ok" {
		t.Errorf("integrity check: %q, %v", s, err)
	}
}

func TestScanExcludes(t *testing.T) {
	f := newFixture(t)
	a := testfs.WriteFile(t, filepath.Join(f.dir, "a"), testfs.Bytes(1, 8192))
	b := testfs.WriteFile(t, filepath.Join(f.dir, "b"), testfs.Bytes(1, 8192))
	r := f.scan(t, scan.Options{SizeCutoff: 4096, Exclude: map[uint64]bool{ino(t, a): true}})
	got := f.tracked(t, r.VolID)
	if _, ok := got[ino(t, a)]; ok || len(got) != 1 || got[ino(t, b)].Size != 8192 {
		t.Errorf("excluded file tracked: %+v", got)
	}
}

// mkfs.btrfs --rootdir writes inode items with transid 0: a first scan must
// still take every file.
func TestScanMkfsRootdirImage(t *testing.T) {
	fs := testfs.MountImage(t, testfs.ManyFilesImage(t, 2000))
	set, err := volume.Discover([]string{"vol:" + fs.Mnt}, volume.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := scan.Volume(context.Background(), db, set.Volumes[0], scan.Options{SizeCutoff: 1})
	if err != nil || r.Retained != 2000 {
		t.Errorf("first scan of a --rootdir image: %+v, %v", r, err)
	}
}

// A file whose data is all inline in its metadata has nothing to share:
// it is recorded unflagged, so the dedup step never opens it. A file of
// the same size on a regular extent (shrunk from a larger one) is flagged,
// and so is an inline file that grows out of its metadata.
func TestScanInlineUnflagged(t *testing.T) {
	f := newFixture(t)
	inline := filepath.Join(f.dir, "inline")
	testfs.WriteFile(t, inline, testfs.Bytes(1, 700))
	shrunk := filepath.Join(f.dir, "shrunk")
	testfs.WriteFile(t, shrunk, testfs.Bytes(2, 8192))
	f.fs.Sync(t) // on disk before it shrinks, or it would be written inline
	if err := os.Truncate(shrunk, 700); err != nil {
		t.Fatal(err)
	}
	regular := filepath.Join(f.dir, "regular")
	testfs.WriteFile(t, regular, testfs.Bytes(3, 3000))
	r := f.scan(t, scan.Options{SizeCutoff: 1})
	got := f.tracked(t, r.VolID)
	want := map[string]bool{inline: false, shrunk: true, regular: true}
	for p, flagged := range want {
		if s, ok := got[ino(t, p)]; !ok || s.Flagged != flagged {
			t.Errorf("%s: row %+v (tracked %v), want flagged %v", filepath.Base(p), s, ok, flagged)
		}
	}
	if r.Retained != 3 {
		t.Errorf("retained %d rows, want 3", r.Retained)
	}
	a, err := os.OpenFile(inline, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.Write(testfs.Bytes(4, 5000))
	a.Close()
	r = f.scan(t, scan.Options{})
	if s := f.tracked(t, r.VolID)[ino(t, inline)]; !s.Flagged || s.Size != 5700 {
		t.Errorf("grown inline file: row %+v, want flagged at 5700 bytes", s)
	}
}
