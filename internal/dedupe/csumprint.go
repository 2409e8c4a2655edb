package dedupe

import (
	"context"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/bedup/bedup/internal/btrfs"
)

// The csum print is a cheaper fingerprint than reading a file: the data
// checksums Btrfs keeps for every 4 KiB sector (the csum tree, tree 7),
// hashed in file order with the file size and the checksum type. Two files
// of one size with equal csum prints hold the same bytes with
// overwhelming probability, so they are sent to the kernel
// without being read: FIDEDUPERANGE compares the bytes, which is the proof
// of every share, and a pair it finds different is read the old way next
// run (see markRead). Files whose csum print is unique in their size group
// are never read; the bytes of a partial last sector only when another
// file's full sectors match (see settleTails).
//
// Only files whose data is all in regular, uncompressed, checksummed,
// written extents covering the file without holes qualify (csumExtents). A
// size group uses csum prints only when every one of its instances has
// one: a content hash and a csum print of identical files differ, so a
// group mixes no kinds, and a group with one compressed, NOCOW or sparse
// member is sampled and hashed as before.

// Stored fingerprints: a content hash is 24 bytes (XXH3-128 then the
// sample), a csum print 17 or more (a tag, then XXH3-128 of the full
// sectors' checksums, then what stands for a partial last sector: see
// tailprint.go), and readMark (one byte) says "the kernel contradicted
// this file's csum print: read it".
const (
	csumTag    = 'c' // no partial last sector
	csumPrintN = 17
)

var readMark = []byte{'r'}

// csumBlock is the sector size csum prints are taken for.
const csumBlock = 4096

// csumGap is how far apart two needed disk ranges may be and still be
// read with one walk of the csum tree: the walk also returns the checksums
// of the gap (4 bytes per 4 KiB: 16 KiB for a 16 MiB gap, one leaf).
const csumGap = 16 << 20

// csumExtents returns the disk ranges holding a file's data in file
// order (physically contiguous extents merged; a hole is a range at disk
// address 0, which holds no data), or nil when the file does not qualify
// for a csum print: NOCOW, an inline, compressed, encrypted, preallocated,
// delayed or unaligned extent.
func csumExtents(ext []btrfs.Extent, size uint64, nocow bool) [][2]uint64 {
	if nocow || size == 0 {
		return nil
	}
	end := (size + csumBlock - 1) &^ (csumBlock - 1)
	const bad = btrfs.ExtentEncoded | btrfs.ExtentUnwritten | btrfs.ExtentDataInline |
		btrfs.ExtentEncrypted | btrfs.ExtentNotAligned | btrfs.ExtentDelalloc | btrfs.ExtentUnknown
	var out [][2]uint64
	add := func(at, n uint64) {
		if k := len(out) - 1; k >= 0 && (out[k][0] == 0) == (at == 0) && (at == 0 || out[k][0]+out[k][1] == at) {
			out[k][1] += n
		} else {
			out = append(out, [2]uint64{at, n})
		}
	}
	pos := uint64(0)
	for _, e := range ext {
		if pos >= end || e.Logical >= end {
			break
		}
		n := min(e.Length, end-e.Logical)
		if e.Flags&bad != 0 || !e.Located() || e.Logical < pos || e.Logical%csumBlock != 0 ||
			e.Physical%csumBlock != 0 || e.Physical == 0 || n%csumBlock != 0 || n == 0 {
			return nil
		}
		if e.Logical > pos {
			add(0, e.Logical-pos)
		}
		add(e.Physical, n)
		pos = e.Logical + n
	}
	if pos < end {
		add(0, end-pos)
	}
	return out
}

// zeroSectorCsum returns the checksum Btrfs would store for a sector of
// zeros, which stands for a hole's sectors in a csum print: a sparse file
// then prints like its copy with the zeros written out, as the kernel's
// compare sees them. It is nil for the checksum types not computed here
// (xxhash64, blake2b): files with holes are then read.
func zeroSectorCsum(csumType uint16, csumSize int) []byte {
	sum, ok := btrfs.AppendSectorCsum(nil, csumType, make([]byte, csumBlock))
	if !ok || len(sum) != csumSize {
		return nil
	}
	return sum
}

