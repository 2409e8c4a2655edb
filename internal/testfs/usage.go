package testfs

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Usage is the data a set of files keeps allocated, counted on disk: each
// distinct data extent once, at its allocated size. Sync the filesystem
// before taking it.
type Usage struct {
	// Now is what the files use.
	Now int64
	// Least is the least they could use without writing into the pinned
	// files: per content, the extents of its pinned copies (they keep
	// them), or one copy's extents when no copy is pinned.
	Least int64
	// Lone lists the unpinned files that have identical copies but share
	// their extents with none of them.
	Lone []string
}

// DataUsage measures the Usage of files; pinned says which of them may not
// be written (copies in read-only snapshots nobody names). It reads them
// without updating their access times: an atime update is a change of the
// inode, which the next scan would see.
func DataUsage(t testing.TB, files []string, pinned func(string) bool) Usage {
	t.Helper()
	type copyOf struct {
		path string
		key  string           // the file's extents: copies with equal keys share them
		ext  map[uint64]int64 // disk address -> allocated bytes
	}
	byContent := map[[32]byte][]copyOf{}
	all := map[uint64]int64{}
	for _, p := range files {
		data, err := readNoatime(p)
		if err != nil {
			t.Fatal(err)
		}
		c := copyOf{path: p, ext: map[uint64]int64{}}
		var key strings.Builder
		for _, e := range DiskExtents(t, p) {
			fmt.Fprintf(&key, "%d+%d:%d,", e.DiskBytenr, e.Offset, e.NumBytes)
			if e.DiskBytenr != 0 {
				c.ext[e.DiskBytenr] = int64(e.DiskNumBytes)
				all[e.DiskBytenr] = int64(e.DiskNumBytes)
			}
		}
		c.key = key.String()
		sum := sha256.Sum256(data)
		byContent[sum] = append(byContent[sum], c)
	}
	var u Usage
	for _, n := range all {
		u.Now += n
	}
	for _, copies := range byContent {
		pinnedExt, least := map[uint64]int64{}, int64(-1)
		for _, c := range copies {
			var n int64
			for addr, size := range c.ext {
				n += size
				if pinned(c.path) {
					pinnedExt[addr] = size
				}
			}
			if least < 0 || n < least {
				least = n
			}
		}
		if len(pinnedExt) > 0 {
			least = 0
			for _, size := range pinnedExt {
				least += size
			}
		}
		u.Least += least
		for _, c := range copies {
			if pinned(c.path) || len(copies) < 2 {
				continue
			}
			alone := true
			for _, o := range copies {
				alone = alone && (o.path == c.path || o.key != c.key)
			}
			if alone {
				u.Lone = append(u.Lone, c.path)
			}
		}
	}
	return u
}

// readNoatime reads a whole file with O_NOATIME.
func readNoatime(p string) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOATIME, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
