package run

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
)

// quiet is a Reporter that keeps nothing.
type quiet struct{}

func (quiet) Notice(Notice)                           {}
func (quiet) VolumeScanned(VolumeScan)                {}
func (quiet) ScanProgress(VolumeScan)                 {}
func (quiet) DedupeEvent(FilesystemRef, dedupe.Event) {}

// dedupOnce runs one bedup dedup as the command does: open the database,
// discover, scan and deduplicate, close.
func dedupOnce(t *testing.T, dbPath string, o DedupOptions) dedupe.Stats {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tr, err := Discover(o.TrackOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	sum, err := tr.Dedup(ctx, db, o, quiet{})
	if err != nil {
		t.Fatal(err)
	}
	st := sum.Total
	t.Logf("%d groups, %d dedupe calls, %d files shared, %d bytes freed, %d kept read-only",
		st.Groups, st.DedupeCalls, st.FilesShared, st.BytesFreed, st.KeptReadOnly)
	return st
}

// snapshotLayout builds a testfs.SnapshotLayout and returns it with its
// files and a database path. The filesystem is mounted noatime: the test
// reads every file between runs, and an atime update is a change of the
// inode that the next scan would see.
func snapshotLayout(t *testing.T) (*testfs.FS, *testfs.SnapshotLayout, []string, string) {
	fs := testfs.New(t, testfs.Options{MountOpts: "noatime"})
	l := &testfs.SnapshotLayout{}
	l.Build(t, fs)
	return fs, l, l.Files(t), filepath.Join(t.TempDir(), "db.sqlite")
}

// checkIdeal fails t unless the files use the least data they can with
// the pinned ones left as they are: every other duplicate shares its
// extents with a copy.
func checkIdeal(t *testing.T, fs *testfs.FS, files []string, pinned func(string) bool) testfs.Usage {
	t.Helper()
	fs.Sync(t)
	u := testfs.DataUsage(t, files, pinned)
	if u.Now != u.Least || len(u.Lone) > 0 {
		t.Errorf("files use %d bytes, could use %d; sharing with no copy: %q", u.Now, u.Least, u.Lone)
	}
	return u
}

// unchangedRun fails t unless a run made no dedupe call, examined no size
// group and left every file's extents as they were.
func unchangedRun(t *testing.T, st dedupe.Stats, files []string, extents map[string][]btrfs.Extent) {
	t.Helper()
	if st.Groups != 0 || st.DedupeCalls != 0 || st.FilesShared != 0 || st.FilesHashed+st.FilesSampled != 0 {
		t.Errorf("an unchanged rerun did work: %+v", st)
	}
	sameExtents(t, files, extents)
}

// sameExtents fails t for every file whose extent map is not the one
// recorded.
func sameExtents(t *testing.T, files []string, extents map[string][]btrfs.Extent) {
	t.Helper()
	for _, p := range files {
		if got := testfs.Extents(t, p); !slices.Equal(got, extents[p]) {
			t.Errorf("%s moved:\n%+v\n%+v", p, extents[p], got)
		}
	}
}

// frozenFiles counts the files the database remembers as frozen.
func frozenFiles(t *testing.T, dbPath string) int {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fss, err := db.Filesystems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fs := range fss {
		vols, err := db.Volumes(ctx, fs.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vols {
			inos, err := db.FrozenInodes(ctx, v.ID)
			if err != nil {
				t.Fatal(err)
			}
			n += len(inos)
		}
	}
	return n
}

func extentMaps(t *testing.T, files []string) map[string][]btrfs.Extent {
	m := map[string][]btrfs.Extent{}
	for _, p := range files {
		m[p] = testfs.Extents(t, p)
	}
	return m
}

// On a home subvolume with read-only snapshots taken between rounds of
// edits and a backup copy, the first dedup frees what can be freed
// without writing into the snapshots, and every later run is free: no
// size group examined, no dedupe call, no file moved from one extent to
// another.
func TestSnapshotsStable(t *testing.T) {
	fs, l, files, db := snapshotLayout(t)
	o := DedupOptions{TrackOptions: TrackOptions{Filters: []string{fs.Mnt}, SizeCutoff: 1}}
	states := testfs.States(t, files...)
	before := testfs.DataUsage(t, files, l.InSnapshot)
	used := fs.DataUsed(t)

	first := dedupOnce(t, db, o)
	checkIdeal(t, fs, files, l.InSnapshot)
	if want, freed := before.Now-before.Least, int64(used-fs.DataUsed(t)); freed != want || first.BytesFreed != want {
		t.Errorf("freed %d bytes (said %d), want %d", freed, first.BytesFreed, want)
	}
	testfs.Unchanged(t, states)
	extents := extentMaps(t, files)
	for range 5 {
		unchangedRun(t, dedupOnce(t, db, o), files, extents)
		testfs.Unchanged(t, states)
	}

	// A new copy brings its size group back, the remembered snapshot
	// copies with it: the new copy joins a pinned one, nothing else moves.
	z2 := filepath.Join(l.Home, "z2")
	testfs.Run(t, "cp", "--reflink=never", filepath.Join(l.Home, "z"), z2)
	states[z2] = testfs.State(t, z2)
	st := dedupOnce(t, db, o)
	if st.Groups != 1 || st.DedupeCalls != 1 || st.FilesShared != 1 || st.BytesFreed == 0 {
		t.Errorf("a new copy: %+v", st)
	}
	sameExtents(t, files, extents)
	files = append(files, z2)
	checkIdeal(t, fs, files, l.InSnapshot)
	unchangedRun(t, dedupOnce(t, db, o), files, extentMaps(t, files))
	testfs.Unchanged(t, states)
}

// The files left as they are only because they are in snapshots nobody
// named come back when the snapshots are named (--include-frozen), and are
// merged: then every content is on one extent, and later runs, with the
// snapshots named or not, are free again.
func TestSnapshotsNamed(t *testing.T) {
	fs, l, files, db := snapshotLayout(t)
	o := DedupOptions{TrackOptions: TrackOptions{Filters: []string{fs.Mnt}, SizeCutoff: 1}}
	named := o
	named.IncludeFrozen = true
	states := testfs.States(t, files...)
	first := dedupOnce(t, db, o)
	frozen := frozenFiles(t, db)
	if first.KeptReadOnly == 0 || frozen != first.KeptReadOnly {
		t.Fatalf("%d files kept in snapshots, %d remembered", first.KeptReadOnly, frozen)
	}
	after := checkIdeal(t, fs, files, l.InSnapshot)
	used := fs.DataUsed(t)

	dryRun := named
	dryRun.DryRun = true
	dry := dedupOnce(t, db, dryRun)
	st := dedupOnce(t, db, named)
	none := func(string) bool { return false }
	all := checkIdeal(t, fs, files, none)
	if st.Groups == 0 || st.FilesShared == 0 || st.KeptReadOnly != 0 || frozenFiles(t, db) != 0 {
		t.Errorf("naming the snapshots: %+v", st)
	}
	if dry.FilesShared != st.FilesShared || dry.BytesFreed != st.BytesFreed || dry.Groups != st.Groups {
		t.Errorf("the dry run said %+v, the run did %+v", dry, st)
	}
	if want, freed := after.Now-all.Now, int64(used-fs.DataUsed(t)); freed != want || st.BytesFreed != want || want == 0 {
		t.Errorf("freed %d bytes (said %d), want %d", freed, st.BytesFreed, want)
	}
	testfs.Unchanged(t, states)
	extents := extentMaps(t, files)
	for _, o := range []DedupOptions{o, named, o} {
		unchangedRun(t, dedupOnce(t, db, o), files, extents)
	}
	testfs.Unchanged(t, states)
}
