package store

import (
	"context"
	"slices"
	"testing"
)

// countKeys counts the key rows of the block index.
func countKeys(t *testing.T, d *DB) int {
	t.Helper()
	var n int
	if err := d.db.QueryRow(`SELECT count(*) FROM ExtentKey`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The block index lifecycle: stale files are listed largest first and in
// pages; an indexed, matched file is not stale until its transid moves;
// its keys find it; re-indexing replaces its key rows; a dropped inode or
// a forgotten filesystem takes its keys along at the next purge.
func TestBlockIndex(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	fs, _ := d.EnsureFilesystem(ctx, "u", "")
	v, _ := d.EnsureVolume(ctx, fs.ID, 5, 4096)
	w := d.NewScanWriter(ctx, v.ID)
	for i, size := range []uint64{1 << 20, 4 << 20, 2 << 20, 4096} {
		if err := w.Upsert(InodeRow{Ino: 257 + uint64(i), Size: size, Generation: 7, Transid: 9}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(10, 4096); err != nil {
		t.Fatal(err)
	}
	scope := Volumes([]int64{v.ID})
	stale := func(after *IndexedFile, limit int) []uint64 {
		t.Helper()
		fs, err := d.StaleIndexed(ctx, scope, 1<<20, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		var inos []uint64
		for _, f := range fs {
			inos = append(inos, f.Ino)
		}
		return inos
	}
	if got := stale(nil, 10); !slices.Equal(got, []uint64{258, 259, 257}) {
		t.Fatalf("stale files %v", got)
	}
	page, _ := d.StaleIndexed(ctx, scope, 1<<20, nil, 2)
	if got := stale(&page[1], 10); !slices.Equal(got, []uint64{257}) {
		t.Fatalf("second page %v", got)
	}
	b := d.NewIndexBatch()
	b.Index(v.ID, 258, 9, []byte("p1"), []uint64{11, 0, 12, 11})
	b.Index(v.ID, 259, 9, []byte("p2"), []uint64{12, 13})
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := stale(nil, 10); !slices.Equal(got, []uint64{258, 259, 257}) {
		t.Fatalf("pending files must stay stale: %v", got)
	}
	b.Matched(v.ID, 258, 9, nil)
	b.Matched(v.ID, 259, 9, nil)
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := stale(nil, 10); !slices.Equal(got, []uint64{257}) {
		t.Fatalf("after matching: %v", got)
	}
	// holders lists key's holders with a plain query, to check HoldersOf.
	holders := func(key uint64, limit int) []KeyHolder {
		t.Helper()
		rows, err := d.db.Query(`SELECT file, chunk FROM ExtentKey WHERE key = ? ORDER BY file, chunk LIMIT ?`, int64(key), limit)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []KeyHolder
		for rows.Next() {
			var h KeyHolder
			if err := rows.Scan(&h.File, &h.Chunk); err != nil {
				t.Fatal(err)
			}
			out = append(out, h)
		}
		return out
	}
	hs := holders(12, 10)
	if len(hs) != 2 || hs[0].Chunk != 2 || hs[1].Chunk != 0 || hs[0].File == hs[1].File {
		t.Fatalf("holders of 12: %+v", hs)
	}
	// Many keys at once (duplicates, key 0 and more than one statement's
	// worth included) give what one key at a time gives, limit too.
	many := []uint64{11, 12, 0, 13, 12, 99}
	for k := uint64(1000); len(many) < 2*holdersBatch+5; k++ {
		many = append(many, k)
	}
	for _, limit := range []int{1, 10} {
		q, err := d.PrepareHolders(ctx, limit)
		if err != nil {
			t.Fatal(err)
		}
		got, err := q.HoldersOf(ctx, many)
		q.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range many {
			if want := holders(k, limit); !slices.Equal(got[k], want) {
				t.Fatalf("limit %d, key %d: %+v, want %+v", limit, k, got[k], want)
			}
		}
		if len(got) != 3 {
			t.Errorf("limit %d: %d keys held, want 3", limit, len(got))
		}
	}
	f, ok, err := d.IndexedFileByID(ctx, scope, hs[0].File)
	if err != nil || !ok || f.Ino != 258 || string(f.Print) != "p1" || f.Pending || f.Size != 4<<20 {
		t.Fatalf("file of holder: %+v %v %v", f, ok, err)
	}
	if keys, err := d.FileKeys(ctx, f.ID); err != nil || !slices.Equal(keys, []uint64{11, 0, 12, 11}) {
		t.Fatalf("keys %v, %v", keys, err)
	}
	if _, ok, _ := d.IndexedFileByID(ctx, Volumes([]int64{v.ID + 1}), f.ID); ok {
		t.Error("file found outside its scope")
	}
	// The scan sees a change: stale again; re-indexing replaces the rows.
	w = d.NewScanWriter(ctx, v.ID)
	w.Upsert(InodeRow{Ino: 258, Size: 4 << 20, Generation: 7, Transid: 20})
	if err := w.Finish(21, 4096); err != nil {
		t.Fatal(err)
	}
	if got := stale(nil, 10); !slices.Equal(got, []uint64{258, 257}) {
		t.Fatalf("after a change: %v", got)
	}
	b.Index(v.ID, 258, 20, []byte("p3"), []uint64{14})
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, d); n != 3 {
		t.Errorf("%d key rows after re-indexing, want 3", n)
	}
	// Bedup's own share: the inode's transid and whole-file print move.
	d.db.Exec(`UPDATE Inode SET extents = ? WHERE ino = 259`, []byte("old"))
	b.InodeShared(v.ID, 259, 30, []byte("old"), []byte("new"))
	b.InodeShared(v.ID, 258, 30, []byte("old"), []byte("new"))
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var e1, e2 []byte
	d.db.QueryRow(`SELECT extents FROM Inode WHERE ino = 259`).Scan(&e1)
	d.db.QueryRow(`SELECT extents FROM Inode WHERE ino = 258`).Scan(&e2)
	if string(e1) != "new" || e2 != nil {
		t.Errorf("extents after share: %q %q", e1, e2)
	}
	// Drops: the inode (scan), then the whole filesystem.
	w = d.NewScanWriter(ctx, v.ID)
	if _, err := w.Delete(258); err != nil {
		t.Fatal(err)
	}
	w.Finish(22, 4096)
	if n, err := d.PurgeKeys(ctx, 100); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	if n := countKeys(t, d); n != 2 {
		t.Errorf("%d key rows after dropping an inode, want 2", n)
	}
	if err := d.ForgetFilesystem(ctx, fs.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := d.PurgeKeys(ctx, 100); err != nil || n != 1 {
		t.Fatalf("purge after forget: %d, %v", n, err)
	}
	if n := countKeys(t, d); n != 0 {
		t.Errorf("%d key rows after forgetting the filesystem", n)
	}
}

func TestIndexedFileOf(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	fs, _ := d.EnsureFilesystem(ctx, "u", "")
	v, _ := d.EnsureVolume(ctx, fs.ID, 5, 4096)
	w := d.NewScanWriter(ctx, v.ID)
	w.Upsert(InodeRow{Ino: 300, Size: 1 << 20, Generation: 7, Transid: 9})
	if err := w.Finish(10, 4096); err != nil {
		t.Fatal(err)
	}
	scope := Volumes([]int64{v.ID})
	f, ok, err := d.IndexedFileOf(ctx, scope, v.ID, 300)
	if err != nil || !ok || f.ID != 0 || !f.Stale() || f.Current() {
		t.Fatalf("before indexing: %+v %v %v", f, ok, err)
	}
	b := d.NewIndexBatch()
	b.Index(v.ID, 300, 9, nil, []uint64{1})
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	f, ok, err = d.IndexedFileOf(ctx, scope, v.ID, 300)
	if err != nil || !ok || f.ID == 0 || !f.Pending || !f.Current() {
		t.Fatalf("after indexing: %+v %v %v", f, ok, err)
	}
	if _, ok, _ := d.IndexedFileOf(ctx, Volumes([]int64{v.ID + 1}), v.ID, 300); ok {
		t.Error("found outside its scope")
	}
}
