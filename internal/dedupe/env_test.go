package dedupe

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/scan"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
	"github.com/bedup/bedup/internal/volume"
)

// env is one test filesystem, scanned into a fresh database, ready for a
// pass: the volumes a filter selects are writable, the read-only
// snapshots it leaves out serve as sources, as in bedup dedup.
type env struct {
	fs     *testfs.FS
	dbPath string
	db     *store.DB
	set    *volume.Set
	vols   []Volume
	fsID   int64
}

// newEnv discovers the volumes of fs selected by filter (the whole mount
// when empty) and scans them with a 4 KiB size cutoff.
func newEnv(t *testing.T, fs *testfs.FS, filter string) *env {
	t.Helper()
	ctx := context.Background()
	if filter == "" {
		filter = fs.Mnt
	}
	fs.Sync(t)
	set, err := volume.Discover([]string{filter}, volume.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{fs: fs, dbPath: filepath.Join(t.TempDir(), "db.sqlite"), set: set}
	t.Cleanup(func() {
		if e.db != nil {
			e.db.Close()
		}
		set.Close()
	})
	e.open(t)
	for i, v := range append(slices.Clip(set.Volumes), set.Sources...) {
		r, err := scan.Volume(ctx, e.db, v, scan.Options{SizeCutoff: 4096})
		if err != nil {
			t.Fatal(err)
		}
		e.fsID = r.FSID
		e.vols = append(e.vols, Volume{StoreID: r.VolID, V: v, Writable: i < len(set.Volumes)})
	}
	return e
}

func (e *env) open(t *testing.T) {
	t.Helper()
	db, err := store.Open(context.Background(), e.dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
}

// close closes the database, so that its file holds everything.
func (e *env) close(t *testing.T) {
	t.Helper()
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	e.db = nil
}

// dbBytes returns the database file's bytes (with the database closed).
func (e *env) dbBytes(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run runs one pass and returns its stats and events.
func (e *env) run(t *testing.T, o Options) (Stats, []Event) {
	t.Helper()
	var events []Event
	o.Events = func(ev Event) { events = append(events, ev) }
	st, err := Run(context.Background(), e.db, e.fsID, e.vols, o)
	if err != nil {
		t.Fatal(err)
	}
	return st, events
}

// rel makes an event's path relative to the mount point, for comparing.
func (e *env) rel(p string) string {
	return strings.TrimPrefix(p, e.fs.Mnt+"/")
}

// sharedSets reduces the Shared events to "source <- dest dest ..." lines
// (paths relative to the mount, destinations sorted), sorted.
func (e *env) sharedSets(events []Event) []string {
	var out []string
	for _, ev := range events {
		s, ok := ev.(Shared)
		if !ok {
			continue
		}
		var dests []string
		for _, d := range s.Dests {
			dests = append(dests, e.rel(d.Path))
		}
		sort.Strings(dests)
		out = append(out, e.rel(s.Source.Path)+" <- "+strings.Join(dests, " "))
	}
	sort.Strings(out)
	return out
}

// of returns the events of one type.
func of[T Event](events []Event) []T {
	var out []T
	for _, ev := range events {
		if e, ok := ev.(T); ok {
			out = append(out, e)
		}
	}
	return out
}

// copyOf writes an unshared copy of src's bytes at dst.
func copyOf(t *testing.T, src, dst string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return testfs.WriteFile(t, dst, b)
}

// reflink makes dst a clone of src (same extents).
func reflink(t *testing.T, src, dst string) string {
	t.Helper()
	testfs.Run(t, "cp", "--reflink=always", src, dst)
	return dst
}

// allFiles lists the regular files under root.
func allFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
