package partial

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
)

// clonePair writes an 8 MiB image and a clone with four changed blocks.
func clonePair(t *testing.T, fs *testfs.FS) (string, string) {
	t.Helper()
	img := testfs.Bytes(11, 8*mib)
	a := testfs.WriteFile(t, fs.Path("a.img"), img)
	b := testfs.WriteFile(t, fs.Path("b.img"), testfs.WithBlocksChanged(img, 110, testfs.ScatteredBlocks(len(img), 4)...))
	return a, b
}

// A dry run plans and reports, changes nothing, and leaves the work to
// the real run, which frees what the dry run said.
func TestDryRun(t *testing.T) {
	fs := testfs.New(t)
	a, b := clonePair(t, fs)
	e := newEnv(t, fs)
	before := testfs.States(t, a, b)
	used := fs.DataUsed(t)
	dry, events := e.run(t, Options{DryRun: true})
	testfs.Unchanged(t, before)
	if fs.DataUsed(t) != used || dry.DedupeCalls != 0 || dry.BytesRewritten != 4*4096 || dry.FilesShared != 1 {
		t.Errorf("dry run: %+v", dry)
	}
	if fsh := of[FileShared](events); len(fsh) != 1 || !fsh[0].DryRun {
		t.Errorf("dry run events %+v", fsh)
	}
	real, _, drop := outcome(t, e, a, b)
	if real.FilesIndexed != 0 || real.BytesFreed != dry.BytesFreed || drop != real.BytesFreed {
		t.Errorf("after a dry run %+v freed %d, real run %+v freed %d", dry, dry.BytesFreed, real, drop)
	}
}

// Without rewriting, an extent whose every block is not shared cannot be
// freed: nothing is shared at all (sharing would only leave bookends).
func TestNoRewrite(t *testing.T) {
	fs := testfs.New(t)
	clonePair(t, fs)
	e := newEnv(t, fs)
	st, _ := e.run(t, Options{NoRewrite: true})
	if st.DedupeCalls != 0 || st.FilesShared != 0 {
		t.Errorf("shared without freeing: %+v", st)
	}
}

// Files below the threshold are not indexed.
func TestMinSize(t *testing.T) {
	fs := testfs.New(t)
	clonePair(t, fs)
	e := newEnv(t, fs)
	st, _ := e.run(t, Options{MinSize: 9 * mib})
	if st.FilesChecked != 0 {
		t.Errorf("files below the threshold looked at: %+v", st)
	}
}

// After a pass, a file that changes is keyed again (and only it), and its
// new runs are shared.
func TestChangedAfterPass(t *testing.T) {
	fs := testfs.New(t)
	a, b := clonePair(t, fs)
	e := newEnv(t, fs)
	e.run(t, Options{})
	// A third copy arrives, and the clone gets one more block written.
	data, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	c := testfs.WriteFile(t, fs.Path("c.img"), testfs.WithBlocksChanged(data, 120, 3))
	f, err := os.OpenFile(b, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(testfs.Bytes(121, 4096), 500*4096)
	f.Close()
	e.scan(t)
	st, _, drop := outcome(t, e, a, b, c)
	if st.FilesIndexed != 2 || st.FilesShared != 1 || drop < 8*mib-8192 {
		t.Errorf("after changes: %+v, dropped %d", st, drop)
	}
}

// A file that shrinks below the threshold loses its keys when they are
// next met.
func TestShrunkFileUnindexed(t *testing.T) {
	fs := testfs.New(t)
	a, _ := clonePair(t, fs)
	e := newEnv(t, fs)
	e.run(t, Options{})
	if err := os.Truncate(a, 512<<10); err != nil {
		t.Fatal(err)
	}
	testfs.WriteFile(t, fs.Path("c.img"), testfs.Bytes(11, 8*mib))
	e.scan(t)
	st, _ := e.run(t, Options{})
	if st.FilesIndexed != 1 {
		t.Errorf("stats %+v", st)
	}
	ino := testfs.State(t, a).Ino
	if f, ok, err := e.db.IndexedFileOf(context.Background(), store.Volumes([]int64{e.vols[0].StoreID}), e.vols[0].StoreID, ino); err != nil || !ok || f.ID != 0 {
		t.Errorf("the shrunk file's entry: %+v %v %v", f, ok, err)
	}
	if st.FilesShared != 1 {
		t.Errorf("the new copy was not shared: %+v", st)
	}
}

// A pass restricted to a directory neither shares into nor from the files
// outside it.
func TestRestrictedToDirectory(t *testing.T) {
	fs := testfs.New(t)
	img := testfs.Bytes(12, 8*mib)
	clone := testfs.WithBlocksChanged(img, 120, 5, 900)
	testfs.WriteFile(t, fs.Path("out/a.img"), img)
	testfs.WriteFile(t, fs.Path("in/b.img"), clone)
	testfs.WriteFile(t, fs.Path("in/c.img"), testfs.WithBlocksChanged(clone, 130, 1500))
	e := newEnvOf(t, fs, fs.Path("in"))
	st, events := e.run(t, Options{})
	if st.FilesIndexed != 2 || st.FilesShared != 1 {
		t.Errorf("stats %+v", st)
	}
	for _, fsh := range of[FileShared](events) {
		for _, r := range fsh.Runs {
			if !strings.Contains(r.Source.Path, "/in/") || !strings.Contains(fsh.File.Path, "/in/") {
				t.Errorf("shared %s from %s", fsh.File.Path, r.Source.Path)
			}
		}
	}
}
