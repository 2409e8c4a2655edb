package partial

import (
	"context"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/store"
)

// indexPage brings the index entries of a page of stale files up to date
// and returns the (volume, inode) pairs of those to match against the
// others: new and changed files, and files indexed but never matched.
func (p *pass) indexPage(page []store.IndexedFile, b *store.IndexBatch) [][2]uint64 {
	var toMatch [][2]uint64
	for _, m := range page {
		p.stats.FilesChecked++
		f := &fileInfo{m: m, vol: p.vols[m.VolID]}
		if f.vol != nil && p.indexFile(f, b) {
			toMatch = append(toMatch, [2]uint64{uint64(m.VolID), m.Ino})
		}
	}
	return toMatch
}

// indexFile brings one file's entry up to date: a copy-on-write file
// whose extent map did not change since its keys were taken keeps them
// (its transid moved for another reason: a chmod, a touch, bedup's own
// whole-file share, which does not change content); any other file is
// keyed again. It reports whether the file is to be matched.
func (p *pass) indexFile(f *fileInfo, b *store.IndexBatch) bool {
	h, err := p.open(f)
	if btrfs.IsGone(err) {
		return false // the next scan drops it
	}
	if err != nil {
		p.skipped(f, dedupe.ReasonUnreadable, err)
		return false
	}
	defer h.Close()
	st, err := btrfs.Fstat(h)
	if err != nil || uint64(st.Size) != f.m.Size {
		return false // changed since the scan: the next one sees it
	}
	flags, err := btrfs.GetFlags(h)
	if err != nil {
		p.skipped(f, dedupe.ReasonUnreadable, err)
		return false
	}
	f.nocow = flags&btrfs.FlagNocow != 0
	ext, err := btrfs.Fiemap(h)
	if err != nil {
		p.skipped(f, dedupe.ReasonUnreadable, err)
		return false
	}
	print := dedupe.Print(ext, f.m.Size)
	if print == nil {
		return false // data not yet on disk, or inline
	}
	// NOCOW files and writes into preallocated extents change data in
	// place: their extent map proves nothing.
	if f.m.ID != 0 && print.Equal(f.m.Print) && !f.nocow && !unwritten(ext) {
		if f.m.Pending {
			return true
		}
		if !p.o.DryRun {
			b.Matched(f.m.VolID, f.m.Ino, f.m.Transid, nil)
		}
		return false
	}
	src, err := p.newSigSource(f, h)
	if err != nil {
		p.skipped(f, dedupe.ReasonUnreadable, err)
		return false
	}
	keys := src.keys()
	if src.err != nil {
		p.skipped(f, dedupe.ReasonUnreadable, src.err)
		return false
	}
	if src.noCsum {
		p.skipped(f, ReasonChecksumType, nil)
	}
	b.Index(f.m.VolID, f.m.Ino, f.m.Transid, print, keys)
	p.stats.FilesIndexed++
	return true
}

// unwritten reports whether a map has preallocated, unwritten extents.
func unwritten(ext []btrfs.Extent) bool {
	for _, e := range ext {
		if e.Flags&btrfs.ExtentUnwritten != 0 {
			return true
		}
	}
	return false
}

// changedFiles returns the files of toMatch as the index now holds them.
func (p *pass) changedFiles(ctx context.Context, toMatch [][2]uint64) ([]*fileInfo, error) {
	var out []*fileInfo
	for _, vi := range toMatch {
		m, ok, err := p.db.IndexedFileOf(ctx, p.scope, int64(vi[0]), vi[1])
		if err != nil {
			return nil, err
		}
		if !ok || m.ID == 0 {
			continue
		}
		delete(p.files, m.ID) // facts learnt before it was indexed again
		f, err := p.info(ctx, m.ID)
		if err != nil {
			return nil, err
		}
		if f != nil {
			out = append(out, f)
		}
	}
	return out, nil
}
