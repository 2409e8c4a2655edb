package btrfs

import (
	"fmt"
	"os"
	"unsafe"
)

// fiemapHeader mirrors struct fiemap (32 bytes) without its extent array.
type fiemapHeader struct {
	Start         uint64
	Length        uint64
	Flags         uint32
	MappedExtents uint32
	ExtentCount   uint32
	_             uint32
}

// fiemapExtent mirrors struct fiemap_extent (56 bytes).
type fiemapExtent struct {
	Logical  uint64
	Physical uint64
	Length   uint64
	_        [2]uint64
	Flags    uint32
	_        [3]uint32
}

// fiemapFlagSync makes the kernel flush delayed allocation first, so that
// fresh data has a real physical address instead of 0.
const fiemapFlagSync = 0x1

// FIEMAP extent flags (linux/fiemap.h).
const (
	ExtentLast       = 0x1
	ExtentUnknown    = 0x2
	ExtentDelalloc   = 0x4
	ExtentEncoded    = 0x8
	ExtentEncrypted  = 0x80
	ExtentNotAligned = 0x100
	ExtentDataInline = 0x200
	ExtentDataTail   = 0x400
	ExtentUnwritten  = 0x800
	ExtentMerged     = 0x1000
	ExtentShared     = 0x2000
)

// Extent is one mapped range of a file.
type Extent struct {
	Logical  uint64 // offset in the file
	Physical uint64 // byte address on the filesystem (0 for inline/delalloc)
	Length   uint64
	Flags    uint32
}

// Shared reports whether the kernel says another file or snapshot also
// references this extent.
func (e Extent) Shared() bool { return e.Flags&ExtentShared != 0 }

// Located reports whether Physical is a real disk address that can be
// compared with another file's: inline, delalloc and unknown extents have
// none and must never be taken as "already shared".
func (e Extent) Located() bool {
	return e.Flags&(ExtentDataInline|ExtentDelalloc|ExtentUnknown|ExtentNotAligned) == 0 && e.Physical != 0
}

// How many extents one FIEMAP call asks for: few at first (most files
// have few extents, and the buffer is cleared for every call), more once a
// file shows it has many.
const (
	fiemapFirst = 16
	fiemapBatch = 512
)

// Fiemap returns the extent map of the whole file, asking the kernel to
// flush delayed allocation first (FIEMAP_FLAG_SYNC). Holes are absent.
func Fiemap(f *os.File) ([]Extent, error) {
	const hdr = int(unsafe.Sizeof(fiemapHeader{}))
	const ext = int(unsafe.Sizeof(fiemapExtent{}))
	batch := fiemapFirst
	// The first call's buffer is on the stack (its size is a constant):
	// examining a file makes a call, and most files need no second.
	var first [(hdr + fiemapFirst*ext) / 8]uint64
	mem := first[:]
	var out []Extent
	start := uint64(0)
	for {
		h := (*fiemapHeader)(unsafe.Pointer(&mem[0]))
		*h = fiemapHeader{Start: start, Length: ^uint64(0) - start, Flags: fiemapFlagSync, ExtentCount: uint32(batch)}
		if err := fileIoctl(f, iocFiemap, unsafe.Pointer(&mem[0])); err != nil {
			return nil, fmt.Errorf("fiemap: %w", err)
		}
		n := int(h.MappedExtents)
		if n == 0 {
			return out, nil
		}
		if n > batch {
			return nil, fmt.Errorf("fiemap: kernel mapped %d extents, asked for %d", n, batch)
		}
		exts := unsafe.Slice((*fiemapExtent)(unsafe.Add(unsafe.Pointer(&mem[0]), hdr)), n)
		last := false
		for _, e := range exts {
			out = append(out, Extent{Logical: e.Logical, Physical: e.Physical, Length: e.Length, Flags: e.Flags})
			last = last || e.Flags&ExtentLast != 0
		}
		end := exts[n-1].Logical + exts[n-1].Length
		if last || end <= start {
			return out, nil
		}
		start = end
		if batch < fiemapBatch {
			batch = fiemapBatch
			mem = make([]uint64, (hdr+batch*ext)/8)
		}
	}
}
