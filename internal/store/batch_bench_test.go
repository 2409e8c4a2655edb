package store

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkBatchCommit commits a batch shaped like one window of a dedup
// pass over small files: 200 size groups of n files each, every file's
// result recorded with its flag cleared, and half of each group shared
// into its first file: one event (source and destinations), a transid per
// destination and a done intent per group. It reports the cost per file.
func BenchmarkBatchCommit(b *testing.B) {
	for _, n := range []int{2, 8} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) { benchBatchCommit(b, n) })
	}
}

func benchBatchCommit(b *testing.B, n int) {
	const groups = 200
	ctx := context.Background()
	d := openTemp(b)
	fs, err := d.EnsureFilesystem(ctx, "u", "")
	if err != nil {
		b.Fatal(err)
	}
	v, err := d.EnsureVolume(ctx, fs.ID, 5, 1)
	if err != nil {
		b.Fatal(err)
	}
	// Tracked files around the window's, so lookups walk a real tree.
	w := d.NewScanWriter(ctx, v.ID)
	for ino := uint64(256); ino < 256+20*groups*uint64(n); ino++ {
		if err := w.Upsert(InodeRow{Ino: ino, Size: 4096 + ino%4096, Generation: 7, Transid: 9}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Finish(10, 1); err != nil {
		b.Fatal(err)
	}
	files := groups * n
	ino := func(g, i int) uint64 { return 256 + 20*uint64(g*n+i) }
	key := func(g, i int) InodeKey { return InodeKey{Size: 4096 + ino(g, i)%4096, VolID: v.ID, Ino: ino(g, i)} }
	s := watchSQL(b, d)
	var commits sqlCounts
	b.ResetTimer()
	for it := range b.N {
		b.StopTimer()
		if _, err := d.db.ExecContext(ctx, `UPDATE Inode SET has_updates = 1`); err != nil {
			b.Fatal(err)
		}
		var intents []Intent
		for g := range groups {
			in := Intent{FSID: fs.ID, Size: 4096, Freed: 4096}
			for i := 0; i <= n/2; i++ {
				in.Inodes = append(in.Inodes, IntentInode{VolID: v.ID, Ino: ino(g, i), Generation: 7})
			}
			intents = append(intents, in)
		}
		ids, err := d.LogIntents(ctx, intents)
		if err != nil {
			b.Fatal(err)
		}
		batch := d.NewBatch()
		for g := range groups {
			hash := []byte(fmt.Sprintf("hash-%d-%d-xxxxxxxxxxxxxxxxxxxxxxx", it, g))
			var event []EventInode
			for i := range n {
				batch.SetResult(key(g, i), hash, []byte("extents-of-one-file"), 9, false)
				if i <= n/2 {
					event = append(event, EventInode{VolID: v.ID, Ino: ino(g, i)})
				}
			}
			batch.Event(fs.ID, 4096, uint64(4096*(len(event)-1)), event)
			batch.IntentDone(ids[g])
		}
		for g := range groups {
			for i := 1; i <= n/2; i++ {
				batch.SetTransid(key(g, i), uint64(10+it))
			}
		}
		before := s.snap()
		b.StartTimer()
		if err := batch.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		commits = commits.add(s.snap().sub(before))
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*files), "ns/file")
	b.StopTimer()
	commits.report(b, "commit", b.N*files)
}
