package dedupe

import (
	"os"
	"testing"

	"github.com/bedup/bedup/internal/testfs"
)

// BytesFreed counts what "btrfs filesystem df" gives back: the allocated
// size of the extents that lost their last user. Compressed extents count
// their compressed size; an extent another file or a snapshot still uses
// counts nothing; old extents kept alive by bookends count in full;
// reflinked copies shared together free their common extents.
func TestBytesFreed(t *testing.T) {
	const size = 4 << 20
	for _, c := range []struct {
		name, mount string
		data        func(seed uint64) []byte
	}{
		{"uncompressed", "", func(s uint64) []byte { return testfs.Bytes(s, size) }},
		{"uncompressed-text", "", func(s uint64) []byte { return testfs.Text(s, size) }},
		{"zstd", testfs.Compressed, func(s uint64) []byte { return testfs.Text(s, size) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := testfs.New(t, testfs.Options{MountOpts: c.mount})
			// The sources are pinned by a read-only snapshot, so they are
			// chosen as sources and every other copy is a destination.
			src, sv := fs.Subvolume(t, "src"), fs.Subvolume(t, "sv")
			a1 := testfs.WriteFile(t, src+"/a1", c.data(1))
			b1 := testfs.WriteFile(t, src+"/b1", c.data(2))
			c1 := testfs.WriteFile(t, src+"/c1", c.data(3))
			d1 := testfs.WriteFile(t, src+"/d1", c.data(4))
			e1 := testfs.WriteFile(t, src+"/e1", c.data(5))
			fs.Snapshot(t, "src", "src-snap", true)
			// Plain copies: a2 and a3 free all of theirs.
			a2, a3 := copyOf(t, a1, sv+"/a2"), copyOf(t, a1, sv+"/a3")
			// b3 is a reflink of b2: shared together, they free b2's extents.
			b2 := copyOf(t, b1, sv+"/b2")
			b3 := reflink(t, b2, sv+"/b3")
			// c2 was rewritten in the middle with the same bytes: its old
			// extent (bookends) and the new piece are freed together.
			c2 := copyOf(t, c1, sv+"/c2")
			fs.Sync(t)
			rewrite(t, c2, size/2, 64<<10)
			// d2 is pinned by a read-only snapshot of its subvolume, which
			// keeps its extents: moving it would free nothing, so it stays.
			d2 := copyOf(t, d1, fs.Subvolume(t, "sv-d")+"/d2")
			fs.Snapshot(t, "sv-d", "sv-d-snap", true)
			// e2 shares its extents with a longer file that is no duplicate:
			// they stay allocated.
			e2 := copyOf(t, e1, sv+"/e2")
			reflink(t, e2, sv+"/e2-longer")
			appendTo(t, sv+"/e2-longer", []byte("more"))

			e := newEnv(t, fs, "")
			want := testfs.DiskBytes(t, a2, a3) + testfs.DiskBytes(t, b2) + testfs.DiskBytes(t, c2)
			before := fs.DataUsed(t)
			st, _ := e.run(t, Options{})
			drop := int64(before) - int64(fs.DataUsed(t))
			t.Logf("%s: BytesFreed %d, df drop %d, extents of the freed copies %d (%.1f MiB of data deduplicated)",
				c.name, st.BytesFreed, drop, want, float64(st.BytesDeduped)/(1<<20))
			for _, pair := range [][2]string{{a1, a2}, {a1, a3}, {b1, b2}, {b1, b3}, {c1, c2}, {e1, e2}} {
				if !testfs.Shares(t, pair[0], pair[1]) {
					t.Errorf("%s does not share %s's extents", pair[1], pair[0])
				}
			}
			if testfs.Shares(t, d1, d2) {
				t.Errorf("%s moved onto %s's extents, which frees nothing", d2, d1)
			}
			if st.BytesFreed != want {
				t.Errorf("BytesFreed %d, want %d", st.BytesFreed, want)
			}
			if diff := st.BytesFreed - drop; drop <= 0 || diff*50 > drop || -diff*50 > drop {
				t.Errorf("BytesFreed %d, but df shows %d bytes freed", st.BytesFreed, drop)
			}
		})
	}
}

// rewrite writes n bytes of p at off again with the bytes already there:
// same content, new extent.
func rewrite(t *testing.T, p string, off, n int64) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, p string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}
