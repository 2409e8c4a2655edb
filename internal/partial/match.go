package partial

import (
	"context"
	"slices"
)

// maxHolders bounds the chunks looked at per key: a key held by many files
// (a run of zeros written out, a common template) needs only the best few.
const maxHolders = 16

// chunkRuns goes through the keys of destination d and, for each, finds
// the best source holding it: a file of the pass, of d's NOCOW class,
// whose keys are current, that is a better source than d (see better).
// Consecutive chunks of one source at one distance make a run. The files
// holding d's keys that d is a better source for are added to partners
// when it is not nil.
func (p *pass) chunkRuns(ctx context.Context, d *fileInfo, keys []uint64, partners map[int64]bool) ([]match, error) {
	var b runBuilder
	holders, err := p.holders.HoldersOf(ctx, keys)
	if err != nil {
		return nil, err
	}
	for c, k := range keys {
		hs := holders[k]
		var best *fileInfo
		var bestChunk uint64
		for _, h := range hs {
			if h.File == d.m.ID {
				continue
			}
			f, err := p.info(ctx, h.File)
			if err != nil {
				return nil, err
			}
			if f == nil || f.bad || f.nocow != d.nocow || !f.m.Current() {
				continue
			}
			if !better(f, d) {
				if partners != nil && canReceive(f) {
					partners[h.File] = true
				}
				continue
			}
			if best == nil || better(f, best) || (f == best && b.continues(h.File, uint64(c), h.Chunk)) {
				best, bestChunk = f, h.Chunk
			}
		}
		if best != nil {
			b.add(best.m.ID, uint64(c), bestChunk)
		}
	}
	return b.runs, nil
}

// continues reports whether destination chunk c at source chunk sc of src
// would extend the last run.
func (b *runBuilder) continues(src int64, c, sc uint64) bool {
	k := len(b.runs) - 1
	return k >= 0 && b.runs[k].src == src && b.runs[k].end() == c*ChunkBlocks && b.runs[k].s+b.runs[k].n == sc*ChunkBlocks
}

// matchChanged matches one new or changed file against the index: it is a
// destination for the runs better sources hold, and a source for the files
// it is better than, which become destinations in turn.
func (p *pass) matchChanged(ctx context.Context, f *fileInfo) error {
	keys, err := p.db.FileKeys(ctx, f.m.ID)
	if err != nil {
		return err
	}
	partners := map[int64]bool{}
	runs, err := p.chunkRuns(ctx, f, keys, partners)
	if err != nil {
		return err
	}
	if err := p.destination(ctx, f, runs); err != nil {
		return err
	}
	ids := make([]int64, 0, len(partners))
	for id := range partners {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		d, err := p.info(ctx, id)
		if err != nil {
			return err
		}
		if d == nil || !d.m.Current() || p.done[id] {
			continue
		}
		dkeys, err := p.db.FileKeys(ctx, id)
		if err != nil {
			return err
		}
		druns, err := p.chunkRuns(ctx, d, dkeys, nil)
		if err != nil {
			return err
		}
		if err := p.destination(ctx, d, druns); err != nil {
			return err
		}
	}
	return nil
}
