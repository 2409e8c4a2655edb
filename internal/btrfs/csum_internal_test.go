package btrfs

import (
	"bytes"
	"testing"
)

func TestClipCsums(t *testing.T) {
	g := CsumGeometry{SectorSize: 4096, CsumSize: 4, NodeSize: 16384}
	data := []byte("aaaabbbbccccdddd") // four sectors from 8192
	for _, c := range []struct {
		name       string
		start, end uint64
		ok         bool
		bytenr     uint64
		sums       string
	}{
		{"all", 0, 1 << 20, true, 8192, "aaaabbbbccccdddd"},
		{"exact", 8192, 8192 + 4*4096, true, 8192, "aaaabbbbccccdddd"},
		{"middle", 12288, 20480, true, 12288, "bbbbcccc"},
		{"unaligned start rounds up", 12289, 24576, true, 16384, "ccccdddd"},
		{"unaligned end rounds down", 8192, 16383, true, 8192, "aaaa"},
		{"before", 0, 8192, false, 0, ""},
		{"after", 8192 + 4*4096, 1 << 20, false, 0, ""},
		{"inside one sector", 8193, 12287, false, 0, ""},
	} {
		r, ok := ClipCsums(g, 8192, data, c.start, c.end)
		if ok != c.ok || r.Bytenr != c.bytenr || string(r.Sums) != c.sums {
			t.Errorf("%s: got %v %d %q, want %v %d %q", c.name, ok, r.Bytenr, r.Sums, c.ok, c.bytenr, c.sums)
		}
	}
	if _, ok := ClipCsums(g, 0, []byte("abc"), 0, 1<<20); ok {
		t.Error("a partial checksum made a run")
	}
}

func FuzzClipCsums(f *testing.F) {
	f.Add(uint64(8192), []byte("aaaabbbbccccdddd"), uint64(0), uint64(1<<20), uint32(4))
	f.Add(^uint64(0)-4096, []byte("aaaabbbb"), uint64(0), ^uint64(0), uint32(4))
	f.Fuzz(func(t *testing.T, item uint64, data []byte, start, end uint64, cs uint32) {
		g := CsumGeometry{SectorSize: 4096, CsumSize: cs%64 + 1, NodeSize: 16384}
		r, ok := ClipCsums(g, item, data, start, end)
		if !ok {
			return
		}
		n := uint64(len(r.Sums)) / uint64(g.CsumSize)
		if n == 0 || uint64(len(r.Sums))%uint64(g.CsumSize) != 0 {
			t.Fatalf("run of %d bytes", len(r.Sums))
		}
		if r.Bytenr < start || r.Bytenr+n*4096 > end || r.Bytenr < item || (r.Bytenr-item)%4096 != 0 {
			t.Fatalf("run %d+%d outside [%d,%d) or off the item's grid at %d", r.Bytenr, n, start, end, item)
		}
		off := (r.Bytenr - item) / 4096 * uint64(g.CsumSize)
		if !bytes.Equal(r.Sums, data[off:off+uint64(len(r.Sums))]) {
			t.Fatal("sums are not the item's")
		}
	})
}
