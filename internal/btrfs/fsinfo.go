package btrfs

import (
	"fmt"
	"os"
	"unsafe"
)

// fsInfoArgs mirrors struct btrfs_ioctl_fs_info_args (1024 bytes).
type fsInfoArgs struct {
	MaxID          uint64
	NumDevices     uint64
	FSID           [16]byte
	NodeSize       uint32
	SectorSize     uint32
	CloneAlignment uint32
	CsumType       uint16
	CsumSize       uint16
	Flags          uint64
	Generation     uint64
	MetadataUUID   [16]byte
	_              [944]byte
}

// Flags asking FS_INFO for the optional fields.
const (
	fsInfoFlagCsumInfo   = 1 << 0
	fsInfoFlagGeneration = 1 << 1
)

// FSInfo describes a mounted Btrfs filesystem.
type FSInfo struct {
	FSID           [16]byte // the filesystem UUID
	NumDevices     uint64
	NodeSize       uint32
	SectorSize     uint32 // data block size: dedupe ranges align to it
	CloneAlignment uint32
	CsumType       uint16
	CsumSize       uint16
	Generation     uint64 // the superblock's current generation
}

// UUID formats the filesystem id the usual dashed lowercase way.
func (i FSInfo) UUID() string { return FormatUUID(i.FSID) }

// GetFSInfo asks BTRFS_IOC_FS_INFO about the filesystem f is on. On another
// filesystem the error satisfies IsNotBtrfs.
func GetFSInfo(f *os.File) (FSInfo, error) {
	args := &fsInfoArgs{Flags: fsInfoFlagCsumInfo | fsInfoFlagGeneration}
	if err := fileIoctl(f, iocFSInfo, unsafe.Pointer(args)); err != nil {
		return FSInfo{}, fmt.Errorf("fs info: %w", err)
	}
	info := FSInfo{
		FSID:           args.FSID,
		NumDevices:     args.NumDevices,
		NodeSize:       args.NodeSize,
		SectorSize:     args.SectorSize,
		CloneAlignment: args.CloneAlignment,
	}
	if args.Flags&fsInfoFlagCsumInfo != 0 {
		info.CsumType, info.CsumSize = args.CsumType, args.CsumSize
	}
	if args.Flags&fsInfoFlagGeneration != 0 {
		info.Generation = args.Generation
	}
	return info, nil
}

// FormatUUID formats 16 bytes as 8-4-4-4-12 lowercase hex.
func FormatUUID(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
