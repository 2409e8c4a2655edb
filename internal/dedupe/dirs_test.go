package dedupe

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/scan"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
	"github.com/bedup/bedup/internal/volume"
)

// scanAll scans every volume of a set, as the dedup command does, and
// returns them ready for a pass with the filesystem's store id.
func scanAll(t *testing.T, db *store.DB, set *volume.Set) ([]Volume, int64, []scan.Result) {
	t.Helper()
	var vols []Volume
	var results []scan.Result
	var fsID int64
	for _, v := range set.Volumes {
		r, err := scan.Volume(context.Background(), db, v, scan.Options{SizeCutoff: 4096})
		if err != nil {
			t.Fatal(err)
		}
		vols = append(vols, Volume{StoreID: r.VolID, V: v, Writable: true})
		results = append(results, r)
		fsID = r.FSID
	}
	return vols, fsID, results
}

// A run restricted to two directories in different subvolumes shares
// their duplicates with each other and leaves identical files outside them
// alone; an unchanged rerun reads nothing and asks nothing of the kernel.
func TestRunRestrictedToDirectories(t *testing.T) {
	ctx := context.Background()
	// noatime: reading the files to check them must not change them.
	fs := testfs.New(t, testfs.Options{MountOpts: "noatime"})
	a, b := fs.Subvolume(t, "a"), fs.Subvolume(t, "b")
	one, two := testfs.Bytes(1, 1<<20), testfs.Bytes(2, 300<<10)
	in := []string{
		testfs.WriteFile(t, a+"/photos/p1", one),
		testfs.WriteFile(t, b+"/pics/sub/p2", one),
		testfs.WriteFile(t, a+"/photos/deep/q1", two),
		testfs.WriteFile(t, b+"/pics/q2", two),
	}
	out := []string{
		testfs.WriteFile(t, a+"/other/o1", one),
		testfs.WriteFile(t, b+"/o2", one),
		testfs.WriteFile(t, fs.Path("o3"), one),
		testfs.WriteFile(t, a+"/photos-not/o4", two),
	}
	fs.Sync(t)
	before := map[string][]btrfs.Extent{}
	for _, p := range out {
		before[p] = testfs.Extents(t, p)
	}
	states := testfs.States(t, append(in, out...)...)

	set, err := volume.Discover([]string{a + "/photos", b + "/pics"}, volume.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if len(set.Volumes) != 2 || set.Volumes[0].Dirs == nil || set.Volumes[1].Dirs == nil {
		t.Fatalf("volumes %+v", set.Volumes)
	}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	vols, fsID, _ := scanAll(t, db, set)
	st, err := Run(ctx, db, fsID, vols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !testfs.Shares(t, in[0], in[1]) || !testfs.Shares(t, in[2], in[3]) {
		t.Error("the duplicates of the two directories were not shared with each other")
	}
	if st.Groups != 2 || st.FilesShared != 2 {
		t.Errorf("stats %+v: want 2 groups, 2 files shared", st)
	}
	for _, p := range out {
		if !reflect.DeepEqual(testfs.Extents(t, p), before[p]) {
			t.Errorf("%s: extent map changed", p)
		}
		if testfs.Shares(t, in[0], p) || testfs.Shares(t, in[2], p) {
			t.Errorf("%s: shares the target's extents", p)
		}
	}
	testfs.Unchanged(t, states)

	// Bring the scan past bedup's own shares (as the dedup command does),
	// then an unchanged rescan reads nothing and the pass does nothing.
	scanAll(t, db, set)
	_, _, results := scanAll(t, db, set)
	for _, r := range results {
		if !r.Unchanged || r.Items != 0 {
			t.Errorf("unchanged rescan %+v: want 0 items", r)
		}
	}
	st, err = Run(ctx, db, fsID, vols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Groups != 0 || st.DedupeCalls != 0 || st.BytesRead != 0 || st.FilesSampled != 0 || st.FilesHashed != 0 {
		t.Errorf("unchanged rerun %+v: want nothing examined, read or shared", st)
	}
	for _, p := range out {
		if !reflect.DeepEqual(testfs.Extents(t, p), before[p]) {
			t.Errorf("%s: extent map changed by the rerun", p)
		}
	}

	// The whole subvolume a, named now, includes its other files.
	whole, err := volume.Discover([]string{"vol:" + a}, volume.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer whole.Close()
	wvols, _, _ := scanAll(t, db, whole)
	if st, err = Run(ctx, db, fsID, wvols, Options{}); err != nil {
		t.Fatal(err)
	}
	if !testfs.Shares(t, in[0], out[0]) || !testfs.Shares(t, in[2], out[3]) || st.FilesShared != 2 {
		t.Errorf("whole volume: %+v; want its other two files shared", st)
	}
}
