package dedupe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/zeebo/xxh3"

	"github.com/bedup/bedup/internal/btrfs"
)

// ExtentPrint is a file's extent map reduced to a 16-byte fingerprint:
// equal prints mean the files keep their data in the same physical places
// (holes included), so they already share it, and a file whose print did
// not change since it was hashed still holds the hashed bytes (Btrfs
// writes new data to new extents) — unless it is NOCOW, whose writes land
// in place (the pipeline checks the transid for those). Which ranges are
// unwritten (preallocated) is part of the print: a write into one lands in
// place too, but turns it written. nil means "not comparable": the map has
// inline, delayed or unlocated extents.
type ExtentPrint []byte

// Print computes the ExtentPrint of an extent map for a file of size
// bytes. Adjacent extents that continue each other on disk (and are alike
// written or unwritten) are merged, so two files mapped in differently
// split pieces of the same extents print alike. A map without unwritten
// extents prints as it did before unwritten ranges were marked.
func Print(ext []btrfs.Extent, size uint64) ExtentPrint {
	h := xxh3.New()
	var buf [25]byte
	var run btrfs.Extent
	open := false
	unwritten := func(e btrfs.Extent) bool { return e.Flags&btrfs.ExtentUnwritten != 0 }
	flush := func() {
		if open {
			binary.LittleEndian.PutUint64(buf[0:], run.Logical)
			binary.LittleEndian.PutUint64(buf[8:], run.Physical)
			binary.LittleEndian.PutUint64(buf[16:], run.Length)
			if unwritten(run) {
				buf[24] = 'u'
				h.Write(buf[:25])
			} else {
				h.Write(buf[:24])
			}
		}
	}
	for _, e := range ext {
		if e.Logical >= size {
			break
		}
		if !e.Located() {
			return nil
		}
		if open && run.Logical+run.Length == e.Logical && run.Physical+run.Length == e.Physical && unwritten(run) == unwritten(e) {
			run.Length += e.Length
			continue
		}
		flush()
		run, open = e, true
	}
	flush()
	sum := h.Sum128().Bytes()
	return sum[:]
}

// Equal reports whether two prints are both comparable and the same.
func (p ExtentPrint) Equal(q ExtentPrint) bool { return p != nil && bytes.Equal(p, q) }

// sampleSize and samplePoints: XXH3-64 over 4 KiB at the start, at 30 %
// and at the end tells most same-size files apart for 12 KiB of reading.
const sampleSize = 4096

// sampleOffsets are where the three samples of a file larger than three
// samples start.
func sampleOffsets(size uint64) []uint64 {
	return []uint64{0, size * 3 / 10 &^ (sampleSize - 1), size - sampleSize}
}

// Sample hashes three 4 KiB samples of a file of size bytes (the whole
// file when it is no larger than that).
func Sample(f *os.File, size uint64) (uint64, error) {
	h := xxh3.New()
	buf := make([]byte, sampleSize)
	offs := sampleOffsets(size)
	if size <= 3*sampleSize {
		offs = []uint64{0}
		buf = make([]byte, size)
	}
	for _, off := range offs {
		n, err := f.ReadAt(buf, int64(off))
		if err != nil && !(err == io.EOF && n == len(buf)) {
			return 0, fmt.Errorf("read sample: %w", err)
		}
		h.Write(buf[:n])
	}
	return h.Sum64(), nil
}

// readBuf is the read size of full hashing.
const readBuf = 1 << 20

// Hash reads the whole file of size bytes and returns its XXH3-128, the
// same sample hash Sample would give, and the bytes read; the caller checks
// the count against the expected size. It reads with pread, so several
// readers may share a descriptor.
func Hash(f *os.File, size uint64, buf []byte) ([16]byte, uint64, int64, error) {
	if size > uint64(len(buf)) {
		btrfs.AdviseSequential(f)
	}
	h := xxh3.New()
	var n int64
	var sample uint64
	for {
		m, err := f.ReadAt(buf, n)
		if n == 0 && uint64(m) == size {
			// The whole file in one buffer: take the sample from it.
			sample = sampleOf(buf[:m], size)
		}
		h.Write(buf[:m])
		n += int64(m)
		if err == io.EOF || (err == nil && m == 0) {
			break
		}
		if err != nil {
			return [16]byte{}, 0, n, fmt.Errorf("read: %w", err)
		}
	}
	if uint64(n) == size && size > uint64(len(buf)) {
		var err error
		if sample, err = Sample(f, size); err != nil {
			return [16]byte{}, 0, n, err
		}
	}
	return h.Sum128().Bytes(), sample, n, nil
}

// sampleOf computes Sample's value from the whole content in memory.
func sampleOf(b []byte, size uint64) uint64 {
	h := xxh3.New()
	if size <= 3*sampleSize {
		h.Write(b)
		return h.Sum64()
	}
	for _, off := range sampleOffsets(size) {
		h.Write(b[off : off+sampleSize])
	}
	return h.Sum64()
}
