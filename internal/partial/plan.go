package partial

import (
	"sort"

	"github.com/bedup/bedup/internal/btrfs"
)

// item is one file extent item of a file, in blocks: blocks [d, d+n) of
// the file live in data extent bytenr (0: a hole), from block off of the
// extent's uncompressed bytes on.
type item struct {
	d, n       uint64
	bytenr     uint64
	off        uint64
	disk, ram  uint64 // the extent's allocated and uncompressed sizes, bytes
	compressed bool
}

// itemsOf converts file extent items to blocks, leaving out inline items
// and holes (which hold no extent).
func itemsOf(ext []btrfs.FileExtent) []item {
	var out []item
	for _, e := range ext {
		if e.Type == btrfs.FileExtentInline || e.DiskBytenr == 0 {
			continue
		}
		out = append(out, item{
			d: e.FileOffset / BlockSize, n: blocksOf(e.NumBytes),
			bytenr: e.DiskBytenr, off: e.Offset / BlockSize,
			disk: e.DiskNumBytes, ram: e.RAMBytes, compressed: e.Compression != 0,
		})
	}
	return out
}

// extentUse is one data extent as the destination uses it.
type extentUse struct {
	bytenr     uint64
	disk, ram  uint64
	compressed bool
	refs       [][2]uint64 // destination blocks that reference it
}

// blocks counts the destination blocks referencing the extent.
func (u *extentUse) blocks() uint64 {
	var n uint64
	for _, r := range u.refs {
		n += r[1] - r[0]
	}
	return n
}

// rewriteCost estimates the bytes a rewrite of blocks of the extent
// allocates: as many as they hold, compressed as well as the extent was.
func (u *extentUse) rewriteCost(blocks uint64) uint64 {
	b := blocks * BlockSize
	if u.compressed && u.ram > 0 {
		return b * u.disk / u.ram
	}
	return b
}

// uses groups a file's items by the extent they reference, in order of
// first use.
func uses(items []item) []*extentUse {
	by := map[uint64]*extentUse{}
	var out []*extentUse
	for _, it := range items {
		u := by[it.bytenr]
		if u == nil {
			u = &extentUse{bytenr: it.bytenr, disk: it.disk, ram: it.ram, compressed: it.compressed}
			by[it.bytenr] = u
			out = append(out, u)
		}
		u.refs = append(u.refs, [2]uint64{it.d, it.d + it.n})
	}
	return out
}

// plan is what to do to one destination: the runs to share, the blocks to
// rewrite through a temporary file, and the extents that are expected to
// lose their last user.
type plan struct {
	shares   []match      // longest first
	rewrites [][2]uint64  // destination blocks, in order
	extents  []*extentUse // to be freed
	freed    uint64       // their allocated bytes
	rewrite  uint64       // estimated bytes the rewrites allocate
}

// empty reports whether the plan has nothing to do.
func (p plan) empty() bool { return len(p.shares) == 0 }

// makePlan decides, extent by extent of the destination, what to do. An
// extent is freed when every destination block referencing it shares a
// source's bytes, or when the blocks left over (its bookends) may be
// rewritten: at most 1/ratio of the bytes freed (ratio 0: never). An
// extent is only worth it when the destination is its only user
// (exclusive, asked only for extents that pass the other rules): sharing
// blocks of an extent a snapshot or another file keeps frees nothing.
// Matches outside the chosen extents are not shared at all.
func makePlan(items []item, matches []match, ratio uint64, exclusive func(*extentUse) bool) plan {
	var matched intervals
	for _, m := range matches {
		matched.add(m.d, m.end())
	}
	var p plan
	var chosen intervals
	for _, u := range uses(items) {
		var covered uint64
		for _, r := range u.refs {
			covered += r[1] - r[0] - span(matched.free(r[0], r[1]))
		}
		rest := u.blocks() - covered
		switch {
		case covered == 0:
			continue
		case rest > 0 && (ratio == 0 || u.rewriteCost(rest)*ratio > u.disk):
			continue
		case !exclusive(u):
			continue
		}
		p.extents = append(p.extents, u)
		p.freed += u.disk
		p.rewrite += u.rewriteCost(rest)
		for _, r := range u.refs {
			for _, f := range chosen.free(r[0], r[1]) {
				chosen.add(f[0], f[1])
				p.rewrites = append(p.rewrites, matched.free(f[0], f[1])...)
			}
		}
	}
	p.shares = sharesWithin(matches, chosen)
	p.rewrites = mergeRanges(p.rewrites)
	return p
}

// span sums the lengths of ranges.
func span(rs [][2]uint64) uint64 {
	var n uint64
	for _, r := range rs {
		n += r[1] - r[0]
	}
	return n
}

// sharesWithin cuts the matches down to the chosen blocks, merges what
// continues on the same source, and orders them longest first.
func sharesWithin(matches []match, chosen intervals) []match {
	var out []match
	for _, m := range matches {
		i := sort.Search(len(chosen), func(i int) bool { return chosen[i][1] > m.d })
		for _, c := range chosen[i:] {
			if c[0] >= m.end() {
				break
			}
			a, b := max(m.d, c[0]), min(m.end(), c[1])
			if a >= b {
				continue
			}
			piece := match{src: m.src, d: a, s: m.s + a - m.d, n: b - a}
			if k := len(out) - 1; k >= 0 && out[k].src == piece.src && out[k].end() == piece.d && out[k].s+out[k].n == piece.s {
				out[k].n += piece.n
				continue
			}
			out = append(out, piece)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].n > out[j].n })
	return out
}

// mergeRanges sorts ranges and joins those that touch.
func mergeRanges(rs [][2]uint64) [][2]uint64 {
	sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
	var out [][2]uint64
	for _, r := range rs {
		if k := len(out) - 1; k >= 0 && out[k][1] >= r[0] {
			out[k][1] = max(out[k][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}
