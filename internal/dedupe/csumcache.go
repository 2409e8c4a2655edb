package dedupe

import (
	"slices"
	"sort"
	"sync"

	"github.com/bedup/bedup/internal/btrfs"
)

// csumCache keeps the checksums fetched for earlier windows. A window's
// files are spread over the whole disk, so the walks of the csum tree
// that serve one window (see fetchCsums) cover most of the tree, and the
// next window walked it all again: 522 MB of checksums fetched for 3.7 MB
// needed on 200,000 small files.
//
// Checksums are keyed by disk address, and an address is given to other
// data only after the extent there is freed, by a transaction that then
// commits, and the data that reuses it is written by a later transaction,
// whose start moves the filesystem's generation. So the cache holds only
// what was fetched in the generation it is asked in, and empties as soon
// as the generation moves (at every transaction's start: a commit every
// 30 s, or the syncfs before transids are collected).
type csumCache struct {
	mu    sync.Mutex
	gen   uint64
	segs  []csumSegment // by start, disjoint
	bytes int           // checksum bytes held
	added int           // segments added so far: their age
}

// csumSegment is every checksum of the disk range [start, end), as runs
// clipped to it (sectors without a checksum have none).
type csumSegment struct {
	start, end uint64
	runs       []btrfs.CsumRun
	bytes      int
	age        int
}

// csumCacheBytes bounds the checksum bytes the cache holds: 4 MiB of
// crc32c checksums cover 4 GiB of data. It is live heap, which the
// memory limit (cmd/bedup) makes the collector work for.
const csumCacheBytes = 4 << 20

// at empties the cache unless it was filled in generation gen, the
// filesystem's current one.
func (c *csumCache) at(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		c.gen, c.segs, c.bytes = gen, nil, 0
	}
}

// lookup returns the runs of a segment holding all of [start, end).
func (c *csumCache) lookup(start, end uint64) ([]btrfs.CsumRun, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := sort.Search(len(c.segs), func(i int) bool { return c.segs[i].end > start })
	if i < len(c.segs) && c.segs[i].start <= start && end <= c.segs[i].end {
		return c.segs[i].runs, true
	}
	return nil, false
}

// add records the runs fetched for [start, end) in generation gen (read
// before the fetch), replacing the segments it overlaps, then drops the
// oldest segments while the cache holds more than csumCacheBytes.
func (c *csumCache) add(gen, start, end uint64, runs []btrfs.CsumRun) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || start >= end {
		return
	}
	seg := csumSegment{start: start, end: end, runs: runs, age: c.added}
	c.added++
	for _, r := range runs {
		seg.bytes += len(r.Sums)
	}
	// The segments overlapping [start, end): disjoint and sorted, they
	// are a run.
	lo := sort.Search(len(c.segs), func(i int) bool { return c.segs[i].end > start })
	hi := sort.Search(len(c.segs), func(i int) bool { return c.segs[i].start >= end })
	for _, s := range c.segs[lo:hi] {
		c.bytes -= s.bytes
	}
	c.segs = slices.Replace(c.segs, lo, hi, seg)
	c.bytes += seg.bytes
	for c.bytes > csumCacheBytes && len(c.segs) > 0 {
		oldest := 0
		for j, s := range c.segs {
			if s.age < c.segs[oldest].age {
				oldest = j
			}
		}
		c.bytes -= c.segs[oldest].bytes
		c.segs = append(c.segs[:oldest], c.segs[oldest+1:]...)
	}
}
