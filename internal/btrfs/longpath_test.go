package btrfs_test

import (
	"errors"
	iofs "io/fs"
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/testfs"
)

// TestLongPaths: a file whose path is longer than the kernel's answers to
// INO_LOOKUP (4080 bytes) and INO_PATHS (4096) still gets its path, from
// its inode refs, and a second, short name of it is not lost.
func TestLongPaths(t *testing.T) {
	fs := testfs.New(t)
	rel := testfs.DeepFile(t, fs.Mnt, 5000, []byte("deep data"))
	f := testfs.OpenDeep(t, fs.Mnt, rel)
	root := openDir(t, fs.Mnt)
	fs.Sync(t)
	st, err := btrfs.Fstat(f)
	if err != nil {
		t.Fatal(err)
	}
	p, tree, err := btrfs.InoLookup(root, 0, st.Ino)
	if err != nil || p != rel || tree != 5 {
		t.Errorf("InoLookup: %d bytes, tree %d, %v; want the %d-byte path in tree 5", len(p), tree, err, len(rel))
	}
	if p, err := btrfs.RefPath(root, 5, st.Ino); err != nil || p != rel {
		t.Errorf("RefPath: %d bytes, %v", len(p), err)
	}

	if err := unix.Linkat(int(f.Fd()), "", int(root.Fd()), "short", unix.AT_EMPTY_PATH); err != nil {
		t.Fatal(err)
	}
	fs.Sync(t)
	paths, missed, err := btrfs.InoPaths(f, st.Ino)
	slices.Sort(paths)
	if err != nil || missed != 0 || !slices.Equal(paths, []string{rel, "short"}) {
		t.Errorf("InoPaths: %d paths (%d missed), %v; want the long one and short", len(paths), missed, err)
	}
	links, err := btrfs.InodeLinks(root, 0, st.Ino)
	if err != nil || len(links) != 2 {
		t.Errorf("InodeLinks: %v, %v", links, err)
	}

	// A deleted inode has no name.
	if err := os.Remove(fs.Path("short")); err != nil {
		t.Fatal(err)
	}
	g := testfs.WriteFile(t, fs.Path("gone"), []byte("x"))
	gst := testfs.State(t, g)
	os.Remove(g)
	fs.Sync(t)
	if _, err := btrfs.RefPath(root, 0, gst.Ino); !errors.Is(err, iofs.ErrNotExist) {
		t.Errorf("RefPath of a deleted inode: %v, want ENOENT", err)
	}
}
