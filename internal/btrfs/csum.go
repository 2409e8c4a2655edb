package btrfs

import (
	"fmt"
	"os"
)

// The checksum tree (tree 7) holds one checksum per data sector, in
// EXTENT_CSUM items keyed (ExtentCsumObjectID, ExtentCsumKey, disk
// bytenr): an item's payload is the checksums of consecutive sectors from
// that bytenr on. Checksums cover the data as stored on disk, so for a
// compressed extent they cover the compressed bytes. NODATASUM data (NOCOW
// files, the nodatasum mount option) and preallocated extents have none.
const (
	CsumTreeObjectID = 7
	// ExtentCsumObjectID is BTRFS_EXTENT_CSUM_OBJECTID (-10 as u64).
	ExtentCsumObjectID = ^uint64(0) - 9
)

// CsumGeometry is what reading the checksum tree needs to know about a
// filesystem, from FS_INFO.
type CsumGeometry struct {
	SectorSize uint32 // bytes per checksummed sector (4096)
	CsumSize   uint32 // bytes per checksum (4 for crc32c)
	NodeSize   uint32 // b-tree node size: bounds how much one item covers
}

// Geometry returns the checksum geometry of the filesystem i describes.
func (i FSInfo) Geometry() CsumGeometry {
	return CsumGeometry{SectorSize: i.SectorSize, CsumSize: uint32(i.CsumSize), NodeSize: i.NodeSize}
}

// span is the most data bytes one checksum item can cover: an item is
// smaller than a node.
func (g CsumGeometry) span() uint64 {
	return uint64(g.NodeSize) / uint64(g.CsumSize) * uint64(g.SectorSize)
}

// CsumRun is the checksums of consecutive sectors starting at disk address
// Bytenr: CsumSize bytes per sector.
type CsumRun struct {
	Bytenr uint64
	Sums   []byte
}

// csumBuf is the search buffer of DataCsums: a 16 KiB node's worth of
// checksums plus headers fits.
const csumBuf = 64 << 10

// DataCsums returns the checksums stored for the disk range [start,
// start+length) (sector aligned; a data extent's DiskBytenr and size), in
// address order, as runs clipped to the range. Sectors without a checksum
// are absent. f is any file of the filesystem. Needs CAP_SYS_ADMIN.
func DataCsums(f *os.File, g CsumGeometry, start, length uint64) ([]CsumRun, error) {
	if g.CsumSize == 0 || g.SectorSize == 0 || g.NodeSize == 0 {
		return nil, fmt.Errorf("data checksums: incomplete geometry %+v", g)
	}
	if length == 0 {
		return nil, nil
	}
	end := start + length
	// An item starting up to one item's span before start may cover it.
	from := uint64(0)
	if start > g.span() {
		from = start - g.span()
	}
	s := NewSearch(f, SearchRange{
		TreeID: CsumTreeObjectID,
		Min:    Key{ObjectID: ExtentCsumObjectID, Type: ExtentCsumKey, Offset: from},
		Max:    Key{ObjectID: ExtentCsumObjectID, Type: ExtentCsumKey, Offset: end - 1},
	}, csumBuf)
	defer s.free()
	var out []CsumRun
	// Items come in address order and never overlap, but a walk that
	// meets a concurrent deletion can see an item twice: btrfs cuts the
	// front off a checksum item by moving its key past the cut, so the
	// rest comes again after the walk resumed beyond the old key. Sectors
	// below covered were returned already.
	covered := start
	for s.Next() {
		it := s.Item()
		if it.Key.ObjectID != ExtentCsumObjectID || it.Key.Type != ExtentCsumKey {
			continue
		}
		if r, ok := ClipCsums(g, it.Key.Offset, it.Data, covered, end); ok {
			r.Sums = append([]byte(nil), r.Sums...) // Data aliases the search buffer
			out = append(out, r)
			covered = r.Bytenr + uint64(len(r.Sums))/uint64(g.CsumSize)*uint64(g.SectorSize)
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("data checksums of %d+%d: %w", start, length, err)
	}
	return out, nil
}

// ClipCsums cuts the checksum item at disk address itemStart with payload
// data down to the sectors inside [start, end). ok is false when none is;
// a trailing partial checksum is ignored. Sums aliases data.
func ClipCsums(g CsumGeometry, itemStart uint64, data []byte, start, end uint64) (CsumRun, bool) {
	cs, ss := uint64(g.CsumSize), uint64(g.SectorSize)
	if cs == 0 || ss == 0 {
		return CsumRun{}, false
	}
	n := uint64(len(data)) / cs
	itemEnd := itemStart + n*ss
	lo, hi := max(itemStart, start), min(itemEnd, end)
	if n == 0 || lo >= hi || itemEnd < itemStart {
		return CsumRun{}, false
	}
	// Round lo up and hi down to the item's sector grid.
	first := (lo - itemStart + ss - 1) / ss
	last := (hi - itemStart) / ss
	if first >= last {
		return CsumRun{}, false
	}
	return CsumRun{Bytenr: itemStart + first*ss, Sums: data[first*cs : last*cs]}, true
}
