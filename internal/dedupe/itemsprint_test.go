package dedupe

import (
	"bytes"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/testfs"
)

// The print made from a file's extent items (itemsPrint, one tree search)
// is the print made from FIEMAP (Print), on every kind of map: several
// extents, holes, preallocated ranges inside and past EOF, an inline
// file, part of another file's extent cloned in the middle, and the same
// on a filesystem that compresses. The read-back after a share compares
// the two, so a difference would leave shared files flagged forever.
func TestItemsPrintMatchesFiemap(t *testing.T) {
	for _, mountOpts := range []string{"", testfs.Compressed} {
		t.Run("mount="+mountOpts, func(t *testing.T) {
			fs := testfs.New(t, testfs.Options{MountOpts: mountOpts})
			data := func(seed uint64, n int) []byte {
				if mountOpts != "" {
					return testfs.Text(seed, n)
				}
				return testfs.Bytes(seed, n)
			}
			put := func(f *os.File, b []byte, off int64) {
				if _, err := f.WriteAt(b, off); err != nil {
					t.Fatal(err)
				}
			}
			dense := testfs.WriteFile(t, fs.Path("dense"), data(1, 300<<10))
			files := map[string]string{"dense": dense}
			build := map[string]func(f *os.File){
				"multi": func(f *os.File) {
					for i := range 3 {
						put(f, data(uint64(10+i), 70<<10), int64(i)*70<<10)
						f.Sync()
					}
				},
				"holes": func(f *os.File) {
					put(f, data(20, 40<<10), 0)
					put(f, data(21, 40<<10), 128<<10)
				},
				"prealloc": func(f *os.File) {
					if err := unix.Fallocate(int(f.Fd()), 0, 0, 256<<10); err != nil {
						t.Fatal(err)
					}
					put(f, data(30, 64<<10), 64<<10)
				},
				"prealloc-past-eof": func(f *os.File) {
					put(f, data(40, 100<<10), 0)
					if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 100<<10, 200<<10); err != nil {
						t.Fatal(err)
					}
				},
				"inline": func(f *os.File) { put(f, data(50, 100), 0) },
				"cloned-middle": func(f *os.File) {
					put(f, data(60, 256<<10), 0)
					f.Sync()
					src, err := os.Open(dense)
					if err != nil {
						t.Fatal(err)
					}
					defer src.Close()
					err = unix.IoctlFileCloneRange(int(f.Fd()), &unix.FileCloneRange{
						Src_fd: int64(src.Fd()), Src_offset: 160 << 10, Src_length: 64 << 10, Dest_offset: 64 << 10,
					})
					if err != nil {
						t.Fatal(err)
					}
				},
			}
			for name, write := range build {
				path := fs.Path(name)
				f, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				write(f)
				f.Close()
				files[name] = path
			}
			fs.Sync(t)
			for name, path := range files {
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				var st syscall.Stat_t
				if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
					t.Fatal(err)
				}
				ext, err := btrfs.Fiemap(f)
				if err != nil {
					t.Fatal(err)
				}
				_, items, err := btrfs.InodeExtents(f, 0, st.Ino)
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
				want, got := Print(ext, uint64(st.Size)), itemsPrint(items, uint64(st.Size))
				if !bytes.Equal(got, want) || (want == nil) != (name == "inline") {
					t.Errorf("%s: items print %x, FIEMAP print %x\nFIEMAP: %+v\nitems: %+v", name, got, want, ext, items)
				}
			}
		})
	}
}
