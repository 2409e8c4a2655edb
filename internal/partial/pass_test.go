package partial

import (
	"bytes"
	"os"
	"strconv"
	"strings"
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

// outcome runs a pass and measures it: the drop of data used, checked
// against the pass's own report, and every file's state unchanged.
func outcome(t *testing.T, e *env, paths ...string) (Stats, []Event, int64) {
	t.Helper()
	before := testfs.States(t, paths...)
	used := e.fs.DataUsed(t)
	st, events := e.run(t, Options{})
	drop := int64(used) - int64(e.fs.DataUsed(t))
	t.Logf("stats %+v; data used dropped by %d bytes", st, drop)
	testfs.Unchanged(t, before)
	if !within(st.BytesFreed, drop, 2) && (drop != 0 || st.BytesFreed != 0) {
		t.Errorf("reported %d bytes freed, measured %d", st.BytesFreed, drop)
	}
	return st, events, drop
}

// A file and its 75 % prefix copy: the copy shares all of itself from the
// longer file. When it ends mid-block, that last block differs from the
// longer file's and is rewritten, so its extent is freed all the same.
func TestPrefixCopy(t *testing.T) {
	for _, c := range []struct {
		name   string
		prefix int
	}{{"aligned", 12 * mib}, {"ending mid-block", 12*mib + 100}} {
		t.Run(c.name, func(t *testing.T) {
			fs := testfs.New(t)
			data := testfs.Bytes(2, 16*mib)
			long := testfs.WriteFile(t, fs.Path("log"), data)
			short := testfs.WriteFile(t, fs.Path("log.1"), data[:c.prefix])
			e := newEnv(t, fs)
			st, _, drop := outcome(t, e, long, short)
			if drop < 12*mib-8192 {
				t.Errorf("data used dropped by %d bytes, want about 12 MiB", drop)
			}
			if c.prefix%4096 == 0 {
				if !testfs.Shares(t, long, short) {
					t.Error("the prefix copy does not share all of itself")
				}
				if st.BytesRewritten != 0 {
					t.Errorf("rewrote %d bytes", st.BytesRewritten)
				}
			} else if st.BytesRewritten != 100 {
				t.Errorf("rewrote %d bytes, want the 100-byte tail", st.BytesRewritten)
			}
		})
	}
}

// A copy shifted by one byte has no block in common at the same place:
// nothing is shared, nothing is rewritten.
func TestShiftedCopy(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(3, 8*mib)
	a := testfs.WriteFile(t, fs.Path("a"), data)
	b := testfs.WriteFile(t, fs.Path("b"), append([]byte{0}, data[:len(data)-1]...))
	e := newEnv(t, fs)
	st, _, drop := outcome(t, e, a, b)
	if st.DedupeCalls != 0 || st.BytesRewritten != 0 || st.BytesRead != 0 || drop != 0 || st.FilesIndexed != 2 {
		t.Errorf("a shifted copy: %+v, drop %d", st, drop)
	}
}

// A writer changing a block of the destination after planning keeps its
// bytes: the run holding it is not shared (the kernel compares first), and
// the bookends are copied as they are when copied, then compared again.
func TestWriterWins(t *testing.T) {
	fs := testfs.New(t)
	img := testfs.Bytes(4, 16*mib)
	a := testfs.WriteFile(t, fs.Path("a.img"), img)
	clone := testfs.WithBlocksChanged(img, 50, testfs.ScatteredBlocks(len(img), 4)...)
	b := testfs.WriteFile(t, fs.Path("b.img"), clone)
	e := newEnv(t, fs)
	written := testfs.Bytes(77, 4096)
	want := append([]byte(nil), clone...)
	copy(want[1000*4096:], written)
	testHookBeforeShare = func() {
		f, err := os.OpenFile(b, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt(written, 1000*4096); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { testHookBeforeShare = nil })
	aBefore := testfs.State(t, a)
	st, events := e.run(t, Options{})
	t.Logf("stats %+v", st)
	testfs.Unchanged(t, map[string]testfs.FileState{a: aBefore})
	if fsh := of[FileShared](events); len(fsh) != 1 || !fsh[0].Changed {
		t.Errorf("events %+v: want the destination reported changed", fsh)
	}
	got, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("the destination lost the writer's bytes")
	}
	if st.FilesShared != 1 {
		t.Errorf("%d files shared: the runs without the written block should be", st.FilesShared)
	}
}

// The source is the copy pinned by a read-only snapshot: sharing from it
// frees the other copy; sharing into it would free nothing.
func TestSnapshotPinnedSource(t *testing.T) {
	fs := testfs.New(t)
	sub := fs.Subvolume(t, "sub")
	img := testfs.Bytes(5, 16*mib)
	// The clone is written first, so that it would win every other tie.
	b := testfs.WriteFile(t, sub+"/b.img", testfs.WithBlocksChanged(img, 60, testfs.ScatteredBlocks(len(img), 8)...))
	a := testfs.WriteFile(t, sub+"/a.img", img)
	fs.Snapshot(t, "sub", "snap", true)
	testfs.Run(t, "rm", b)
	b = testfs.WriteFile(t, sub+"/b.img", testfs.WithBlocksChanged(img, 60, testfs.ScatteredBlocks(len(img), 8)...))
	e := newEnv(t, fs)
	st, events, drop := outcome(t, e, a, b)
	if drop < 16*mib-64*1024 {
		t.Errorf("data used dropped by %d bytes, want about 16 MiB", drop)
	}
	// The blocks common to all come from a copy of a.img (pinned by the
	// snapshot), the changed ones from the snapshot's older b.img.
	for _, fsh := range of[FileShared](events) {
		if fsh.File.Path != b {
			t.Errorf("shared into %s", fsh.File.Path)
		}
		if src := fsh.Runs[0].Source.Path; !strings.HasSuffix(src, "/a.img") {
			t.Errorf("longest run from %s", src)
		}
	}
	if st.FilesShared != 1 {
		t.Errorf("%d files shared", st.FilesShared)
	}
}

// A base image and three clones: each clone shares from the base.
func TestThreeClones(t *testing.T) {
	fs := testfs.New(t)
	img := testfs.Bytes(6, 8*mib)
	paths := []string{testfs.WriteFile(t, fs.Path("base"), img)}
	for i := range 3 {
		paths = append(paths, testfs.WriteFile(t, fs.Path("clone", strconv.Itoa(i)),
			testfs.WithBlocksChanged(img, uint64(100+10*i), testfs.ScatteredBlocks(len(img), 3+i)...)))
	}
	e := newEnv(t, fs)
	st, _, drop := outcome(t, e, paths...)
	if st.FilesShared != 3 || drop < 3*(8*mib-6*4096) {
		t.Errorf("%d files shared, %d bytes freed", st.FilesShared, drop)
	}
	e.scan(t)
	st, _ = e.run(t, Options{})
	noWork(t, st)
}

// When a snapshot pins both copies, nothing can be freed: nothing is
// shared or rewritten.
func TestBothPinned(t *testing.T) {
	fs := testfs.New(t)
	sub := fs.Subvolume(t, "sub")
	img := testfs.Bytes(13, 8*mib)
	a := testfs.WriteFile(t, sub+"/a.img", img)
	b := testfs.WriteFile(t, sub+"/b.img", testfs.WithBlocksChanged(img, 140, 10, 1000))
	fs.Snapshot(t, "sub", "snap", true)
	e := newEnv(t, fs)
	st, _, drop := outcome(t, e, a, b)
	if st.DedupeCalls != 0 || st.BytesRead != 0 || drop != 0 {
		t.Errorf("shared what nothing frees: %+v, dropped %d", st, drop)
	}
}
