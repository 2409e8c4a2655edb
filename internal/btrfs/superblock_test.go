package btrfs

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
)

// encSuperblock builds a primary superblock with a valid checksum of typ
// (CRC32C or SHA256; other types get no checksum).
func encSuperblock(fsid byte, label string, typ uint16, change func(b []byte)) []byte {
	b := make([]byte, SuperblockSize)
	le := binary.LittleEndian
	for i := range 16 {
		b[sbFSID+i] = fsid + byte(i)
		b[sbDevUUID+i] = 0xa0 + byte(i)
	}
	le.PutUint64(b[sbBytenr:], SuperblockOffset)
	copy(b[sbMagic:], "_BHRfS_M")
	le.PutUint64(b[sbGeneration:], 6)
	le.PutUint64(b[sbTotalBytes:], 200<<20)
	le.PutUint64(b[sbBytesUsed:], 147456)
	le.PutUint64(b[sbNumDevices:], 1)
	le.PutUint32(b[sbSectorSize:], 4096)
	le.PutUint32(b[sbNodeSize:], 16384)
	le.PutUint16(b[sbCsumType:], typ)
	le.PutUint64(b[sbDevItem:], 1)
	copy(b[sbLabel:sbLabel+sbLabelSize], label)
	if change != nil {
		change(b)
	}
	switch typ {
	case CsumCRC32C:
		le.PutUint32(b[sbCsum:], crc32.Checksum(b[sbFSID:], crc32.MakeTable(crc32.Castagnoli)))
	case CsumSHA256:
		sum := sha256.Sum256(b[sbFSID:])
		copy(b[sbCsum:], sum[:])
	}
	return b
}

func TestDecodeSuperblock(t *testing.T) {
	flip := func(off int) func([]byte) []byte {
		return func(b []byte) []byte { b[off] ^= 1; return b }
	}
	long := strings.Repeat("x", sbLabelSize)
	for _, c := range []struct {
		name     string
		in       []byte
		after    func([]byte) []byte // applied after the checksum was computed
		err      error
		label    string
		verified bool
		metaUUID bool
	}{
		{name: "crc32c", in: encSuperblock(0x10, "somelabel", CsumCRC32C, nil), label: "somelabel", verified: true},
		{name: "no label", in: encSuperblock(0x10, "", CsumCRC32C, nil), verified: true},
		{name: "label filling the field", in: encSuperblock(0x10, long, CsumCRC32C, nil), label: long, verified: true},
		{name: "sha256", in: encSuperblock(0x10, "s", CsumSHA256, nil), label: "s", verified: true},
		{name: "xxhash not verified", in: encSuperblock(0x10, "x", CsumXXHash, nil), label: "x"},
		{name: "metadata uuid", in: encSuperblock(0x10, "m", CsumCRC32C, func(b []byte) {
			binary.LittleEndian.PutUint64(b[sbIncompat:], incompatMetadataUUID)
			b[sbMetadataUUID] = 0xee
		}), label: "m", verified: true, metaUUID: true},
		{name: "crc32c mismatch", in: encSuperblock(0x10, "l", CsumCRC32C, nil), after: flip(sbLabel), err: ErrSuperblockChecksum},
		{name: "sha256 mismatch", in: encSuperblock(0x10, "l", CsumSHA256, nil), after: flip(sbCsum + 31), err: ErrSuperblockChecksum},
		{name: "bad magic", in: encSuperblock(0x10, "l", CsumCRC32C, nil), after: flip(sbMagic), err: ErrNoSuperblock},
		{name: "temporary magic of an unfinished mkfs", in: encSuperblock(0x10, "l", CsumCRC32C, func(b []byte) { b[sbMagic] = '!' }), err: ErrNoSuperblock},
		{name: "short", in: encSuperblock(0x10, "l", CsumCRC32C, nil)[:SuperblockSize-1], err: ErrNoSuperblock},
		{name: "empty", in: nil, err: ErrNoSuperblock},
	} {
		in := c.in
		if c.after != nil {
			in = c.after(in)
		}
		s, err := DecodeSuperblock(in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: err %v, want %v", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if s.UUID() != "10111213-1415-1617-1819-1a1b1c1d1e1f" || s.Label != c.label || s.Verified != c.verified {
			t.Errorf("%s: uuid %s label %q verified %v; want label %q verified %v", c.name, s.UUID(), s.Label, s.Verified, c.label, c.verified)
		}
		if s.Bytenr != SuperblockOffset || s.Generation != 6 || s.NumDevices != 1 || s.SectorSize != 4096 ||
			s.NodeSize != 16384 || s.DevID != 1 || s.DevUUID[0] != 0xa0 || s.DevUUID[15] != 0xaf {
			t.Errorf("%s: fields %+v", c.name, s)
		}
		if got := s.MetadataUUID[0] == 0xee; got != c.metaUUID {
			t.Errorf("%s: metadata uuid %x", c.name, s.MetadataUUID)
		}
	}
}

// The decoder takes arbitrary bytes without panicking, and what it accepts
// carries the magic and a label taken from the input.
func FuzzDecodeSuperblock(f *testing.F) {
	f.Add(encSuperblock(1, "seed", CsumCRC32C, nil))
	f.Add(encSuperblock(1, "seed", CsumBLAKE2, nil))
	f.Add([]byte("_BHRfS_M"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSuperblock(b)
		if err != nil {
			return
		}
		if len(b) < SuperblockSize || string(b[sbMagic:sbMagic+8]) != "_BHRfS_M" {
			t.Fatal("accepted without a whole superblock and its magic")
		}
		if len(s.Label) >= sbLabelSize+1 || !strings.HasPrefix(string(b[sbLabel:]), s.Label) {
			t.Fatalf("label %q not from the input", s.Label)
		}
	})
}
