package dedupe

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/testfs"
)

func TestDataRanges(t *testing.T) {
	const k = 4096
	ext := func(off, n uint64) btrfs.Extent { return btrfs.Extent{Logical: off, Physical: 1 << 30, Length: n} }
	for _, c := range []struct {
		name string
		ext  []btrfs.Extent
		size uint64
		want [][2]uint64
	}{
		{"no hole", []btrfs.Extent{ext(0, 8*k), ext(8*k, 8*k)}, 16 * k, nil},
		{"tail cut at size", []btrfs.Extent{ext(0, 4*k)}, 4*k - 100, nil},
		{"hole at the end", []btrfs.Extent{ext(0, 4*k)}, 16 * k, [][2]uint64{{0, 4 * k}}},
		{"hole at the start", []btrfs.Extent{ext(4*k, 4*k)}, 8 * k, [][2]uint64{{4 * k, 8 * k}}},
		{"islands, touching extents merged", []btrfs.Extent{ext(0, k), ext(k, k), ext(64*k, 2*k)}, 1024 * k,
			[][2]uint64{{0, 2 * k}, {64 * k, 66 * k}}},
		{"last island ends mid-block at size", []btrfs.Extent{ext(0, k), ext(8*k, k)}, 8*k + 10, [][2]uint64{{0, k}, {8 * k, 8*k + 10}}},
		{"all hole", nil, 16 * k, [][2]uint64{}},
		{"empty file", nil, 0, nil},
	} {
		got := dataRanges(c.ext, c.size)
		if !slices.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSameHoles(t *testing.T) {
	islands := [][2]uint64{{0, 4096}, {1 << 20, 1<<20 + 4096}}
	for _, c := range []struct {
		name      string
		src, dest [][2]uint64
		want      bool
	}{
		{"both whole", nil, nil, false},
		{"same islands", islands, slices.Clone(islands), true},
		{"source whole", nil, islands, false},
		{"destination whole", islands, nil, false},
		{"islands elsewhere", islands, [][2]uint64{{0, 4096}, {2 << 20, 2<<20 + 4096}}, false},
		{"both all hole", [][2]uint64{}, [][2]uint64{}, true},
		{"all hole into data", [][2]uint64{}, nil, false},
	} {
		if got := sameHoles(&file{data: c.src}, &file{data: c.dest}); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// Two sparse files alike are shared by their data ranges: a call per
// island, where the whole 300 MiB would take two calls of 256 MiB and read
// every hole as zeros; their holes stay holes. A third file of the same
// size with its islands elsewhere is not taken for them.
func TestSparseSharedByDataRanges(t *testing.T) {
	fs := testfs.New(t)
	const size = 300 << 20
	sparse := func(name string, offsets ...int64) string {
		var islands []testfs.Island
		for i, off := range offsets {
			islands = append(islands, testfs.Island{Off: off, Data: testfs.Bytes(uint64(i), 64<<10)})
		}
		return testfs.WriteSparse(t, fs.Path(name), size, islands...)
	}
	a := sparse("a", 0, 100<<20, 290<<20)
	b := sparse("b", 0, 100<<20, 290<<20)
	c := sparse("c", 0, 200<<20, 290<<20)
	e := newEnv(t, fs, "")
	st, _ := e.run(t, Options{})
	if st.FilesShared != 1 || st.DedupeCalls != 3 || !testfs.Shares(t, a, b) || testfs.Shares(t, a, c) {
		t.Errorf("stats %+v", st)
	}
	for _, p := range []string{a, b, c} {
		var s unix.Stat_t
		if err := unix.Stat(p, &s); err != nil || s.Blocks*512 != 3*64<<10 {
			t.Errorf("%s: %d bytes allocated (%v), want its three islands", p, s.Blocks*512, err)
		}
	}
	if e.flagged(t, a, b, c) != nil {
		t.Errorf("still flagged: %v", e.flagged(t, a, b, c))
	}
}

// A hole a writer fills after examination, before the share, is left as
// the writer made it: only the data ranges the source has are shared (the
// kernel compares them), the new data stays, and the next scan flags the
// file, whose extent map no longer matches the one recorded. (Flags are
// checked before the files are read: a read updates the atime, a change.)
func TestSparseHoleFilledMeanwhile(t *testing.T) {
	fs := testfs.New(t)
	const size = 4 << 20
	island := testfs.Bytes(1, 64<<10)
	a := testfs.WriteSparse(t, fs.Path("a"), size, testfs.Island{Off: 0, Data: island}, testfs.Island{Off: 1 << 20, Data: island})
	b := testfs.WriteSparse(t, fs.Path("b"), size, testfs.Island{Off: 0, Data: island}, testfs.Island{Off: 1 << 20, Data: island})
	e := newEnv(t, fs, "")
	filler := testfs.Bytes(2, 4096)
	var filled string
	TestHook = func(at HookPoint) {
		if at == HookIntents && filled == "" { // planned: a source, a destination
			filled = b
			writeAt(t, filled, 2<<20, filler)
		}
	}
	defer func() { TestHook = nil }()
	st, events := e.run(t, Options{ResolvePaths: true})
	sets := e.sharedSets(events)
	if st.DedupeCalls != 2 || !slices.Equal(sets, []string{"a <- b"}) {
		t.Fatalf("stats %+v, sets %q: want a's two data ranges shared into b, the file written", st, sets)
	}
	e.rescan(t)
	if got := e.flagged(t, a, b); !slices.Equal(got, []string{"b"}) {
		t.Errorf("flagged after the next scan: %v, want b (sets %q)", got, sets)
	}
	want := make([]byte, size)
	copy(want, island)
	copy(want[1<<20:], island)
	if got, err := os.ReadFile(a); err != nil || !bytes.Equal(got, want) {
		t.Errorf("a changed (%v)", err)
	}
	copy(want[2<<20:], filler)
	if got, err := os.ReadFile(b); err != nil || !bytes.Equal(got, want) {
		t.Errorf("b lost the writer's data (%v)", err)
	}
}
