package dedupe

import (
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
)

// The checksum cache serves a range only from one segment fetched for all
// of it, in the generation it was filled in; a later fetch replaces the
// segments it overlaps; the oldest segments go first when it is full.
func TestCsumCache(t *testing.T) {
	run := func(at uint64, n int) []btrfs.CsumRun {
		return []btrfs.CsumRun{{Bytenr: at, Sums: make([]byte, n)}}
	}
	type add struct {
		gen, start, end uint64
		bytes           int
	}
	type look struct {
		start, end uint64
		hit        bool
	}
	for _, c := range []struct {
		name  string
		gen   uint64 // the generation the cache is asked in, after the adds
		adds  []add
		looks []look
	}{
		{"contained", 7, []add{{7, 100, 200, 4}}, []look{{100, 200, true}, {120, 130, true}, {90, 150, false}, {150, 210, false}, {300, 400, false}}},
		{"two segments do not join", 7, []add{{7, 100, 200, 4}, {7, 200, 300, 4}}, []look{{150, 250, false}, {200, 300, true}, {100, 200, true}}},
		{"a later fetch replaces what it overlaps", 7, []add{{7, 100, 200, 4}, {7, 150, 400, 4}}, []look{{100, 120, false}, {160, 390, true}}},
		{"another generation empties it", 8, []add{{7, 100, 200, 4}}, []look{{100, 200, false}}},
		{"a fetch of an older generation is not kept", 8, []add{{8, 0, 10, 4}, {7, 100, 200, 4}}, []look{{100, 200, false}, {0, 10, true}}},
		{"the oldest goes when full", 7, []add{{7, 0, 10, csumCacheBytes / 2}, {7, 10, 20, csumCacheBytes / 2}, {7, 20, 30, 1}}, []look{{0, 10, false}, {10, 20, true}, {20, 30, true}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var cc csumCache
			for _, a := range c.adds {
				cc.at(max(cc.gen, a.gen))
				cc.add(a.gen, a.start, a.end, run(a.start, a.bytes))
			}
			cc.at(c.gen)
			for _, l := range c.looks {
				runs, hit := cc.lookup(l.start, l.end)
				if hit != l.hit || (hit && (len(runs) != 1 || runs[0].Bytenr > l.start)) {
					t.Errorf("lookup(%d, %d) = %v, %v; want hit %v", l.start, l.end, runs, hit, l.hit)
				}
			}
		})
	}
}
