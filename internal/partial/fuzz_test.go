package partial

import (
	"testing"
)

// FuzzRefinePlan checks the invariants of widening and planning on files
// made of few distinct blocks (so that they match a lot): every match
// holds equal, real signatures inside both files and no destination block
// twice; a plan shares only matched blocks, rewrites only unmatched ones,
// and covers every block of the extents it frees exactly once.
func FuzzRefinePlan(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{1, 2, 3, 4, 5, 6, 7, 8}, uint16(100), uint16(3))
	f.Add([]byte{0, 0, 0, 1}, []byte{0, 0, 0, 0, 0}, uint16(4000), uint16(60))
	f.Fuzz(func(t *testing.T, dpat, spat []byte, tail, ext uint16) {
		if len(dpat) == 0 || len(spat) == 0 || len(dpat) > 64 || len(spat) > 64 {
			return
		}
		expand := func(pat []byte) []uint64 {
			out := make([]uint64, 0, len(pat)*ChunkBlocks/4)
			for _, b := range pat {
				for i := 0; i < ChunkBlocks/4; i++ {
					v := uint64(b % 4)
					if b%7 == 0 {
						v = noSig
					} else if b%5 == 0 {
						v = uint64(b%4)*100 + uint64(i)
					}
					out = append(out, v)
				}
			}
			return out
		}
		dsig, ssig := expand(dpat), expand(spat)
		dSize := uint64(len(dsig))*BlockSize - uint64(tail)%BlockSize
		sSize := uint64(len(ssig)) * BlockSize
		runs := runsFor(dsig, map[int64][]uint64{1: ssig})
		dest, src := sideOf(dsig, dSize), sideOf(ssig, sSize)
		ms := refine(runs, dest, map[int64]side{1: src})
		var seen intervals
		for _, m := range ms {
			if m.n == 0 || m.end() > uint64(len(dsig)) || m.s+m.n > uint64(len(ssig)) {
				t.Fatalf("match %+v out of bounds", m)
			}
			if len(seen.free(m.d, m.end())) != 1 || seen.free(m.d, m.end())[0] != [2]uint64{m.d, m.end()} {
				t.Fatalf("match %+v overlaps", m)
			}
			seen.add(m.d, m.end())
			for i := uint64(0); i < m.n; i++ {
				if dsig[m.d+i] == noSig || dsig[m.d+i] != ssig[m.s+i] {
					t.Fatalf("match %+v: block %d differs", m, i)
				}
			}
			if m.end()*BlockSize > dSize && (m.s+m.n)*BlockSize <= sSize {
				t.Fatalf("match %+v shares a partial last block into a full one", m)
			}
		}
		// Extents of ext%16+1 blocks each.
		per := uint64(ext%16) + 1
		var items []item
		for d := uint64(0); d < uint64(len(dsig)); d += per {
			n := min(per, uint64(len(dsig))-d)
			items = append(items, item{d: d, n: n, bytenr: 1 + d, disk: n * BlockSize, ram: n * BlockSize})
		}
		p := makePlan(items, ms, 4, func(*extentUse) bool { return true })
		var covered intervals
		for _, s := range p.shares {
			if len(seen.free(s.d, s.end())) != 0 {
				t.Fatalf("share %+v outside the matches", s)
			}
			covered.add(s.d, s.end())
		}
		for _, r := range p.rewrites {
			if len(seen.free(r[0], r[1])) != 1 || seen.free(r[0], r[1])[0] != r {
				t.Fatalf("rewrite %v of matched blocks", r)
			}
			if len(covered.free(r[0], r[1])) != 1 {
				t.Fatalf("rewrite %v overlaps a share", r)
			}
			covered.add(r[0], r[1])
		}
		for _, u := range p.extents {
			for _, r := range u.refs {
				if len(covered.free(r[0], r[1])) != 0 {
					t.Fatalf("extent %d freed but blocks %v left in it", u.bytenr, r)
				}
			}
		}
		if span(covered) != span(itemsBlocks(p.extents)) {
			t.Fatalf("plan touches %d blocks outside its extents", span(covered)-span(itemsBlocks(p.extents)))
		}
	})
}

func itemsBlocks(us []*extentUse) [][2]uint64 {
	var out [][2]uint64
	for _, u := range us {
		out = append(out, u.refs...)
	}
	return out
}
