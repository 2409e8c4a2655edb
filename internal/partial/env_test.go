package partial

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/scan"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
	"github.com/bedup/bedup/internal/volume"
)

// env is one test filesystem scanned into a fresh database, ready for a
// pass over all its volumes.
type env struct {
	fs   *testfs.FS
	db   *store.DB
	set  *volume.Set
	vols []dedupe.Volume
	fsID int64
}

func newEnv(t *testing.T, fs *testfs.FS) *env {
	t.Helper()
	return newEnvOf(t, fs, fs.Mnt)
}

// newEnvOf is newEnv for the volumes a filter selects.
func newEnvOf(t *testing.T, fs *testfs.FS, filter string) *env {
	t.Helper()
	fs.Sync(t)
	set, err := volume.Discover([]string{filter}, volume.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{fs: fs, db: db, set: set}
	t.Cleanup(func() {
		db.Close()
		set.Close()
	})
	e.scan(t)
	return e
}

// scan scans every volume (again), as a run does before its passes.
func (e *env) scan(t *testing.T) {
	t.Helper()
	e.fs.Sync(t)
	e.vols = e.vols[:0]
	for i, v := range append(slices.Clip(e.set.Volumes), e.set.Sources...) {
		r, err := scan.Volume(context.Background(), e.db, v, scan.Options{SizeCutoff: 4096})
		if err != nil {
			t.Fatal(err)
		}
		e.fsID = r.FSID
		e.vols = append(e.vols, dedupe.Volume{StoreID: r.VolID, V: v, Writable: i < len(e.set.Volumes)})
	}
}

// run runs one pass and returns its stats and events.
func (e *env) run(t *testing.T, o Options) (Stats, []Event) {
	t.Helper()
	var events []Event
	o.Events = func(ev Event) { events = append(events, ev) }
	o.ResolvePaths = true
	st, err := Run(context.Background(), e.db, e.fsID, e.vols, o)
	if err != nil {
		t.Fatal(err)
	}
	return st, events
}

// noWork fails t when a pass did any extent work.
func noWork(t *testing.T, st Stats) {
	t.Helper()
	if st.FilesIndexed != 0 || st.DedupeCalls != 0 || st.BytesRead != 0 || st.BytesRewritten != 0 || st.FilesShared != 0 {
		t.Errorf("a pass over unchanged files did work: %+v", st)
	}
}

// within reports whether got is within pct percent of want.
func within(got, want int64, pct float64) bool {
	d := float64(got - want)
	return d*d <= (pct/100*float64(want))*(pct/100*float64(want))
}

const mib = 1 << 20
