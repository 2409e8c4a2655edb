package partial

import (
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/testfs"
)

// NOCOW files have no checksums: they are keyed by reading, share only
// with NOCOW files, and their bookends are rewritten through a NOCOW
// temporary file (the kernel refuses to share between the two classes).
func TestNocowClone(t *testing.T) {
	fs := testfs.New(t)
	img := testfs.Bytes(7, 16*mib)
	clone := testfs.WithBlocksChanged(img, 70, testfs.ScatteredBlocks(len(img), 8)...)
	a := testfs.WriteNocow(t, fs.Path("a.img"), img)
	b := testfs.WriteNocow(t, fs.Path("b.img"), clone)
	c := testfs.WriteFile(t, fs.Path("c.img"), clone) // with checksums: not a partner
	e := newEnv(t, fs)
	st, events, drop := outcome(t, e, a, b, c)
	if st.BytesRead < 2*16*mib {
		t.Errorf("read %d bytes: NOCOW files are keyed by reading", st.BytesRead)
	}
	if drop < 16*mib-8*4096 || st.BytesRewritten != 8*4096 {
		t.Errorf("dropped %d bytes, rewrote %d", drop, st.BytesRewritten)
	}
	for _, fsh := range of[FileShared](events) {
		if fsh.File.Path != b {
			t.Errorf("shared into %s", fsh.File.Path)
		}
	}
	flags := testfs.State(t, b).Flags
	if flags&btrfs.FlagNocow == 0 {
		t.Error("the destination lost its NOCOW flag")
	}
}

// Compressed extents' checksums cover compressed bytes: such files are
// keyed by reading; they share with each other (and with plain files),
// and their bookends are rewritten compressed like theirs. Freed bytes
// are counted at their compressed size.
func TestCompressedClone(t *testing.T) {
	fs := testfs.New(t, testfs.Options{MountOpts: testfs.Compressed})
	img := testfs.Text(8, 16*mib)
	a := testfs.WriteFile(t, fs.Path("a.img"), img)
	b := testfs.WriteFile(t, fs.Path("b.img"), testfs.WithBlocksChanged(img, 80, testfs.ScatteredBlocks(len(img), 8)...))
	e := newEnv(t, fs)
	fs.Sync(t)
	onDisk := testfs.DiskBytes(t, b)
	st, _, drop := outcome(t, e, a, b)
	if st.BytesRead < 2*16*mib {
		t.Errorf("read %d bytes: compressed files are keyed by reading", st.BytesRead)
	}
	if drop < onDisk*9/10 {
		t.Errorf("dropped %d bytes of the clone's %d on disk", drop, onDisk)
	}
	for _, x := range testfs.DiskExtents(t, b) {
		if x.DiskBytenr != 0 && x.Compression == 0 && x.NumBytes > 4096 {
			t.Errorf("an uncompressed extent of %d bytes in the clone", x.NumBytes)
		}
	}
	e.scan(t)
	st, _ = e.run(t, Options{})
	noWork(t, st)
}
