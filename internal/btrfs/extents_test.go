package btrfs

import "testing"

func TestSharesExtents(t *testing.T) {
	loc := func(l, p, n uint64) Extent { return Extent{Logical: l, Physical: p, Length: n} }
	inline := Extent{Logical: 0, Physical: 0, Length: 4096, Flags: ExtentDataInline | ExtentNotAligned}
	for _, c := range []struct {
		name     string
		src, dst []Extent
		size     uint64
		want     bool
	}{
		{"identical single extent", []Extent{loc(0, 1<<20, 8192)}, []Extent{loc(0, 1<<20, 8192)}, 8000, true},
		{"different physical", []Extent{loc(0, 1<<20, 8192)}, []Extent{loc(0, 2<<20, 8192)}, 8000, false},
		{"split differently, same bytes", []Extent{loc(0, 1<<20, 8192)},
			[]Extent{loc(0, 1<<20, 4096), loc(4096, 1<<20+4096, 4096)}, 8192, true},
		{"hole in destination", []Extent{loc(0, 1<<20, 8192)}, []Extent{loc(0, 1<<20, 4096)}, 8192, false},
		{"hole in source", []Extent{loc(0, 1<<20, 4096)}, []Extent{loc(0, 1<<20, 8192)}, 8192, false},
		{"same holes", []Extent{loc(0, 1<<20, 4096), loc(12288, 3<<20, 4096)},
			[]Extent{loc(0, 1<<20, 4096), loc(12288, 3<<20, 4096)}, 16384, true},
		{"all holes", nil, nil, 1 << 20, true},
		{"holes at different places", []Extent{loc(0, 1<<20, 4096)}, []Extent{loc(4096, 1<<20+4096, 4096)}, 8192, false},
		{"tail not shared", []Extent{loc(0, 1<<20, 8192)},
			[]Extent{loc(0, 1<<20, 4096), loc(4096, 5<<20, 4096)}, 8192, false},
		{"both inline", []Extent{inline}, []Extent{inline}, 100, false},
		{"empty file", nil, nil, 0, false},
		{"delalloc", []Extent{{Logical: 0, Physical: 0, Length: 4096, Flags: ExtentDelalloc}},
			[]Extent{{Logical: 0, Physical: 0, Length: 4096, Flags: ExtentDelalloc}}, 4096, false},
		{"inline in one only", []Extent{inline}, []Extent{loc(0, 1<<20, 4096)}, 100, false},
	} {
		if got := SharesExtents(c.src, c.dst, c.size); got != c.want {
			t.Errorf("%s: SharesExtents = %v, want %v", c.name, got, c.want)
		}
	}
}
