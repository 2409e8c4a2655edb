package store

import (
	"context"
	"reflect"
	"testing"
)

// MembersOf returns, for every size, what Members returns for it: the
// same rows in the same order, with the fields as stored; nothing for a
// size without members, in whole and restricted scopes alike, and past
// one statement's worth of sizes.
func TestMembersOf(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	a, b := membersCorpus(t, d)
	all := func(from, to uint64) []uint64 {
		var s []uint64
		for size := from; size > to; size-- {
			s = append(s, size)
		}
		return s
	}
	for _, c := range []struct {
		name  string
		dirs  map[int64][]uint64
		sizes []uint64
	}{
		{"none", nil, nil},
		{"one", nil, []uint64{1003}},
		{"a window, largest first", nil, all(1199, 999)},
		{"more than a statement's", nil, append(all(1599, 999), 5, 1000000)}, // the last two have no members
		{"twice", nil, []uint64{1003, 1004, 1003}},
		{"restricted", map[int64][]uint64{a: {257}}, all(1599, 999)},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := d.NewScope(ctx, []int64{a, b}, c.dirs)
			if err != nil {
				t.Fatal(err)
			}
			if s.Restricted() != (c.dirs != nil) {
				t.Fatalf("scope restricted: %v", s.Restricted())
			}
			defer s.Close()
			q, err := d.PrepareMembers(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			got, err := q.MembersOf(ctx, c.sizes)
			if err != nil {
				t.Fatal(err)
			}
			seen := 0
			for _, size := range c.sizes {
				want, err := q.Members(ctx, size)
				if err != nil {
					t.Fatal(err)
				}
				if g, ok := got[size]; ok != (len(want) > 0) || !reflect.DeepEqual(g, want) {
					t.Errorf("size %d: MembersOf %+v (%v), Members %+v", size, g, ok, want)
				}
				seen += len(want)
			}
			n := 0
			for _, m := range got {
				n += len(m)
			}
			if n > seen || (len(c.sizes) > 10 && seen == 0) {
				t.Errorf("%d members from MembersOf, %d from Members", n, seen)
			}
		})
	}
}

// membersCorpus tracks 600 sizes of 1 to 5 files in each of two volumes
// (1000 to 1599 bytes), the odd inodes in directory 257, the others in
// 258, with some results, flags and frozen marks, so that every field of a
// Member varies. It returns the volumes' ids.
func membersCorpus(t *testing.T, d *DB) (a, b int64) {
	t.Helper()
	ctx := context.Background()
	const sizes = 600
	fs, _ := d.EnsureFilesystem(ctx, "u", "")
	va, _ := d.EnsureVolume(ctx, fs.ID, 5, 1)
	vb, _ := d.EnsureVolume(ctx, fs.ID, 256, 1)
	for _, v := range []int64{va.ID, vb.ID} {
		w := d.NewScanWriter(ctx, v)
		w.Fresh()
		w.SetDirParents(257, []uint64{256})
		w.SetDirParents(258, []uint64{256})
		for ino := uint64(300); ino < 300+3*sizes; ino++ {
			if err := w.Upsert(InodeRow{Ino: ino, Size: 1000 + (ino*7+uint64(v))%sizes, Generation: ino % 5, Transid: ino % 11}); err != nil {
				t.Fatal(err)
			}
			w.SetParents(ino, []uint64{257 + ino%2})
		}
		if err := w.Finish(1, 1); err != nil {
			t.Fatal(err)
		}
	}
	batch := d.NewBatch()
	for ino := uint64(300); ino < 300+3*sizes; ino += 3 {
		batch.SetResult(InodeKey{Size: 1000 + (ino*7+uint64(va.ID))%sizes, VolID: va.ID, Ino: ino}, []byte{byte(ino)}, []byte{1, byte(ino >> 8)}, ino%4, ino%2 == 0)
		batch.SetFrozen(InodeKey{Size: 1000 + ((ino+1)*7+uint64(vb.ID))%sizes, VolID: vb.ID, Ino: ino + 1}, true)
	}
	if err := batch.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return va.ID, vb.ID
}
