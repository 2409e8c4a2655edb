package dedupe

import (
	"os"
	"testing"

	"github.com/bedup/bedup/internal/testfs"
)

// Same-size files are told apart by their csum prints: the identical pairs
// are shared and nothing is read, not even the unique files (their size is
// a multiple of 4 KiB: no partial last sector to read). A rerun with a
// new copy reuses the stored prints and fetches only the new file's.
func TestCsumPrintsReadNothing(t *testing.T) {
	fs := testfs.New(t)
	const size = 20480
	p1, p2 := testfs.Bytes(1, size), testfs.Bytes(2, size)
	a1 := testfs.WriteFile(t, fs.Path("a1"), p1)
	a2 := testfs.WriteFile(t, fs.Path("a2"), p1)
	b1 := testfs.WriteFile(t, fs.Path("b1"), p2)
	b2 := testfs.WriteFile(t, fs.Path("b2"), p2)
	for i := uint64(0); i < 4; i++ {
		testfs.WriteFile(t, fs.Path("u", string(rune('a'+i))), testfs.Bytes(10+i, size))
	}
	e := newEnv(t, fs, "")
	st, _ := e.run(t, Options{})
	if st.BytesRead != 0 || st.FilesSampled != 0 || st.FilesHashed != 0 || st.FilesCsumPrinted != 8 || st.FilesShared != 2 || st.CsumLookups != 1 {
		t.Errorf("first pass: %+v", st)
	}
	if !testfs.Shares(t, a1, a2) || !testfs.Shares(t, b1, b2) || testfs.Shares(t, a1, b1) {
		t.Error("the pairs are not shared as they should be")
	}
	a3 := testfs.WriteFile(t, fs.Path("a3"), p1)
	e.rescan(t)
	st, _ = e.run(t, Options{})
	if st.BytesRead != 0 || st.FilesCsumPrinted != 1 || st.FilesShared != 1 || !testfs.Shares(t, a1, a3) {
		t.Errorf("second pass: %+v", st)
	}
}

// A sector's checksum covers the bytes past EOF, which are not always zero
// on disk (a file truncated from a longer one keeps its old bytes there):
// the partial last sector is read instead of its checksum, so equal files
// of 5000 bytes print alike, truncated or not, a different last byte
// prints otherwise, and the kernel shares the equal ones.
func TestCsumPrintPartialSector(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(1, 5000)
	x := testfs.WriteFile(t, fs.Path("x"), data)
	y := testfs.WriteFile(t, fs.Path("y"), data)
	other := append([]byte(nil), data...)
	other[len(other)-1] ^= 1
	z := testfs.WriteFile(t, fs.Path("z"), other)
	long := append(append([]byte(nil), data...), testfs.Bytes(2, 3192)...)
	w := testfs.WriteFile(t, fs.Path("w"), long)
	fs.Sync(t)
	if err := os.Truncate(w, 5000); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, fs, "")
	st, events := e.run(t, Options{ResolvePaths: true})
	if st.BytesRead != 4*(5000-4096) || st.FilesCsumPrinted != 4 || st.FilesShared != 2 {
		t.Errorf("stats %+v, sets %q", st, e.sharedSets(events))
	}
	if !testfs.Shares(t, x, y) || !testfs.Shares(t, x, w) || testfs.Shares(t, x, z) {
		t.Errorf("sets %q", e.sharedSets(events))
	}
}

// Files without checksummed, uncompressed extents (a compressed mount,
// NOCOW files) are read as before, and still shared.
func TestCsumPrintFallsBack(t *testing.T) {
	t.Run("compressed", func(t *testing.T) {
		fs := testfs.New(t, testfs.Options{MountOpts: testfs.Compressed})
		data := testfs.Text(1, 200<<10)
		a := testfs.WriteFile(t, fs.Path("a"), data)
		b := testfs.WriteFile(t, fs.Path("b"), data)
		testfs.WriteFile(t, fs.Path("c"), testfs.Text(2, 200<<10))
		e := newEnv(t, fs, "")
		st, _ := e.run(t, Options{})
		if st.FilesCsumPrinted != 0 || st.BytesRead == 0 || st.FilesShared != 1 || !testfs.Shares(t, a, b) {
			t.Errorf("%+v", st)
		}
	})
	t.Run("nocow", func(t *testing.T) {
		fs := testfs.New(t)
		data := testfs.Bytes(1, 40000)
		a := testfs.WriteNocow(t, fs.Path("a"), data)
		b := testfs.WriteNocow(t, fs.Path("b"), data)
		e := newEnv(t, fs, "")
		st, _ := e.run(t, Options{})
		if st.FilesCsumPrinted != 0 || st.BytesRead == 0 || st.FilesShared != 1 || !testfs.Shares(t, a, b) {
			t.Errorf("%+v", st)
		}
	})
}

