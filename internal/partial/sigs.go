package partial

import (
	"io"
	"os"
	"sort"

	"github.com/bedup/bedup/internal/btrfs"
)

// sigSource gives the block signatures of one open file: from the csum
// tree where its extents have checksums, else by reading the blocks and
// computing the filesystem's own checksum of them, so that both kinds
// compare equal for equal data. Signatures are loaded a page at a time and
// a few pages are kept.
type sigSource struct {
	p       *pass
	h       *os.File
	items   []btrfs.FileExtent // the file's extent items, in file order
	size    uint64
	nocow   bool // no checksums: read everything
	pages   map[uint64][]uint64
	err     error // the first error met; its blocks have no signature
	noCsum  bool  // some blocks could not be hashed (checksum type)
	nblocks uint64
}

// Signatures are computed indexPage blocks at a time when a whole file is
// keyed (4 MiB of data, 32 chunks), and sigPage blocks at a time when
// planning looks around runs: small, because blocks without checksums are
// read to get them. At most maxSigPages pages (512 KiB) are kept per file.
const (
	indexPage   = 1024
	sigPage     = 2 * ChunkBlocks
	maxSigPages = 1024
)

// newSigSource reads the file's extent items and prepares its signatures.
func (p *pass) newSigSource(f *fileInfo, h *os.File) (*sigSource, error) {
	items, err := btrfs.FileExtents(p.top, f.vol.V.ID, f.m.Ino)
	if err != nil {
		return nil, err
	}
	return &sigSource{p: p, h: h, items: items, size: f.m.Size, nocow: f.nocow,
		pages: map[uint64][]uint64{}, nblocks: blocksOf(f.m.Size)}, nil
}

// sig returns the signature of block b.
func (s *sigSource) sig(b uint64) uint64 {
	if b >= s.nblocks {
		return noSig
	}
	pg := b / sigPage
	sigs, ok := s.pages[pg]
	if !ok {
		if len(s.pages) >= maxSigPages {
			clear(s.pages)
		}
		sigs = s.load(pg*sigPage, min(sigPage, s.nblocks-pg*sigPage))
		s.pages[pg] = sigs
	}
	return sigs[b-pg*sigPage]
}

// load computes the signatures of blocks [from, from+n).
func (s *sigSource) load(from, n uint64) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = noSig
	}
	var reads [][2]uint64
	first := sort.Search(len(s.items), func(i int) bool {
		e := s.items[i]
		return (e.FileOffset+e.NumBytes+BlockSize-1)/BlockSize > from
	})
	for _, e := range s.items[first:] {
		a := max(from, e.FileOffset/BlockSize)
		b := min(from+n, (e.FileOffset+e.NumBytes+BlockSize-1)/BlockSize)
		if a >= from+n {
			break
		}
		switch {
		case a >= b, e.Type != btrfs.FileExtentReg, e.DiskBytenr == 0:
			// Nothing to share: inline data, a hole, preallocated space.
		case e.Compression != 0 || s.nocow:
			reads = append(reads, [2]uint64{a, b})
		default:
			reads = append(reads, s.fromCsums(e, a, b, out[a-from:b-from])...)
		}
	}
	for _, r := range mergeRanges(reads) {
		s.read(r[0], r[1], out[r[0]-from:r[1]-from])
	}
	return out
}

// fromCsums fills the signatures of blocks [a, b), which item e holds
// uncompressed, from the csum tree, and returns the blocks it has no
// checksum for.
func (s *sigSource) fromCsums(e btrfs.FileExtent, a, b uint64, out []uint64) [][2]uint64 {
	start := e.DiskBytenr + e.Offset + a*BlockSize - e.FileOffset
	runs, err := btrfs.DataCsums(s.p.top, s.p.geo, start, (b-a)*BlockSize)
	if err != nil {
		s.fail(err)
		return nil
	}
	cs := uint64(s.p.geo.CsumSize)
	for _, r := range runs {
		for i := uint64(0); i < uint64(len(r.Sums))/cs; i++ {
			out[(r.Bytenr-start)/BlockSize+i] = sigOf(r.Sums[i*cs : (i+1)*cs])
		}
		s.p.stats.BytesKeyed += int64(len(r.Sums)) / int64(cs) * BlockSize
	}
	var missing [][2]uint64
	for i, v := range out {
		if v != noSig {
			continue
		}
		x := a + uint64(i)
		if k := len(missing) - 1; k >= 0 && missing[k][1] == x {
			missing[k][1]++
		} else {
			missing = append(missing, [2]uint64{x, x + 1})
		}
	}
	return missing
}

// readChunk is how much one read asks for.
const readChunk = 1 << 20

// read computes the signatures of blocks [a, b) from their bytes.
func (s *sigSource) read(a, b uint64, out []uint64) {
	buf := make([]byte, min(readChunk, (b-a)*BlockSize))
	var sum []byte
	for x := a; x < b; {
		n := min(uint64(len(buf))/BlockSize, b-x)
		m, err := s.h.ReadAt(buf[:n*BlockSize], int64(x*BlockSize))
		if err != nil && err != io.EOF {
			s.fail(err)
			return
		}
		s.p.stats.BytesRead += int64(m)
		clear(buf[m : n*BlockSize]) // past EOF: the zeros the checksum covers
		for i := uint64(0); i < n; i++ {
			var ok bool
			if sum, ok = btrfs.AppendSectorCsum(sum[:0], s.p.csumType, buf[i*BlockSize:(i+1)*BlockSize]); !ok {
				s.noCsum = true
				return
			}
			out[x-a+i] = sigOf(sum)
		}
		x += n
	}
}

func (s *sigSource) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// keys computes the chunk keys of the whole file, a page at a time.
func (s *sigSource) keys() []uint64 {
	keys := make([]uint64, 0, s.size/ChunkSize)
	for from := uint64(0); from < s.nblocks; from += indexPage {
		page := s.load(from, min(indexPage, s.nblocks-from))
		keys = append(keys, chunkKeys(page)...)
	}
	return keys
}