// isCsumPrint reports whether a fingerprint is a csum print. The lengths
// never equal a content hash's (24): checksums are 4, 8 or 32 bytes.
func isCsumPrint(h []byte) bool {
	if len(h) == 0 {
		return false
	}
	switch h[0] {
	case csumTag:
		return len(h) == csumPrintN
	case tailSumTag:
		n := len(h) - csumPrintN
		return n == 4 || n == 8 || n == 32
	case tailBytesTag:
		return len(h) == csumPrintN+8
	}
	return false
}

// csumPrintFits reports whether a stored csum print was made, by this
// version, for a file of this size: a partial last sector's prints carry
// its checksum or its bytes, a whole last sector's do not (prints of
// earlier versions hashed a partial sector's bytes under csumTag, and
// are made again).
func csumPrintFits(h []byte, size uint64) bool {
	return isCsumPrint(h) && (h[0] == csumTag) == (size%csumBlock == 0)
}

// hashKey is what identical instances have in common: the content hash
// without its sample, or the whole csum print (which never equals a
// content hash: the lengths differ).
func hashKey(h []byte) string {
	if isCsumPrint(h) {
		return string(h)
	}
	return string(h[:16])
}

// csumNeed is one disk range whose checksums one instance needs, and where
// they go in its buffer.
type csumNeed struct {
	start, length uint64
	out           []byte
	got           *uint64 // checksums found for the instance
}

// csumPrints gives csum prints to the instances of the window's groups
// where every instance can have one, with one walk of the csum tree per
// run of nearby disk ranges. A group where some instance cannot is left to
// the samples and full hashes (see fingerprints), its stored csum prints
// set aside. It marks the groups it settles (group.csum): nothing of them
// is read.
func (p *pass) csumPrints(ctx context.Context, groups []*group) {
	geo, ok := p.csumGeometry()
	zero := zeroSectorCsum(p.csumType, int(geo.CsumSize))
	type pending struct {
		in   *instance
		buf  []byte
		got  uint64
		size uint64
	}
	var todo []*pending
	var needs []csumNeed
	var candidates []*group
	for _, g := range groups {
		if g.done {
			continue
		}
		if allCsum(g) {
			g.csum = true // every print stored, and still holding
			continue
		}
		if !ok || !p.wantsCsum(g) {
			continue
		}
		candidates = append(candidates, g)
		for _, in := range g.instances {
			if in.csum {
				continue // stored, and it still holds
			}
			ranges := in.files[0].csumExt
			var n uint64
			for _, r := range ranges {
				n += r[1] / csumBlock
			}
			pd := &pending{in: in, buf: make([]byte, n*uint64(geo.CsumSize)), size: g.size}
			todo = append(todo, pd)
			off := uint64(0)
			for _, r := range ranges {
				m := r[1] / csumBlock * uint64(geo.CsumSize)
				if r[0] == 0 { // a hole: zeros, whose checksum is known
					if zero != nil {
						for i := off; i < off+m; i += uint64(len(zero)) {
							copy(pd.buf[i:], zero)
						}
						pd.got += r[1] / csumBlock
					}
				} else {
					needs = append(needs, csumNeed{start: r[0], length: r[1], out: pd.buf[off : off+m], got: &pd.got})
				}
				off += m
			}
		}
	}
	p.fetchCsums(geo, needs)
	printed := 0
	for _, pd := range todo {
		if pd.got != uint64(len(pd.buf))/uint64(geo.CsumSize) {
			continue // some sector has no checksum (nodatasum, a race): read
		}
		pd.in.hash = csumPrint(p.csumType, int(geo.CsumSize), pd.size, pd.buf)
		pd.in.csum, pd.in.stored, pd.in.hasSmp = true, false, false
		printed++
	}
	p.mu.Lock()
	p.stats.FilesCsumPrinted += printed
	p.mu.Unlock()
	for _, g := range candidates {
		g.csum = allCsum(g)
	}
	p.settleTails(ctx, groups)
	// The groups left to the reads read every instance without a content
	// hash, csum printed or not.
	for _, g := range groups {
		if g.done || g.csum {
			continue
		}
		for _, in := range g.instances {
			if in.csum {
				in.hash, in.csum, in.stored = nil, false, false
			}
		}
	}
}

