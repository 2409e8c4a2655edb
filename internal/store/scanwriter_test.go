package store

import (
	"context"
	"testing"
)

// A scan's rows are written sorted by size, a transaction's worth at a
// time, yet every row ends as the last upsert of its inode said, whatever
// the order of the inode numbers, and the counts hold.
func TestScanWriterOrder(t *testing.T) {
	ctx := context.Background()
	type up struct{ ino, size, gen uint64 }
	many := func(n int) []up { // increasing inodes, sizes all over
		var ups []up
		for i := range n {
			ups = append(ups, up{uint64(300 + i), uint64(1000 + i*7919%5000), 1})
		}
		return ups
	}
	for _, c := range []struct {
		name     string
		ups      []up
		upserted int
	}{
		{"increasing", []up{{300, 5000, 1}, {301, 4000, 1}, {302, 6000, 1}}, 3},
		{"decreasing", []up{{302, 5000, 1}, {301, 6000, 1}, {300, 4000, 1}}, 3},
		{"an inode twice, smaller the second time", []up{{300, 5000, 1}, {301, 4500, 1}, {300, 4000, 2}}, 3},
		{"an inode twice, the same", []up{{300, 5000, 1}, {300, 5000, 1}}, 1},
		{"past a transaction", many(rowsPerTx + 1000), rowsPerTx + 1000},
		{"past a transaction, then again", append(many(rowsPerTx+10), up{300, 1, 3}, up{301, 2, 3}), rowsPerTx + 12},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := openTemp(t)
			fs, _ := d.EnsureFilesystem(ctx, "u", "")
			v, _ := d.EnsureVolume(ctx, fs.ID, 5, 1)
			w := d.NewScanWriter(ctx, v.ID)
			want := map[uint64]up{}
			for _, u := range c.ups {
				if err := w.Upsert(InodeRow{Ino: u.ino, Size: u.size, Generation: u.gen, Transid: 9}); err != nil {
					t.Fatal(err)
				}
				want[u.ino] = u
			}
			if err := w.Finish(10, 1); err != nil {
				t.Fatal(err)
			}
			if w.Upserted != c.upserted {
				t.Errorf("%d rows upserted, want %d", w.Upserted, c.upserted)
			}
			rows, err := d.Inodes(ctx, v.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(want) {
				t.Errorf("%d rows, want %d", len(rows), len(want))
			}
			for _, r := range rows {
				if u := want[r.Ino]; r.Size != u.size || r.Generation != u.gen || !r.Flagged {
					t.Errorf("inode %d: %+v, want %+v", r.Ino, r, u)
				}
			}
			if s, err := d.IntegrityCheck(ctx); err != nil || s != "ok" {
				t.Errorf("integrity check: %q, %v", s, err)
			}
		})
	}
}
