package btrfs_test

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/testfs"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// The checksum tree holds the crc32c of every 4 KiB block a plain file
// stores, in the order of its disk addresses; a compressed extent's
// checksums cover the compressed bytes (one per on-disk sector); NOCOW data
// has none.
func TestDataCsums(t *testing.T) {
	for _, c := range []struct {
		name, mount string
		nocow       bool
		data        []byte
	}{
		{"plain", "", false, testfs.Bytes(7, 3<<20+1000)},
		{"zstd", testfs.Compressed, false, testfs.Text(7, 1<<20)},
		{"nocow", "", true, testfs.Bytes(7, 1<<20)},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := testfs.New(t, testfs.Options{MountOpts: c.mount})
			p := fs.Path("f")
			if c.nocow {
				testfs.WriteNocow(t, p, c.data)
			} else {
				testfs.WriteFile(t, p, c.data)
			}
			fs.Sync(t)
			f := openFile(t, p)
			info, err := btrfs.GetFSInfo(f)
			if err != nil {
				t.Fatal(err)
			}
			g := info.Geometry()
			if g.CsumSize != 4 || g.SectorSize != 4096 {
				t.Fatalf("geometry %+v, want crc32c on 4 KiB sectors", g)
			}
			for _, e := range testfs.DiskExtents(t, p) {
				if e.DiskBytenr == 0 {
					continue
				}
				runs, err := btrfs.DataCsums(f, g, e.DiskBytenr, e.DiskNumBytes)
				if err != nil {
					t.Fatal(err)
				}
				var n uint64
				for _, r := range runs {
					n += uint64(len(r.Sums)) / 4
				}
				switch {
				case c.nocow:
					if n != 0 {
						t.Errorf("NOCOW extent has %d checksums", n)
					}
					continue
				case e.Compression != 0:
					if n != e.DiskNumBytes/4096 {
						t.Errorf("compressed extent of %d bytes on disk: %d checksums", e.DiskNumBytes, n)
					}
					continue
				}
				if n != e.DiskNumBytes/4096 {
					t.Fatalf("extent of %d bytes: %d checksums", e.DiskNumBytes, n)
				}
				for _, r := range runs {
					for i := 0; i < len(r.Sums)/4; i++ {
						disk := r.Bytenr + uint64(i)*4096
						off := int(disk - e.DiskBytenr - e.Offset + e.FileOffset)
						block := make([]byte, 4096)
						copy(block, c.data[off:min(off+4096, len(c.data))])
						if got, want := binary.LittleEndian.Uint32(r.Sums[4*i:]), crc32.Checksum(block, castagnoli); got != want {
							t.Fatalf("block at file offset %d: csum %08x, crc32c %08x", off, got, want)
						}
					}
				}
			}
		})
	}
}

// A range inside an extent gets the checksums of its sectors only.
func TestDataCsumsClipped(t *testing.T) {
	fs := testfs.New(t)
	p := testfs.WriteFile(t, fs.Path("f"), testfs.Bytes(8, 2<<20))
	fs.Sync(t)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := btrfs.GetFSInfo(f)
	if err != nil {
		t.Fatal(err)
	}
	e := testfs.DiskExtents(t, p)[0]
	runs, err := btrfs.DataCsums(f, info.Geometry(), e.DiskBytenr+8192, 3*4096)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Bytenr != e.DiskBytenr+8192 || len(runs[0].Sums) != 12 {
		t.Fatalf("runs %+v", runs)
	}
}

// A temporary file takes the storage class of the file it is made like:
// NOCOW stays NOCOW, a compression property is copied; it has no name and
// is gone once closed.
func TestOpenTmpfileLike(t *testing.T) {
	fs := testfs.New(t)
	plain := testfs.WriteFile(t, fs.Path("plain"), []byte("x"))
	nocow := testfs.WriteNocow(t, fs.Path("nocow"), []byte("x"))
	comp := testfs.WriteFile(t, fs.Path("comp"), nil)
	if err := btrfs.SetXattr(comp, "btrfs.compression", []byte("zstd")); err != nil {
		t.Fatal(err)
	}
	dir := openDir(t, fs.Mnt)
	for _, c := range []struct {
		like     string
		nocow    bool
		compress string
	}{{plain, false, ""}, {nocow, true, ""}, {comp, false, "zstd"}} {
		tmp, err := btrfs.OpenTmpfileLike(dir, openFile(t, c.like))
		if err != nil {
			t.Fatal(err)
		}
		flags, err := btrfs.GetFlags(tmp)
		if err != nil {
			t.Fatal(err)
		}
		prop, err := btrfs.CompressionProperty(tmp)
		if err != nil {
			t.Fatal(err)
		}
		if (flags&btrfs.FlagNocow != 0) != c.nocow || prop != c.compress {
			t.Errorf("like %s: flags %#x, compression %q", c.like, flags, prop)
		}
		if _, err := tmp.WriteAt([]byte("data"), 0); err != nil {
			t.Fatal(err)
		}
		tmp.Close()
	}
	ents, err := os.ReadDir(fs.Mnt)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 3 {
		t.Errorf("temporary files left names: %v", ents)
	}
}

// AppendSectorCsum computes what the csum tree stores.
func TestAppendSectorCsum(t *testing.T) {
	sector := make([]byte, 4096)
	copy(sector, "hello")
	got, ok := btrfs.AppendSectorCsum(nil, btrfs.CsumCRC32C, sector)
	if !ok || binary.LittleEndian.Uint32(got) != crc32.Checksum(sector, castagnoli) {
		t.Errorf("crc32c: %x %v", got, ok)
	}
	if got, ok := btrfs.AppendSectorCsum(nil, btrfs.CsumSHA256, sector); !ok || len(got) != 32 {
		t.Errorf("sha256: %x %v", got, ok)
	}
	if _, ok := btrfs.AppendSectorCsum(nil, btrfs.CsumXXHash, sector); ok {
		t.Error("xxhash computed")
	}
}
