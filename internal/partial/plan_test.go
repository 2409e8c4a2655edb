package partial

import (
	"reflect"
	"testing"
)

func TestMakePlan(t *testing.T) {
	const mib = 256 // blocks
	// One 4 MiB extent, 4 KiB blocks 0..1023.
	one := []item{{d: 0, n: 4 * mib, bytenr: 1 << 30, disk: 4 << 20, ram: 4 << 20}}
	all := func(src int64, n uint64) []match { return []match{{src: src, d: 0, s: 0, n: n}} }
	yes := func(*extentUse) bool { return true }
	no := func(*extentUse) bool { return false }
	type want struct {
		shares   []match
		rewrites [][2]uint64
		freed    uint64
	}
	for _, c := range []struct {
		name    string
		items   []item
		matches []match
		ratio   uint64
		excl    func(*extentUse) bool
		want    want
	}{
		{"all shared", one, all(7, 4*mib), 4, yes, want{all(7, 4*mib), nil, 4 << 20}},
		{"a few blocks rewritten", one, []match{{7, 0, 0, 100}, {7, 101, 101, 4*mib - 101}}, 4, yes,
			want{[]match{{7, 101, 101, 4*mib - 101}, {7, 0, 0, 100}}, [][2]uint64{{100, 101}}, 4 << 20}},
		{"too much to rewrite", one, all(7, mib), 4, yes, want{}},
		{"exactly a quarter to rewrite", one, all(7, 3*mib), 4, yes, want{all(7, 3*mib), [][2]uint64{{3 * mib, 4 * mib}}, 4 << 20}},
		{"no rewriting allowed", one, all(7, 4*mib-1), 0, yes, want{}},
		{"extent not exclusive", one, all(7, 4*mib), 4, no, want{}},
		{"nothing matched", one, nil, 4, yes, want{}},
		{"two extents, one left alone", []item{
			{d: 0, n: mib, bytenr: 1 << 30, disk: 1 << 20, ram: 1 << 20},
			{d: mib, n: mib, bytenr: 2 << 30, disk: 1 << 20, ram: 1 << 20},
		}, []match{{7, 0, 0, mib + 10}}, 4, yes, want{all(7, mib), nil, 1 << 20}},
		{"a bookend already: only the used part counts", []item{
			{d: 0, n: mib, bytenr: 1 << 30, off: mib, disk: 4 << 20, ram: 4 << 20},
		}, all(7, mib), 4, yes, want{all(7, mib), nil, 4 << 20}},
		{"an extent used twice by the file", []item{
			{d: 0, n: mib, bytenr: 1 << 30, disk: 1 << 20, ram: 1 << 20},
			{d: mib, n: mib, bytenr: 1 << 30, disk: 1 << 20, ram: 1 << 20},
		}, all(7, mib), 4, yes, want{}},
		{"compressed: the rewrite costs its compressed share", []item{
			{d: 0, n: 32, bytenr: 1 << 30, disk: 40 << 10, ram: 128 << 10, compressed: true},
		}, all(7, 26), 4, yes, want{all(7, 26), [][2]uint64{{26, 32}}, 40 << 10}},
		{"two sources merge only where they continue", []item{
			{d: 0, n: 64, bytenr: 1 << 30, disk: 256 << 10, ram: 256 << 10},
		}, []match{{7, 0, 0, 32}, {8, 32, 0, 32}}, 4, yes, want{[]match{{7, 0, 0, 32}, {8, 32, 0, 32}}, nil, 256 << 10}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := makePlan(c.items, c.matches, c.ratio, c.excl)
			got := want{p.shares, p.rewrites, p.freed}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// exclusive is asked only about extents worth freeing.
func TestMakePlanAsksLittle(t *testing.T) {
	items := []item{
		{d: 0, n: 32, bytenr: 1, disk: 128 << 10, ram: 128 << 10},
		{d: 32, n: 32, bytenr: 2, disk: 128 << 10, ram: 128 << 10},
		{d: 64, n: 32, bytenr: 3, disk: 128 << 10, ram: 128 << 10},
	}
	var asked []uint64
	makePlan(items, []match{{7, 0, 0, 32}, {7, 64, 64, 1}}, 4, func(u *extentUse) bool { asked = append(asked, u.bytenr); return true })
	if !reflect.DeepEqual(asked, []uint64{1}) {
		t.Errorf("asked about %v", asked)
	}
}
