package dedupe

import (
	"context"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/testfs"
)

// A file rewritten by another process after it was hashed keeps the
// writer's content: the kernel answers DIFFERS, bedup reports it skipped
// and leaves it flagged; its identical siblings are still shared.
func TestConcurrentWriterKeepsItsContent(t *testing.T) {
	fs := testfs.New(t)
	sv := fs.Subvolume(t, "sv")
	data := testfs.Bytes(1, 1<<20)
	f1 := testfs.WriteFile(t, sv+"/f1", data)
	f2 := testfs.WriteFile(t, sv+"/f2", data)
	f3 := testfs.WriteFile(t, sv+"/f3", data)
	e := newEnv(t, fs, "vol:"+sv)
	written := testfs.Bytes(2, 1<<20)
	TestHook = func(at HookPoint) {
		if at == HookRead {
			testfs.WriteFile(t, f3, written) // same size, other bytes
		}
	}
	defer func() { TestHook = nil }()
	st, events := e.run(t, Options{})
	if !testfs.Shares(t, f1, f2) {
		t.Error("the unchanged copies were not shared")
	}
	if got := testfs.State(t, f3); got.SHA256 != testfs.State(t, testfs.WriteFile(t, fs.Path("expected"), written)).SHA256 {
		t.Error("the writer's content was lost")
	}
	if testfs.Shares(t, f1, f3) {
		t.Error("the rewritten file shares the old content's extents")
	}
	skips := of[Skipped](events)
	if st.Skipped[ReasonChanged] != 1 || len(skips) != 1 || skips[0].Reason != ReasonChanged ||
		!strings.HasSuffix(skips[0].File.Path, "/f3") || skips[0].File.Ino != ino(t, f3) {
		t.Errorf("skips %v, events %+v", st.Skipped, skips)
	}
	rows, err := e.db.Inodes(context.Background(), e.vols[0].StoreID)
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