// allCsum reports whether every instance of a group has a csum print.
func allCsum(g *group) bool {
	for _, in := range g.instances {
		if !in.csum {
			return false
		}
	}
	return true
}

// readTail reads the n bytes at off of an instance, through any of its
// files; ok is false when none could be read (the read path will say why).
func (p *pass) readTail(in *instance, off, n uint64) ([]byte, bool) {
	b := make([]byte, n)
	for _, f := range in.files {
		h, err := p.handle(f)
		if err != nil {
			continue
		}
		m, err := h.ReadAt(b, int64(off))
		release(f, h)
		p.mu.Lock()
		p.stats.BytesRead += int64(m)
		p.mu.Unlock()
		if uint64(m) == n && (err == nil || err == io.EOF) {
			return b, true
		}
	}
	return nil, false
}

// ioFailure is a destination the kernel failed with an I/O error.
type ioFailure struct {
	f   *file
	err error
}

// blameIO finds which file of a csum-matched share the kernel could not
// read, since it names the destination either way: it reads the source,
// then the destinations, and names the file whose read fails (a
// destination is named with the kernel's error when its read succeeds).
// The instance named is read, not csum printed, by the next run. Called
// with p.mu held; reads without it.
func (p *pass) blameIO(size uint64, src *instance, rep *file, sf *os.File, fails []ioFailure) {
	read := func(h *os.File) error {
		bp := bufPool.Get().(*[]byte)
		p.mu.Unlock()
		_, _, n, err := Hash(h, size, *bp)
		p.mu.Lock()
		bufPool.Put(bp)
		p.stats.BytesRead += n
		return err
	}
	if err := read(sf); err != nil {
		p.skipped(rep, readFailure(err), err)
		src.suspect = true
		return // the destinations were fine as far as anyone knows
	}
	for _, fl := range fails {
		err := fl.err
		if h, herr := p.handleLocked(fl.f); herr == nil {
			if rerr := read(h); rerr != nil {
				err = rerr
			}
			release(fl.f, h)
		}
		p.skipped(fl.f, readFailure(err), err)
		fl.f.inst.suspect = true
	}
}

// wantsCsum reports whether every instance of a group can have a csum
// print and some needs a fingerprint of the kind it has not: a group
// whose instances all have stored fingerprints of one kind is left alone.
func (p *pass) wantsCsum(g *group) bool {
	kinds := map[bool]bool{}
	missing := false
	for _, in := range g.instances {
		// A stored sample without a hash: read before, and its full
		// hash failed or was not needed; the read path goes on from it
		// (and names a file it cannot read, which the kernel cannot).
		if in.noCsum || !in.csum && in.files[0].csumExt == nil || in.hasSmp && in.hash == nil {
			return false
		}
		if in.hash == nil {
			missing = true
		} else {
			kinds[in.csum] = true
		}
	}
	return missing || len(kinds) > 1
}

