package testfs

import (
	"math/rand/v2"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
)

// Compressed is the mount option of a filesystem whose new data is
// compressed with zstd: pass it as Options.MountOpts.
const Compressed = "compress=zstd"

// Text returns n bytes of deterministic, compressible text for seed:
// lines of letters drawn from an alphabet of eight, about three bits of
// information per byte, so zstd stores it in roughly 40 % of its size (and
// differently sized than the data, which is what compressed-extent tests
// need). The same seed gives the same content.
func Text(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	b := make([]byte, n)
	var v uint64
	for i := range b {
		if i%21 == 0 {
			v = r.Uint64()
		}
		b[i] = "abcdefgh"[v&7]
		v >>= 3
		if i%64 == 63 {
			b[i] = '\n'
		}
	}
	return b
}

// DiskExtents returns the file extent items of the file at path (its
// on-disk extents, with their compressed sizes), from the committed tree:
// sync the filesystem first.
func DiskExtents(t testing.TB, path string) []btrfs.FileExtent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	ext, err := btrfs.FileExtents(f, 0, st.Ino)
	if err != nil {
		t.Fatal(err)
	}
	return ext
}

// DiskBytes sums the on-disk size of the distinct data extents the files
// at paths use (each counted once, at its full allocated size, however
// much of it the files reference): what deleting every one of them would
// free if nothing else referenced those extents.
func DiskBytes(t testing.TB, paths ...string) int64 {
	t.Helper()
	seen := map[uint64]bool{}
	var n int64
	for _, p := range paths {
		for _, e := range DiskExtents(t, p) {
			if e.DiskBytenr != 0 && !seen[e.DiskBytenr] {
				seen[e.DiskBytenr] = true
				n += int64(e.DiskNumBytes)
			}
		}
	}
	return n
}
