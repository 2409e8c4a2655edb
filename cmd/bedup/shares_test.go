package main

import (
	"os"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bedup/bedup/internal/btrfs"
)

// sharesPaths reports whether every byte of dst lies on src's extents.
func sharesPaths(ts *testscript.TestScript, src, dst string) bool {
	ext := func(p string) ([]btrfs.Extent, uint64) {
		f, err := os.Open(p)
		ts.Check(err)
		defer f.Close()
		fi, err := f.Stat()
		ts.Check(err)
		e, err := btrfs.Fiemap(f)
		ts.Check(err)
		return e, uint64(fi.Size())
	}
	se, _ := ext(src)
	de, size := ext(dst)
	return btrfs.SharesExtents(se, de, size)
}
