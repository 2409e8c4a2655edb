package partial

import (
	"testing"

	"github.com/bedup/bedup/internal/testfs"
)

// A 64 MiB image and a clone with 16 scattered blocks changed: the clone
// shares all but those blocks, its old extent is freed in full (the
// changed blocks are rewritten), the report matches the filesystem's
// count, nothing about either file changes, and a second pass over the
// unchanged files does no work at all.
func TestCloneWithChangedBlocks(t *testing.T) {
	fs := testfs.New(t, testfs.Options{SizeMiB: 512})
	img := testfs.Bytes(1, 64*mib)
	a := testfs.WriteFile(t, fs.Path("a.img"), img)
	b := testfs.WriteFile(t, fs.Path("b.img"), testfs.WithBlocksChanged(img, 99, testfs.ScatteredBlocks(len(img), 16)...))
	e := newEnv(t, fs)
	before := testfs.States(t, a, b)
	used := fs.DataUsed(t)

	st, events := e.run(t, Options{})
	drop := int64(used) - int64(fs.DataUsed(t))
	t.Logf("stats %+v; data used dropped by %d bytes", st, drop)
	testfs.Unchanged(t, before)
	if drop < 63*mib {
		t.Errorf("data used dropped by %d bytes, want at least 63 MiB", drop)
	}
	if !within(st.BytesFreed, drop, 2) {
		t.Errorf("reported %d bytes freed, measured %d", st.BytesFreed, drop)
	}
	if st.BytesRead > 1*mib {
		t.Errorf("read %d bytes: files with checksums should be keyed from the csum tree", st.BytesRead)
	}
	if fsh := of[FileShared](events); len(fsh) != 1 || len(fsh[0].Runs) != 17 || fsh[0].BytesRewritten != 16*4096 {
		t.Errorf("events %+v", fsh)
	}

	e.scan(t)
	st, _ = e.run(t, Options{})
	noWork(t, st) // reading the files for their sha256 changed their atime: that is checked, not redone
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
