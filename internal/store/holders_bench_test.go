package store

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkHoldersOf looks up the 8192 chunk keys of a 1 GiB file, as the
// partial pass does for a destination, in an index of 100k keys; and 100
// keys, a statement's worth and a shorter one, as for a small file.
func BenchmarkHoldersOf(b *testing.B) {
	ctx := context.Background()
	d := openTemp(b)
	fs, _ := d.EnsureFilesystem(ctx, "u", "")
	v, _ := d.EnsureVolume(ctx, fs.ID, 5, 4096)
	w := d.NewScanWriter(ctx, v.ID)
	for i := range 20 {
		if err := w.Upsert(InodeRow{Ino: 257 + uint64(i), Size: 1 << 30, Generation: 7, Transid: 9}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Finish(10, 4096); err != nil {
		b.Fatal(err)
	}
	ib := d.NewIndexBatch()
	for i := range 12 {
		keys := make([]uint64, 8192)
		for k := range keys {
			keys[k] = uint64(i*8192+k)*0x9E3779B97F4A7C15 | 1
		}
		ib.Index(v.ID, 257+uint64(i), 9, []byte("p"), keys)
	}
	if err := ib.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	q, err := d.PrepareHolders(ctx, 16)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	for _, n := range []int{8192, 100} {
		keys := make([]uint64, n)
		for k := range keys {
			keys[k] = uint64(3*8192+k)*0x9E3779B97F4A7C15 | 1
		}
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := q.HoldersOf(ctx, keys); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
