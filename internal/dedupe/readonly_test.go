package dedupe

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/bedup/bedup/internal/testfs"
)

// Files of read-only snapshots that only serve as sources are no skips:
// one that merely gave its extents is not counted at all, and one that
// would have to be written to is kept as it is, counted apart, and
// remembered as frozen instead of flagged.
func TestReadOnlySourcesNotSkipped(t *testing.T) {
	for _, c := range []struct {
		name      string
		snapFiles []string // identical copies in the read-only snapshot
		writable  []string // and in the writable subvolume
		kept      int
	}{
		{"source only", []string{"s1"}, []string{"w1", "w2"}, 0},
		{"copy in the snapshot", []string{"s1", "s2"}, []string{"w1"}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := testfs.New(t)
			sv := fs.Subvolume(t, "sv")
			data := testfs.Bytes(1, 500000)
			for _, n := range c.snapFiles {
				testfs.WriteFile(t, sv+"/"+n, data)
			}
			fs.Snapshot(t, "sv", "snap", true)
			for _, n := range c.snapFiles {
				os.Remove(sv + "/" + n)
			}
			for _, n := range c.writable {
				testfs.WriteFile(t, sv+"/"+n, data)
			}
			e := newEnv(t, fs, "")
			st, events := e.run(t, Options{})
			if len(st.Skipped) != 0 || len(of[Skipped](events)) != 0 || st.KeptReadOnly != c.kept {
				t.Errorf("skipped %v (events %+v), kept read-only %d, want %d", st.Skipped, of[Skipped](events), st.KeptReadOnly, c.kept)
			}
			s1 := fs.Path("snap/s1")
			for _, n := range c.writable {
				if !testfs.Shares(t, s1, sv+"/"+n) {
					t.Errorf("%s does not share the snapshot's copy", n)
				}
			}
			snap := e.vols[len(e.vols)-1]
			if snap.Writable || snap.V.ID == e.vols[1].V.ID {
				t.Fatalf("last volume %s is not the read-only snapshot", snap.V.Desc)
			}
			rows, err := e.db.Inodes(context.Background(), snap.StoreID)
			if err != nil {
				t.Fatal(err)
			}
			var kept []uint64
			for _, r := range rows {
				if r.Flagged {
					t.Errorf("snapshot inode %d flagged", r.Ino)
				}
				if r.Ino != ino(t, s1) {
					kept = append(kept, r.Ino)
				}
			}
			frozen, err := e.db.FrozenInodes(context.Background(), snap.StoreID)
			if err != nil || !slices.Equal(frozen, kept) {
				t.Errorf("frozen inodes %v, %v, want %v", frozen, err, kept)
			}
		})
	}
}
