package partial

import (
	"reflect"
	"sort"
)

// A layout says where each block of a file lives: the pass predicts the
// destination's layout after its shares and rewrites, and records the
// destination as bedup's own work (not a change) only when the kernel's
// layout is exactly that. Any other write into the file moved some block
// elsewhere (a copy-on-write file always writes to new extents).

// seg says that blocks [d, d+n) of a file live in extent bytenr from its
// block off on.
type seg struct{ d, n, bytenr, off uint64 }

// layoutOf is the layout of a file's items.
func layoutOf(items []item) []seg {
	out := make([]seg, 0, len(items))
	for _, it := range items {
		out = append(out, seg{d: it.d, n: it.n, bytenr: it.bytenr, off: it.off})
	}
	return normalize(out)
}

// normalize sorts a layout and joins segments that continue each other in
// the same extent, so that equal placements compare equal however the
// items were split.
func normalize(l []seg) []seg {
	sort.Slice(l, func(i, j int) bool { return l[i].d < l[j].d })
	var out []seg
	for _, s := range l {
		if s.n == 0 {
			continue
		}
		if k := len(out) - 1; k >= 0 && out[k].bytenr == s.bytenr && out[k].d+out[k].n == s.d && out[k].off+out[k].n == s.off {
			out[k].n += s.n
			continue
		}
		out = append(out, s)
	}
	return out
}

// cut returns the part of layout l inside blocks [a, b), moved by shift
// blocks.
func cut(l []seg, a, b uint64, shift int64) []seg {
	var out []seg
	for _, s := range l {
		lo, hi := max(s.d, a), min(s.d+s.n, b)
		if lo >= hi {
			continue
		}
		out = append(out, seg{d: uint64(int64(lo) + shift), n: hi - lo, bytenr: s.bytenr, off: s.off + lo - s.d})
	}
	return out
}

// place returns layout l with blocks [d, d+n) now living where blocks
// [s, s+n) of layout from live.
func place(l []seg, d, n uint64, from []seg, s uint64) []seg {
	out := append(cut(l, 0, d, 0), cut(l, d+n, ^uint64(0), 0)...)
	out = append(out, cut(from, s, s+n, int64(d)-int64(s))...)
	return normalize(out)
}

// sameLayout reports whether two normalized layouts are equal.
func sameLayout(a, b []seg) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}
