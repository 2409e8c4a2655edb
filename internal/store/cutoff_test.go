package store

import (
	"context"
	"testing"
)

// TestSizeCutoffRaised: raising a volume's cutoff drops its rows below it
// (only its own), lowering it keeps every row, and InodeCounts counts only
// the rows at or above the cutoff, also in a database where an older bedup
// raised the cutoff and kept the smaller rows.
func TestSizeCutoffRaised(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	fs, err := d.EnsureFilesystem(ctx, "0f0f0f0f-0000-0000-0000-00000000000a", "")
	if err != nil {
		t.Fatal(err)
	}
	var vols []Volume
	for _, root := range []uint64{5, 256} {
		v, err := d.EnsureVolume(ctx, fs.ID, root, 4096)
		if err != nil {
			t.Fatal(err)
		}
		w := d.NewScanWriter(ctx, v.ID)
		for i, size := range []uint64{4096, 8192, 100000, 131072, 1 << 20} {
			if err := w.Upsert(InodeRow{Ino: 300 + uint64(i), Size: size, Generation: 7, Transid: 7}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Finish(7, 4096); err != nil {
			t.Fatal(err)
		}
		vols = append(vols, v)
	}
	count := func(v Volume) int64 {
		t.Helper()
		c, err := d.InodeCounts(ctx, fs.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c[v.ID][0]
	}

	for _, c := range []struct {
		cutoff       uint64
		dropped      int
		tracked      int64
		lastCutoff   uint64
		otherTracked int64
	}{
		{8192, 1, 4, 8192, 5},
		{131072, 2, 2, 131072, 5},
		{4096, 0, 2, 131072, 5}, // lowered: nothing dropped, the band is rescanned
		{1 << 20, 1, 1, 1 << 20, 5},
	} {
		dropped, err := d.SetSizeCutoff(ctx, vols[0].ID, c.cutoff)
		if err != nil {
			t.Fatal(err)
		}
		v, _, err := d.VolumeByRoot(ctx, fs.ID, 5)
		if err != nil {
			t.Fatal(err)
		}
		if dropped != c.dropped || count(vols[0]) != c.tracked || v.LastCutoff != c.lastCutoff || v.SizeCutoff != c.cutoff {
			t.Errorf("cutoff %d: dropped %d, tracked %d, last cutoff %d, cutoff %d; want %d, %d, %d, %d",
				c.cutoff, dropped, count(vols[0]), v.LastCutoff, v.SizeCutoff, c.dropped, c.tracked, c.lastCutoff, c.cutoff)
		}
		if n := count(vols[1]); n != c.otherTracked {
			t.Errorf("cutoff %d of volume 5: volume 256 tracks %d, want %d", c.cutoff, n, c.otherTracked)
		}
	}

	// An older bedup raised the cutoff and kept the rows.
	if _, err := d.db.Exec(`UPDATE Volume SET size_cutoff = 131072 WHERE id = ?`, vols[1].ID); err != nil {
		t.Fatal(err)
	}
	if n := count(vols[1]); n != 2 {
		t.Errorf("rows kept below a raised cutoff are counted: %d, want 2", n)
	}
}

// TestForgetInodesGeneration: dropping a deleted file's row leaves a row
// that a scan recorded meanwhile for a new file under the same inode
// number (another creation generation).
func TestForgetInodesGeneration(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	fs, err := d.EnsureFilesystem(ctx, "0f0f0f0f-0000-0000-0000-00000000000b", "")
	if err != nil {
		t.Fatal(err)
	}
	v, err := d.EnsureVolume(ctx, fs.ID, 5, 4096)
	if err != nil {
		t.Fatal(err)
	}
	w := d.NewScanWriter(ctx, v.ID)
	for _, r := range []InodeRow{{Ino: 300, Size: 8192, Generation: 7, Transid: 7}, {Ino: 301, Size: 8192, Generation: 7, Transid: 7}} {
		if err := w.Upsert(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(7, 4096); err != nil {
		t.Fatal(err)
	}
	read, err := d.InodesOfSize(ctx, 8192)
	if err != nil || len(read) != 2 {
		t.Fatalf("%v, %v", read, err)
	}
	// Inode 301 is deleted and its number reused by a new file.
	w = d.NewScanWriter(ctx, v.ID)
	if err := w.Upsert(InodeRow{Ino: 301, Size: 8192, Generation: 9, Transid: 9}); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(9, 4096); err != nil {
		t.Fatal(err)
	}
	if err := d.ForgetInodes(ctx, read); err != nil {
		t.Fatal(err)
	}
	rows, err := d.Inodes(ctx, v.ID)
	if err != nil || len(rows) != 1 || rows[0].Ino != 301 || rows[0].Generation != 9 {
		t.Errorf("after forgetting what was read: %+v, %v; want only the new inode 301", rows, err)
	}
}