// fetchCsums fills the needs from the csum tree: from the cache (see
// csumCache) where it holds them, the others sorted by disk address,
// merged into runs no more than csumGap apart, one tree walk per run.
func (p *pass) fetchCsums(geo btrfs.CsumGeometry, needs []csumNeed) {
	cs, ss := uint64(geo.CsumSize), uint64(geo.SectorSize)
	var lookups int
	var sumBytes int64
	defer func() {
		p.mu.Lock()
		p.stats.CsumLookups += lookups
		p.stats.CsumBytes += sumBytes
		p.mu.Unlock()
	}()
	gen := uint64(0)
	if info, err := btrfs.GetFSInfo(p.top); err == nil {
		gen = info.Generation
	}
	p.csums.at(gen)
	var missed []csumNeed
	for _, nd := range needs {
		if runs, ok := p.csums.lookup(nd.start, nd.start+nd.length); ok && gen != 0 {
			fillNeed(nd, runs, cs, ss)
		} else {
			missed = append(missed, nd)
		}
	}
	needs = missed
	sort.Slice(needs, func(i, j int) bool { return needs[i].start < needs[j].start })
	for i := 0; i < len(needs); {
		start, end := needs[i].start, needs[i].start+needs[i].length
		j := i + 1
		for ; j < len(needs) && needs[j].start <= end+csumGap; j++ {
			end = max(end, needs[j].start+needs[j].length)
		}
		runs, err := btrfs.DataCsums(p.top, geo, start, end-start)
		lookups++
		if err == nil {
			for _, r := range runs {
				sumBytes += int64(len(r.Sums))
			}
			for _, nd := range needs[i:j] {
				fillNeed(nd, runs, cs, ss)
			}
			if gen != 0 {
				p.csums.add(gen, start, end, runs)
			}
		}
		i = j
	}
}

// fillNeed copies into a need the checksums runs hold for its range
// (runs sorted by address, CsumSize cs bytes per sector of ss bytes).
func fillNeed(nd csumNeed, runs []btrfs.CsumRun, cs, ss uint64) {
	// The first run that ends past the need's start.
	k := sort.Search(len(runs), func(k int) bool {
		return runs[k].Bytenr+uint64(len(runs[k].Sums))/cs*ss > nd.start
	})
	for ; k < len(runs) && runs[k].Bytenr < nd.start+nd.length; k++ {
		r := runs[k]
		lo, hi := max(r.Bytenr, nd.start), min(r.Bytenr+uint64(len(r.Sums))/cs*ss, nd.start+nd.length)
		n := copy(nd.out[(lo-nd.start)/ss*cs:], r.Sums[(lo-r.Bytenr)/ss*cs:(hi-r.Bytenr)/ss*cs])
		*nd.got += uint64(n) / cs
	}
}

// csumGeometry returns the filesystem's checksum geometry, asked once per
// pass; ok is false when csum prints cannot be used (FS_INFO fails, or the
// sector is not 4 KiB).
func (p *pass) csumGeometry() (btrfs.CsumGeometry, bool) {
	p.geoAsked.Do(func() {
		if info, err := btrfs.GetFSInfo(p.top); err == nil && info.CsumSize > 0 {
			p.geo, p.csumType = info.Geometry(), info.CsumType
		}
	})
	return p.geo, p.geo.SectorSize == csumBlock && p.geo.CsumSize > 0 && p.geo.NodeSize > 0
}

// prefetchLimit is the size up to which the files of csum-matched sets are
// all prefetched before a window's shares: nobody read them, and the
// kernel's compare reads page by page, so asking for every one of them at
// once lets the device work on many at a time. Larger files get the
// chunked prefetch of btrfs.Dedupe.
const prefetchLimit = 1 << 20

// prefetchers is how many goroutines ask for the prefetch. Asking does
// not wait for the data, but it can wait for the metadata that maps a
// file's offsets to the disk, cold at this point; a few askers keep the
// device's queue full meanwhile (on a disk too: a deeper queue lets the
// elevator order the seeks).
const prefetchers = 4

// prefetchPlans asks the kernel to read, without waiting, the sources and
// destinations of the window's csum-matched sets (those nothing read),
// through the descriptors examination kept open, in the order the shares
// will use them.
func prefetchPlans(groups []*group) {
	files := make(chan *file, 64)
	var wg sync.WaitGroup
	for range prefetchers {
		wg.Go(func() {
			for f := range files {
				btrfs.Prefetch(f.h, 0, f.size)
			}
		})
	}
	for _, g := range groups {
		if !g.csum || g.size > prefetchLimit {
			continue
		}
		for _, pl := range g.plans {
			for _, f := range append(pl.src.files[:1:1], pl.dests...) {
				if f.h != nil {
					files <- f
				}
			}
		}
	}
	close(files)
	wg.Wait()
}
