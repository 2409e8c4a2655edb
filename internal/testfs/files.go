package testfs

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
)

// Bytes returns n deterministic pseudo-random bytes for seed: the same seed
// gives the same content, so equal seeds make duplicates.
func Bytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// WriteFile writes data to a new file at path (absolute), creating parent
// directories, and syncs it so it has real extents.
func WriteFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// Island is data written at an offset of a sparse file (WriteSparse).
type Island struct {
	Off  int64
	Data []byte
}

// WriteSparse creates a file of size bytes at path (creating parent
// directories) that holds the islands' data at their offsets and holes
// everywhere else, and returns its path.
func WriteSparse(t testing.TB, path string, size int64, islands ...Island) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, is := range islands {
		if _, err := f.WriteAt(is.Data, is.Off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteNocow creates path empty, marks it NOCOW (chattr +C works only on
// empty files) and then writes data.
func WriteNocow(t testing.TB, path string, data []byte) string {
	t.Helper()
	WriteFile(t, path, nil)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := btrfs.GetFlags(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := btrfs.SetFlags(f, flags|btrfs.FlagNocow); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return path
}

// AddFlags sets inode attribute flags (btrfs.FlagImmutable, FlagAppend, ...)
// on path and removes them again when t ends, so the test filesystem can be
// cleaned up.
func AddFlags(t testing.TB, path string, add uint32) {
	t.Helper()
	setFlags := func(change func(uint32) uint32) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		flags, err := btrfs.GetFlags(f)
		if err != nil {
			return err
		}
		return btrfs.SetFlags(f, change(flags))
	}
	if err := setFlags(func(fl uint32) uint32 { return fl | add }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := setFlags(func(fl uint32) uint32 { return fl &^ add }); err != nil {
			t.Errorf("clear flags of %s: %v", path, err)
		}
	})
}

// Extents returns the FIEMAP extent map of path.
func Extents(t testing.TB, path string) []btrfs.Extent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ext, err := btrfs.Fiemap(f)
	if err != nil {
		t.Fatal(err)
	}
	return ext
}

// Shares reports whether every byte of dst is stored in the same physical
// place as the same byte of src.
func Shares(t testing.TB, src, dst string) bool {
	t.Helper()
	st, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	return btrfs.SharesExtents(Extents(t, src), Extents(t, dst), uint64(st.Size()))
}

// FileState is everything deduplication must leave unchanged in a file.
type FileState struct {
	SHA256       [32]byte
	Size         int64
	Mode         uint32
	UID, GID     uint32
	Ino          uint64
	Nlink        uint64
	Mtime, Ctime syscall.Timespec
	Flags        uint32
	Xattrs       map[string][]byte
}

// State reads the FileState of path.
func State(t testing.TB, path string) FileState {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	flags, err := btrfs.GetFlags(f)
	if err != nil {
		t.Fatal(err)
	}
	x, err := btrfs.Xattrs(path)
	if err != nil {
		t.Fatal(err)
	}
	var s FileState
	copy(s.SHA256[:], h.Sum(nil))
	s.Size, s.Mode, s.UID, s.GID = fi.Size(), st.Mode, st.Uid, st.Gid
	s.Ino, s.Nlink, s.Mtime, s.Ctime, s.Flags, s.Xattrs = st.Ino, st.Nlink, st.Mtim, st.Ctim, flags, x
	return s
}

// States reads the FileState of several paths.
func States(t testing.TB, paths ...string) map[string]FileState {
	t.Helper()
	m := map[string]FileState{}
	for _, p := range paths {
		m[p] = State(t, p)
	}
	return m
}

// Unchanged fails t for every path whose state differs from before.
func Unchanged(t testing.TB, before map[string]FileState) {
	t.Helper()
	for p, want := range before {
		got := State(t, p)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s changed:\n before %+v\n after  %+v", p, want, got)
		}
	}
}

// SameContent reports whether two files hold the same bytes.
func SameContent(t testing.TB, a, b string) bool {
	t.Helper()
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(da, db)
}

// DirModes lists the entries of dir as "NAME MODE" ("db.sqlite -rw-------"),
// in name order: what tests compare to prove a directory unchanged, or to
// check the permissions of files something created.
func DirModes(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Name()+" "+fi.Mode().String())
	}
	return out
}
