package run

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/partial"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
)

// reporter collects what a run reports.
type reporter struct{ partial []partial.Event }

func (r *reporter) Notice(Notice)                                 {}
func (r *reporter) VolumeScanned(VolumeScan)                      {}
func (r *reporter) ScanProgress(VolumeScan)                       {}
func (r *reporter) DedupeEvent(FilesystemRef, dedupe.Event)       {}
func (r *reporter) PartialEvent(_ FilesystemRef, e partial.Event) { r.partial = append(r.partial, e) }

// dedup runs bedup dedup over fs with a fresh Tracking.
func dedup(t *testing.T, fs *testfs.FS, db *store.DB, o DedupOptions) (Summary, *reporter) {
	t.Helper()
	o.Filters = []string{fs.Mnt}
	tr, err := Discover(o.TrackOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	rep := &reporter{}
	sum, err := tr.Dedup(context.Background(), db, o, rep)
	if err != nil {
		t.Fatal(err)
	}
	return sum, rep
}

// A dedup run shares the parts of a clone after the whole-file pass, and
// the next run over the unchanged files does no work in either pass;
// --no-extents leaves the clone alone.
func TestDedupPartial(t *testing.T) {
	fs := testfs.New(t)
	img := testfs.Bytes(9, 8<<20)
	testfs.WriteFile(t, fs.Path("a.img"), img)
	testfs.WriteFile(t, fs.Path("b.img"), testfs.WithBlocksChanged(img, 90, 7, 1000))
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	sum, _ := dedup(t, fs, db, DedupOptions{NoExtents: true})
	if sum.Partial.FilesIndexed != 0 || sum.Partial.FilesShared != 0 {
		t.Errorf("--no-extents: %+v", sum.Partial)
	}
	sum, rep := dedup(t, fs, db, DedupOptions{})
	if sum.Partial.FilesShared != 1 || sum.Partial.BytesFreed < 8<<20-8192 || len(rep.partial) != 1 {
		t.Errorf("first run: %+v, %d events", sum.Partial, len(rep.partial))
	}
	sum, _ = dedup(t, fs, db, DedupOptions{})
	p, w := sum.Partial, sum.Total
	if p.FilesChecked != 0 || p.FilesIndexed != 0 || p.DedupeCalls != 0 || p.BytesRead != 0 || w.BytesRead != 0 || w.DedupeCalls != 0 {
		t.Errorf("unchanged rerun did work: partial %+v, whole-file %+v", p, w)
	}
}
