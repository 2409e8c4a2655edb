package dedupe

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/scan"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
	"github.com/bedup/bedup/internal/volume"
)

// A file rewritten by another process after it was hashed keeps the
// writer's content: the kernel answers DIFFERS, bedup skips it with a
// notice and leaves it flagged; its identical siblings are still shared.
func TestConcurrentWriterKeepsItsContent(t *testing.T) {
	ctx := context.Background()
	fs := testfs.New(t)
	sv := fs.Subvolume(t, "sv")
	data := testfs.Bytes(1, 1<<20)
	f1 := testfs.WriteFile(t, sv+"/f1", data)
	f2 := testfs.WriteFile(t, sv+"/f2", data)
	f3 := testfs.WriteFile(t, sv+"/f3", data)
	fs.Sync(t)
	set, err := volume.Discover([]string{"vol:" + sv}, volume.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := scan.Volume(ctx, db, set.Volumes[0], scan.Options{SizeCutoff: 4096})
	if err != nil {
		t.Fatal(err)
	}
	written := testfs.Bytes(2, 1<<20)
	testHookBeforeShare = func() {
		testfs.WriteFile(t, f3, written) // same size, other bytes
	}
	defer func() { testHookBeforeShare = nil }()
	var notices []string
	st, err := Run(ctx, db, r.FSID, []Volume{{StoreID: r.VolID, V: set.Volumes[0], Writable: true}},
		Options{Notice: func(s string) { notices = append(notices, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if !testfs.Shares(t, f1, f2) {
		t.Error("the unchanged copies were not shared")
	}
	if got := testfs.State(t, f3); got.SHA256 != testfs.State(t, testfs.WriteFile(t, fs.Path("expected"), written)).SHA256 {
		t.Error("the writer's content was lost")
	}
	if testfs.Shares(t, f1, f3) {
		t.Error("the rewritten file shares the old content's extents")
	}
	if st.Skipped[ReasonChanged] != 1 || len(notices) != 1 || !strings.Contains(notices[0], "/f3: changed while being deduplicated") {
		t.Errorf("skips %v, notices %q", st.Skipped, notices)
	}
	rows, err := db.Inodes(ctx, r.VolID)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		want := row.Ino == ino(t, f3)
		if row.Flagged != want {
			t.Errorf("inode %d flagged %v, want %v", row.Ino, row.Flagged, want)
		}
	}
}

func ino(t *testing.T, p string) uint64 {
	t.Helper()
	s := testfs.State(t, p)
	return s.Ino
}
