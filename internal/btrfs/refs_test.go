package btrfs_test

import (
	"os"
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/testfs"
)

// refSet reduces references to the (root, inode) pairs that hold them.
func refSet(refs []btrfs.ExtentRef) map[[2]uint64]bool {
	m := map[[2]uint64]bool{}
	for _, r := range refs {
		m[[2]uint64{r.Root, r.Ino}] = true
	}
	return m
}

func sameRefs(got []btrfs.ExtentRef, want ...[2]uint64) bool {
	g := refSet(got)
	if len(g) != len(want) {
		return false
	}
	for _, w := range want {
		if !g[w] {
			return false
		}
	}
	return true
}

// FileExtents reads a file's on-disk extents (compressed sizes on a
// compressed mount), and ExtentRefs finds every file using one, through
// reflinks and read-only snapshots.
func TestFileExtentsAndRefs(t *testing.T) {
	const size = 4 << 20
	for _, c := range []struct {
		name, mount string
		data        []byte
		compressed  bool
	}{
		{"plain", "", testfs.Bytes(3, size), false},
		{"zstd", testfs.Compressed, testfs.Text(3, size), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := testfs.New(t, testfs.Options{MountOpts: c.mount})
			sub := fs.Subvolume(t, "sub")
			a := testfs.WriteFile(t, sub+"/a", c.data)
			b := testfs.WriteFile(t, sub+"/b", nil)
			bf, err := os.OpenFile(b, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := btrfs.Clone(bf, openFile(t, a)); err != nil {
				t.Fatal(err)
			}
			bf.Close()
			fs.Snapshot(t, "sub", "snap", true)
			fs.Sync(t)
			dir := openDir(t, sub)
			subID, err := btrfs.SubvolumeID(dir)
			if err != nil {
				t.Fatal(err)
			}
			snapID, err := btrfs.SubvolumeID(openDir(t, fs.Path("snap")))
			if err != nil {
				t.Fatal(err)
			}

			ext, err := btrfs.FileExtents(dir, 0, ino(t, a))
			if err != nil || len(ext) == 0 {
				t.Fatalf("FileExtents = %d items, %v", len(ext), err)
			}
			var logical, disk uint64
			for i, e := range ext {
				if e.Type != btrfs.FileExtentReg || e.DiskBytenr == 0 || (e.Compression != 0) != c.compressed {
					t.Errorf("item %d: %+v", i, e)
				}
				if e.FileOffset != logical {
					t.Errorf("item %d starts at %d, want %d", i, e.FileOffset, logical)
				}
				logical += e.NumBytes
				disk += e.DiskNumBytes
			}
			if logical != size {
				t.Errorf("items cover %d bytes, want %d", logical, size)
			}
			if c.compressed && disk > size*6/10 || !c.compressed && disk != size {
				t.Errorf("%d bytes on disk for %d of data (compressed %v)", disk, size, c.compressed)
			}
			// The same items through the top level's descriptor and the id.
			if again, err := btrfs.FileExtents(openDir(t, fs.Mnt), subID, ino(t, a)); err != nil || len(again) != len(ext) {
				t.Errorf("by tree id: %d items, %v", len(again), err)
			}

			refs, complete, err := btrfs.ExtentRefs(dir, ext[len(ext)-1].DiskBytenr)
			want := [][2]uint64{{subID, ino(t, a)}, {subID, ino(t, b)}, {snapID, ino(t, a)}, {snapID, ino(t, b)}}
			if err != nil || !complete || !sameRefs(refs, want...) {
				t.Errorf("ExtentRefs = %+v, %v, %v; want %v", refs, complete, err, want)
			}
		})
	}
}

// A file overwritten in the middle keeps both ends of its old extent
// ("bookends"): two items name the same disk extent, which still has only
// that file as its user.
func TestFileExtentsBookends(t *testing.T) {
	fs := testfs.New(t)
	p := testfs.WriteFile(t, fs.Path("f"), testfs.Bytes(4, 1<<20))
	fs.Sync(t)
	w, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt(testfs.Bytes(5, 4096), 512<<10); err != nil {
		t.Fatal(err)
	}
	w.Close()
	fs.Sync(t)
	ext := testfs.DiskExtents(t, p)
	if len(ext) != 3 || ext[0].DiskBytenr != ext[2].DiskBytenr || ext[0].DiskNumBytes != 1<<20 ||
		ext[2].Offset != 512<<10+4096 || ext[1].DiskBytenr == ext[0].DiskBytenr {
		t.Fatalf("items after overwriting the middle: %+v", ext)
	}
	refs, complete, err := btrfs.ExtentRefs(openDir(t, fs.Mnt), ext[0].DiskBytenr)
	if err != nil || !complete || !sameRefs(refs, [2]uint64{btrfs.FSTreeObjectID, ino(t, p)}) {
		t.Errorf("ExtentRefs = %+v, %v, %v", refs, complete, err)
	}
	if got := testfs.DiskBytes(t, p); got != 1<<20+4096 {
		t.Errorf("DiskBytes = %d, want the old extent and the new block", got)
	}
}
