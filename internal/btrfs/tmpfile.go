package btrfs

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// compressionXattr is the btrfs property naming a file's compression
// algorithm ("zstd", "lzo", "zlib", or with a level).
const compressionXattr = "btrfs.compression"

// classFlags are the inode flags that decide how new data of a file is
// stored: without checksums and in place (NOCOW), compressed or not.
const classFlags = FlagNocow | FlagCompress | FlagNocomp

// OpenTmpfileLike creates an unnamed regular file in directory dir
// (O_TMPFILE): nobody else can open it, and it is deleted when its last
// descriptor closes. It gets the storage class of like: the NOCOW and
// compression flags and the btrfs.compression property, so that data
// written to it is stored the way like's own new data would be (and
// FIDEDUPERANGE, which refuses to share between a NOCOW file and one with
// data checksums, accepts the pair).
func OpenTmpfileLike(dir, like *os.File) (*os.File, error) {
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = unix.Openat(int(dir.Fd()), ".", unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOATIME, 0o600)
		return err
	})
	runtime.KeepAlive(dir)
	if err != nil {
		return nil, fmt.Errorf("create temporary file in %s: %w", dir.Name(), err)
	}
	tmp := os.NewFile(uintptr(fd), "(temporary file)")
	if err := copyClass(tmp, like); err != nil {
		tmp.Close()
		return nil, err
	}
	return tmp, nil
}

// copyClass gives the empty file tmp the storage class of like.
func copyClass(tmp, like *os.File) error {
	want, err := GetFlags(like)
	if err != nil {
		return err
	}
	have, err := GetFlags(tmp)
	if err != nil {
		return err
	}
	// NOCOW can only be set while the file is empty: now.
	if flags := have&^classFlags | want&classFlags; flags != have {
		if err := SetFlags(tmp, flags); err != nil {
			return fmt.Errorf("temporary file like %s: %w", like.Name(), err)
		}
	}
	prop, err := fileXattr(like, compressionXattr)
	if err != nil || len(prop) == 0 {
		return err
	}
	err = retryEINTR(func() error { return unix.Fsetxattr(int(tmp.Fd()), compressionXattr, prop, 0) })
	runtime.KeepAlive(tmp)
	if err != nil {
		return fmt.Errorf("temporary file like %s: set %s: %w", like.Name(), compressionXattr, err)
	}
	return nil
}

// fileXattr returns one extended attribute of an open file, nil when it
// has none.
func fileXattr(f *os.File, name string) ([]byte, error) {
	buf := make([]byte, 64)
	for {
		var n int
		err := retryEINTR(func() (err error) {
			n, err = unix.Fgetxattr(int(f.Fd()), name, buf)
			return err
		})
		runtime.KeepAlive(f)
		switch {
		case errors.Is(err, unix.ENODATA):
			return nil, nil
		case errors.Is(err, unix.ERANGE) && len(buf) < 64<<10:
			buf = make([]byte, 16*len(buf))
			continue
		case err != nil:
			return nil, fmt.Errorf("get xattr %s of %s: %w", name, f.Name(), err)
		}
		return buf[:n], nil
	}
}

// CompressionProperty returns the btrfs.compression property of f, or ""
// when it has none.
func CompressionProperty(f *os.File) (string, error) {
	v, err := fileXattr(f, compressionXattr)
	return string(v), err
}

// AppendSectorCsum appends to dst the checksum Btrfs stores for a data
// sector (sector holds SectorSize bytes: zero-pad a file's last block) with
// checksum type typ, exactly as the csum tree holds it. ok is false for the
// types bedup does not compute (xxhash64, blake2b).
func AppendSectorCsum(dst []byte, typ uint16, sector []byte) (out []byte, ok bool) {
	switch typ {
	case CsumCRC32C:
		return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(sector, castagnoli)), true
	case CsumSHA256:
		sum := sha256.Sum256(sector)
		return append(dst, sum[:]...), true
	}
	return dst, false
}