// A csum-matched file rewritten before it is shared keeps the writer's
// bytes; once the change is undone, the next run shares it, still without
// reading.
func TestCsumPrintConcurrentWrite(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(1, 32768)
	a := testfs.WriteFile(t, fs.Path("a"), data)
	b := testfs.WriteFile(t, fs.Path("b"), data)
	written := testfs.Bytes(2, 32768)
	e := newEnv(t, fs, "")
	TestHook = once(HookIntents, func() { testfs.WriteFile(t, b, written) })
	st, _ := e.run(t, Options{})
	TestHook = nil
	if st.FilesCsumPrinted != 2 || st.FilesShared != 0 || st.Skipped[ReasonChanged] != 1 || testfs.Shares(t, a, b) {
		t.Errorf("first pass: %+v", st)
	}
	if got, _ := os.ReadFile(b); string(got) != string(written) {
		t.Error("the writer's bytes were lost")
	}
	testfs.WriteFile(t, b, data)
	e.rescan(t)
	st, _ = e.run(t, Options{})
	if st.FilesShared != 1 || st.BytesRead != 0 || !testfs.Shares(t, a, b) {
		t.Errorf("after the change was undone: %+v", st)
	}
}

// Holes print as sectors of zeros: a sparse file, its copy with the zeros
// written out and a sparse copy are matched without reading anything, and
// the kernel shares them; a file of the same size with other data is
// told apart. (Files of holes alone need nothing: their empty extent
// maps make them one instance, already shared.)
func TestCsumPrintHoles(t *testing.T) {
	fs := testfs.New(t)
	const size = 1<<20 + 100
	island := testfs.Bytes(1, 64<<10)
	sparse := func(name string, data []byte) string {
		return testfs.WriteSparse(t, fs.Path(name), size, testfs.Island{Off: 256 << 10, Data: data})
	}
	a := sparse("a", island)
	dense := make([]byte, size)
	copy(dense[256<<10:], island)
	b := testfs.WriteFile(t, fs.Path("b"), dense)
	c := sparse("c", island)
	sparse("d", testfs.Bytes(2, 64<<10))
	for _, name := range []string{"h1", "h2"} {
		if err := os.Truncate(testfs.WriteFile(t, fs.Path(name), nil), 3<<20); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, fs, "")
	st, events := e.run(t, Options{ResolvePaths: true})
	if st.BytesRead != 0 || st.FilesCsumPrinted != 4 || st.FilesShared != 2 || st.AlreadyShared != 1 {
		t.Errorf("stats %+v, sets %q", st, e.sharedSets(events))
	}
	if !testfs.Shares(t, a, b) || !testfs.Shares(t, a, c) {
		t.Errorf("sets %q", e.sharedSets(events))
	}
	for _, p := range []string{a, b, c} {
		if got, _ := os.ReadFile(p); string(got) != string(dense) {
			t.Errorf("%s changed", p)
		}
		// Whole, not half: each file now maps its data as the source does.
		if got, want := Print(testfs.Extents(t, p), size), Print(testfs.Extents(t, a), size); !got.Equal(want) {
			t.Errorf("%s: extents %v, the source's %v", p, testfs.Extents(t, p), testfs.Extents(t, a))
		}
	}
}

// A window's checksums come from the cache when an earlier window's walk
// of the csum tree covered them: the pair of the larger size, written
// first and last, spans the pair of the smaller one, written between, so
// the whole pass walks the tree once, and both pairs are shared. (With
// one preparer: two would fetch for both windows at once.) The cache
// holds only within a generation (see csumCache).
func TestCsumPrintsCachedAcrossWindows(t *testing.T) {
	fs := testfs.New(t)
	big, small := testfs.Bytes(1, 12288), testfs.Bytes(2, 8192)
	x1 := testfs.WriteFile(t, fs.Path("x1"), big)
	fs.Sync(t)
	y1 := testfs.WriteFile(t, fs.Path("y1"), small)
	y2 := testfs.WriteFile(t, fs.Path("y2"), small)
	fs.Sync(t)
	x2 := testfs.WriteFile(t, fs.Path("x2"), big)
	e := newEnv(t, fs, "")
	defer func(n int) { windowPreparers = n }(windowPreparers)
	windowPreparers = 1 // the larger pair's window is prepared first
	// A write starts the transaction the shares will join: were the first
	// share to start one, the generation would move between the windows.
	testfs.WriteFile(t, fs.Path("z"), nil)
	st, _ := e.run(t, Options{Window: 1})
	if st.FilesCsumPrinted != 4 || st.CsumLookups != 1 || st.FilesShared != 2 || st.BytesRead != 0 {
		t.Errorf("pass: %+v", st)
	}
	if !testfs.Shares(t, x1, x2) || !testfs.Shares(t, y1, y2) {
		t.Error("the pairs are not shared")
	}
}
