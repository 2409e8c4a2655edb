package btrfs

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Where and how big the primary superblock is (BTRFS_SUPER_INFO_OFFSET,
// BTRFS_SUPER_INFO_SIZE).
const (
	SuperblockOffset = 64 << 10
	SuperblockSize   = 4096
)

// Checksum types of the superblock and of data and metadata blocks
// (enum btrfs_csum_type).
const (
	CsumCRC32C = 0
	CsumXXHash = 1
	CsumSHA256 = 2
	CsumBLAKE2 = 3
)

// ErrNoSuperblock means the bytes (or the device) hold no Btrfs superblock:
// too short, or without the magic "_BHRfS_M".
var ErrNoSuperblock = errors.New("no Btrfs superblock")

// ErrSuperblockChecksum means the bytes look like a Btrfs superblock but
// their checksum does not match: a torn or stale copy, not to be trusted.
var ErrSuperblockChecksum = errors.New("superblock checksum mismatch")

// Offsets in struct btrfs_super_block (packed, little-endian), checked
// against the kernel's btrfs_tree.h and btrfs-progs' dump-super.
const (
	sbCsum         = 0x00 // csum[32]
	sbFSID         = 0x20 // fsid[16]
	sbBytenr       = 0x30
	sbMagic        = 0x40
	sbGeneration   = 0x48
	sbTotalBytes   = 0x70
	sbBytesUsed    = 0x78
	sbNumDevices   = 0x88
	sbSectorSize   = 0x90
	sbNodeSize     = 0x94
	sbIncompat     = 0xbc
	sbCsumType     = 0xc4
	sbDevItem      = 0xc9 // struct btrfs_dev_item, 98 bytes
	sbDevUUID      = 0xc9 + 66
	sbLabel        = 0x12b // label[256]
	sbMetadataUUID = 0x23b // metadata_uuid[16]
	sbLabelSize    = 256
)

// incompatMetadataUUID (BTRFS_FEATURE_INCOMPAT_METADATA_UUID) says the
// tree blocks carry MetadataUUID while the user-visible fsid was changed.
const incompatMetadataUUID = 1 << 10

var (
	superMagic = []byte("_BHRfS_M")
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// Superblock is what bedup reads from a Btrfs device's primary superblock
// to list a filesystem that is not mounted.
type Superblock struct {
	FSID       [16]byte // the filesystem UUID (as FS_INFO and sysfs show it)
	Bytenr     uint64   // where this copy says it lives
	Generation uint64
	TotalBytes uint64
	BytesUsed  uint64
	NumDevices uint64
	SectorSize uint32
	NodeSize   uint32
	CsumType   uint16
	// Label is the filesystem label, "" when none.
	Label string
	// DevID and DevUUID identify this device within the filesystem.
	DevID   uint64
	DevUUID [16]byte
	// MetadataUUID is the fsid stamped in tree blocks when it differs from
	// FSID (btrfstune -m); zero otherwise.
	MetadataUUID [16]byte
	// Verified is set when the checksum was checked (CRC32C or SHA256);
	// for the other checksum types only the magic was.
	Verified bool
}

// UUID formats the filesystem id the usual dashed lowercase way.
func (s Superblock) UUID() string { return FormatUUID(s.FSID) }

// DecodeSuperblock decodes a primary superblock (SuperblockSize bytes, as
// read at SuperblockOffset). Without the magic it returns ErrNoSuperblock;
// with a CRC32C or SHA256 checksum that does not match,
// ErrSuperblockChecksum.
func DecodeSuperblock(b []byte) (Superblock, error) {
	if len(b) < SuperblockSize {
		return Superblock{}, fmt.Errorf("%w: %d bytes, want %d", ErrNoSuperblock, len(b), SuperblockSize)
	}
	b = b[:SuperblockSize]
	if !bytes.Equal(b[sbMagic:sbMagic+8], superMagic) {
		return Superblock{}, ErrNoSuperblock
	}
	le := binary.LittleEndian
	s := Superblock{
		Bytenr:     le.Uint64(b[sbBytenr:]),
		Generation: le.Uint64(b[sbGeneration:]),
		TotalBytes: le.Uint64(b[sbTotalBytes:]),
		BytesUsed:  le.Uint64(b[sbBytesUsed:]),
		NumDevices: le.Uint64(b[sbNumDevices:]),
		SectorSize: le.Uint32(b[sbSectorSize:]),
		NodeSize:   le.Uint32(b[sbNodeSize:]),
		CsumType:   le.Uint16(b[sbCsumType:]),
		DevID:      le.Uint64(b[sbDevItem:]),
	}
	copy(s.FSID[:], b[sbFSID:])
	copy(s.DevUUID[:], b[sbDevUUID:])
	if le.Uint64(b[sbIncompat:])&incompatMetadataUUID != 0 {
		copy(s.MetadataUUID[:], b[sbMetadataUUID:])
	}
	label := b[sbLabel : sbLabel+sbLabelSize]
	if i := bytes.IndexByte(label, 0); i >= 0 {
		label = label[:i]
	}
	s.Label = string(label)
	ok, checked := checkSuperCsum(s.CsumType, b)
	if checked && !ok {
		return Superblock{}, fmt.Errorf("%w (checksum type %d)", ErrSuperblockChecksum, s.CsumType)
	}
	s.Verified = checked
	return s, nil
}

// checkSuperCsum checks the checksum of a superblock, which covers
// everything after the checksum field; checked is false for the types it
// does not compute.
func checkSuperCsum(typ uint16, b []byte) (ok, checked bool) {
	data := b[sbFSID:]
	switch typ {
	case CsumCRC32C:
		sum := crc32.Checksum(data, castagnoli)
		return binary.LittleEndian.Uint32(b[sbCsum:]) == sum, true
	case CsumSHA256:
		sum := sha256.Sum256(data)
		return bytes.Equal(b[sbCsum:sbCsum+sha256.Size], sum[:]), true
	}
	return false, false
}

// ReadSuperblock reads and decodes the primary superblock of device (a
// block device or an image file). It opens the device read-only and closes
// it before returning. A superblock that does not say it lives where it was
// read is not a primary one (ErrNoSuperblock).
func ReadSuperblock(device string) (Superblock, error) {
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = unix.Open(device, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
		return err
	})
	if err != nil {
		return Superblock{}, fmt.Errorf("superblock of %s: %w", device, err)
	}
	f := os.NewFile(uintptr(fd), device)
	defer f.Close()
	b := make([]byte, SuperblockSize)
	if _, err := f.ReadAt(b, SuperblockOffset); err != nil {
		if errors.Is(err, io.EOF) {
			err = ErrNoSuperblock
		}
		return Superblock{}, fmt.Errorf("superblock of %s: %w", device, err)
	}
	s, err := DecodeSuperblock(b)
	if err == nil && s.Bytenr != SuperblockOffset {
		err = fmt.Errorf("%w: copy for offset %d", ErrNoSuperblock, s.Bytenr)
	}
	if err != nil {
		return Superblock{}, fmt.Errorf("superblock of %s: %w", device, err)
	}
	return s, nil
}
