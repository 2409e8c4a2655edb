package partial

import (
	"reflect"
	"testing"
)

// sigs builds block signatures: block i of a file "seeded" s has signature
// s*1e6+i, so two files share a block when their seeds and indexes agree.
func sigs(n int, seed uint64) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = seed*1_000_000 + uint64(i)
	}
	return out
}

func sideOf(s []uint64, size uint64) side {
	return side{size: size, sig: func(b uint64) uint64 {
		if b >= uint64(len(s)) {
			return noSig
		}
		return s[b]
	}}
}

// runsFor keys both files and matches every destination chunk whose key
// the source holds, as the pass does with the index.
func runsFor(dest []uint64, src map[int64][]uint64) []match {
	holders := map[uint64][2]uint64{}
	for id, s := range src {
		for c, k := range chunkKeys(s) {
			if k != 0 {
				holders[k] = [2]uint64{uint64(id), uint64(c)}
			}
		}
	}
	var b runBuilder
	for c, k := range chunkKeys(dest) {
		if h, ok := holders[k]; ok && k != 0 {
			b.add(int64(h[0]), uint64(c), h[1])
		}
	}
	return b.runs
}

func TestRefine(t *testing.T) {
	const n = 8 * ChunkBlocks
	base := sigs(n, 1)
	changed := func(blocks ...int) []uint64 {
		s := append([]uint64(nil), base...)
		for _, b := range blocks {
			s[b] = 999_999_999
		}
		return s
	}
	shifted := append([]uint64{7}, base[:n-1]...)
	holes := changed()
	for i := 40; i < 50; i++ {
		holes[i] = noSig
	}
	full := uint64(n * BlockSize)
	for _, c := range []struct {
		name         string
		dest, src    []uint64
		dSize, sSize uint64
		want         []match
	}{
		{"identical", base, base, full, full, []match{{1, 0, 0, n}}},
		{"three changed blocks, two in one chunk", changed(5, 20, 100), base, full, full, []match{
			{1, 0, 0, 5}, {1, 6, 6, 14}, {1, 21, 21, 79}, {1, 101, 101, n - 101}}},
		{"prefix copy", base[:6*ChunkBlocks+5], base, 6*ChunkSize + 5*BlockSize, full, []match{{1, 0, 0, 6*ChunkBlocks + 5}}},
		{"prefix ending mid-block", base[:6*ChunkBlocks+5], base, 6*ChunkSize + 4*BlockSize + 100, full, []match{{1, 0, 0, 6*ChunkBlocks + 4}}},
		{"longer copy", base, base[:6*ChunkBlocks+5], full, 6*ChunkSize + 5*BlockSize, []match{{1, 0, 0, 6*ChunkBlocks + 5}}},
		{"shifted by a block", shifted, base, full, full, nil}, // aligned keys never meet
		{"holes are not shared", holes, base, full, full, []match{{1, 0, 0, 40}, {1, 50, 50, n - 50}}},
		{"nothing alike", sigs(n, 2), base, full, full, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			srcs := map[int64][]uint64{1: c.src}
			runs := runsFor(c.dest, srcs)
			got := refine(runs, sideOf(c.dest, c.dSize), map[int64]side{1: sideOf(c.src, c.sSize)})
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %v\nwant %v", got, c.want)
			}
		})
	}
}

// Two sources: each destination block goes to one, the longest match
// first; a gap too wide is not probed.
func TestRefineTwoSources(t *testing.T) {
	const n = 16 * ChunkBlocks
	a, b := sigs(n, 1), sigs(n, 2)
	dest := append(append([]uint64(nil), a[:8*ChunkBlocks]...), b[8*ChunkBlocks:]...)
	dest[3*ChunkBlocks] = 5 // one chunk of a differs
	size := uint64(n * BlockSize)
	srcs := map[int64][]uint64{1: a, 2: b}
	got := refine(runsFor(dest, srcs), sideOf(dest, size), map[int64]side{1: sideOf(a, size), 2: sideOf(b, size)})
	want := []match{{1, 0, 0, 3 * ChunkBlocks}, {1, 3*ChunkBlocks + 1, 3*ChunkBlocks + 1, 5*ChunkBlocks - 1}, {2, 8 * ChunkBlocks, 8 * ChunkBlocks, 8 * ChunkBlocks}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	// Ten differing chunks between two runs: only a chunk next to each run
	// is probed.
	dest = sigs(n, 1)
	for i := 3 * ChunkBlocks; i < 13*ChunkBlocks; i += 3 {
		dest[i] = 5
	}
	got = refine(runsFor(dest, map[int64][]uint64{1: a}), sideOf(dest, size), map[int64]side{1: sideOf(a, size)})
	var probed uint64
	for _, m := range got {
		probed += m.n
	}
	if want := uint64(6*ChunkBlocks + 2*21); probed != want {
		t.Errorf("%d blocks matched, want %d: %v", probed, want, got)
	}
}

func TestIntervals(t *testing.T) {
	var iv intervals
	iv.add(10, 20)
	iv.add(30, 40)
	iv.add(0, 5)
	for _, c := range []struct {
		a, b uint64
		want [][2]uint64
	}{
		{0, 50, [][2]uint64{{5, 10}, {20, 30}, {40, 50}}},
		{12, 18, nil},
		{15, 35, [][2]uint64{{20, 30}}},
		{41, 45, [][2]uint64{{41, 45}}},
	} {
		if got := iv.free(c.a, c.b); !reflect.DeepEqual(got, c.want) {
			t.Errorf("free(%d, %d) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestChunkKeys(t *testing.T) {
	s := sigs(2*ChunkBlocks+3, 1)
	keys := chunkKeys(s)
	if len(keys) != 2 || keys[0] == 0 || keys[0] == keys[1] {
		t.Errorf("keys %x", keys)
	}
	s[ChunkBlocks+1] = noSig
	if k := chunkKeys(s); k[0] != keys[0] || k[1] != 0 {
		t.Errorf("a block without signature: keys %x", k)
	}
	if sigOf([]byte{1, 2, 3, 4}) != 0x04030201 || sigOf(make([]byte, 32))&noSig != 0 {
		t.Error("sigOf")
	}
}
