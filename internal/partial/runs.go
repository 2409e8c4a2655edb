package partial

import "sort"

// match says that blocks [d, d+n) of the destination hold the same bytes
// as blocks [s, s+n) of source src (an index entry id).
type match struct {
	src     int64
	d, s, n uint64
}

func (m match) end() uint64 { return m.d + m.n }

// runBuilder merges chunk matches, given in destination order, into runs:
// consecutive chunks of one source at one distance.
type runBuilder struct{ runs []match }

// add records that destination chunk c holds source src's chunk sc.
func (b *runBuilder) add(src int64, c, sc uint64) {
	m := match{src: src, d: c * ChunkBlocks, s: sc * ChunkBlocks, n: ChunkBlocks}
	if k := len(b.runs) - 1; k >= 0 {
		if l := &b.runs[k]; l.src == src && l.end() == m.d && l.s+l.n == m.s {
			l.n += m.n
			return
		}
	}
	b.runs = append(b.runs, m)
}

// How far around a run of equal chunks equal blocks are looked for: one
// chunk beyond each end (a chunk that differs holds at least one block
// that differs, but its other blocks may not), and the whole gap between
// two runs of one source at one distance when it is at most maxGapBlocks
// (a few changed blocks between them).
const (
	probeBlocks  = ChunkBlocks
	maxGapBlocks = 4 * ChunkBlocks
)

// sigFunc gives a block's signature (noSig when it has none).
type sigFunc func(block uint64) uint64

// side is one file as refine sees it.
type side struct {
	size uint64
	sig  sigFunc
}

// probe is a range of destination blocks [a, b) to compare with source src
// at distance delta (source block = destination block + delta). Its cores
// are the chunk runs inside it, equal by their keys: they are not compared
// again (reading them would double the cost for files without checksums).
type probe struct {
	src   int64
	delta int64
	a, b  uint64
	cores intervals
}

// probes lists the ranges to compare around the chunk runs.
func probes(runs []match, dest side, srcs map[int64]side) []probe {
	rs := append([]match(nil), runs...)
	sort.Slice(rs, func(i, j int) bool {
		di, dj := int64(rs[i].s)-int64(rs[i].d), int64(rs[j].s)-int64(rs[j].d)
		if rs[i].src != rs[j].src {
			return rs[i].src < rs[j].src
		}
		if di != dj {
			return di < dj
		}
		return rs[i].d < rs[j].d
	})
	dBlocks := blocksOf(dest.size)
	var out []probe
	for _, r := range rs {
		delta := int64(r.s) - int64(r.d)
		sBlocks := int64(blocksOf(srcs[r.src].size))
		a := max(int64(r.d)-probeBlocks, -delta, 0)
		b := min(int64(r.end())+probeBlocks, int64(dBlocks), sBlocks-delta)
		if a >= b {
			continue
		}
		if k := len(out) - 1; k >= 0 && out[k].src == r.src && out[k].delta == delta &&
			a <= int64(out[k].b)+maxGapBlocks-2*probeBlocks {
			out[k].b = max(out[k].b, uint64(b))
			out[k].cores = append(out[k].cores, [2]uint64{r.d, r.end()})
			continue
		}
		out = append(out, probe{src: r.src, delta: delta, a: uint64(a), b: uint64(b), cores: intervals{{r.d, r.end()}}})
	}
	return out
}

// stretches compares the blocks of a probe and returns the stretches of
// equal blocks as matches.
func stretches(p probe, dest side, src side) []match {
	var out []match
	open := false
	core := 0 // the first core not yet passed
	for x := p.a; x < p.b; x++ {
		for core < len(p.cores) && p.cores[core][1] <= x {
			core++
		}
		eq := core < len(p.cores) && p.cores[core][0] <= x
		if !eq {
			ds := dest.sig(x)
			eq = ds != noSig && ds == src.sig(uint64(int64(x)+p.delta))
		}
		switch {
		case eq && open:
			out[len(out)-1].n++
		case eq:
			out = append(out, match{src: p.src, d: x, s: uint64(int64(x) + p.delta), n: 1})
			open = true
		default:
			open = false
		}
	}
	return out
}

// refine turns chunk runs into block matches: the equal blocks around and
// between the runs are added, a destination block goes to one source only
// (longest matches first), and a file's partial last block is kept only
// where FIDEDUPERANGE can share it (it ends both files, at the same
// length). The result is sorted by destination block.
func refine(runs []match, dest side, srcs map[int64]side) []match {
	var cands []match
	for _, p := range probes(runs, dest, srcs) {
		cands = append(cands, stretches(p, dest, srcs[p.src])...)
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].n != cands[j].n {
			return cands[i].n > cands[j].n
		}
		return cands[i].d < cands[j].d
	})
	var taken intervals
	var out []match
	for _, c := range cands {
		for _, piece := range taken.free(c.d, c.end()) {
			m := match{src: c.src, d: piece[0], s: c.s + piece[0] - c.d, n: piece[1] - piece[0]}
			if m = trimTail(m, dest.size, srcs[c.src].size); m.n > 0 {
				taken.add(m.d, m.end())
				out = append(out, m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].d < out[j].d })
	return out
}

// trimTail drops the last block of a match when it is a partial last block
// of either file that FIDEDUPERANGE would not share: it must end both
// files with the same number of bytes.
func trimTail(m match, dSize, sSize uint64) match {
	dEnd, sEnd := m.end()*BlockSize, (m.s+m.n)*BlockSize
	dPartial, sPartial := dEnd > dSize, sEnd > sSize
	if !dPartial && !sPartial {
		return m
	}
	if dPartial && sPartial && dSize-(dEnd-BlockSize) == sSize-(sEnd-BlockSize) {
		return m
	}
	m.n--
	return m
}

// intervals is a sorted set of disjoint half-open block ranges.
type intervals [][2]uint64

// free returns the parts of [a, b) not in the set.
func (iv intervals) free(a, b uint64) [][2]uint64 {
	var out [][2]uint64
	i := sort.Search(len(iv), func(i int) bool { return iv[i][1] > a })
	for ; a < b && i < len(iv) && iv[i][0] < b; i++ {
		if iv[i][0] > a {
			out = append(out, [2]uint64{a, iv[i][0]})
		}
		a = max(a, iv[i][1])
	}
	if a < b {
		out = append(out, [2]uint64{a, b})
	}
	return out
}

// add inserts [a, b), which must not overlap the set.
func (iv *intervals) add(a, b uint64) {
	i := sort.Search(len(*iv), func(i int) bool { return (*iv)[i][0] >= b })
	*iv = append(*iv, [2]uint64{})
	copy((*iv)[i+1:], (*iv)[i:])
	(*iv)[i] = [2]uint64{a, b}
}
