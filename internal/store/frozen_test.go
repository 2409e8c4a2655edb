package store

import (
	"context"
	"slices"
	"testing"
)

// A frozen inode is not flagged, so its size group is not listed; a new
// member of its size brings the group back, the frozen one with it; Thaw
// flags it again.
func TestFrozen(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	fs, _ := d.EnsureFilesystem(ctx, "u", "")
	v, _ := d.EnsureVolume(ctx, fs.ID, 5, 1)
	other, _ := d.EnsureVolume(ctx, fs.ID, 256, 1)
	scan := func(vol int64, inos ...uint64) {
		t.Helper()
		w := d.NewScanWriter(ctx, vol)
		for _, ino := range inos {
			if err := w.Upsert(InodeRow{Ino: ino, Size: 5000, Generation: 7, Transid: 9}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Finish(10, 1); err != nil {
			t.Fatal(err)
		}
	}
	scan(v.ID, 300, 301)
	scan(other.ID, 302)
	b := d.NewBatch()
	b.SetResult(InodeKey{Size: 5000, VolID: v.ID, Ino: 300}, []byte{1}, []byte{2}, 0, false)
	b.SetFrozen(InodeKey{Size: 5000, VolID: v.ID, Ino: 300}, true)
	b.SetResult(InodeKey{Size: 5000, VolID: v.ID, Ino: 301}, []byte{1}, []byte{3}, 0, false)
	b.SetResult(InodeKey{Size: 5000, VolID: other.ID, Ino: 302}, []byte{1}, []byte{4}, 0, false)
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	scope := Volumes([]int64{v.ID, other.ID})
	sizes := func() []uint64 {
		t.Helper()
		s, err := d.FlaggedSizesBetween(ctx, scope, 0, ^uint64(0), 10, true)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	frozen := func(vol int64) []uint64 {
		t.Helper()
		f, err := d.FrozenInodes(ctx, vol)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if s := sizes(); len(s) != 0 {
		t.Errorf("flagged sizes %v with nothing flagged", s)
	}
	if f := frozen(v.ID); !slices.Equal(f, []uint64{300}) {
		t.Errorf("frozen %v, want [300]", f)
	}

	scan(other.ID, 303) // a new file of that size
	if s := sizes(); !slices.Equal(s, []uint64{5000}) {
		t.Errorf("flagged sizes %v, want [5000]", s)
	}
	q, err := d.PrepareMembers(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ms, err := q.Members(ctx, 5000)
	if err != nil || len(ms) != 4 || !ms[0].Frozen || ms[0].Flagged || ms[1].Frozen {
		t.Errorf("members %+v, %v: want the frozen one among them", ms, err)
	}

	if n, err := d.Thaw(ctx, other.ID); err != nil || n != 0 {
		t.Errorf("Thaw(other volume) = %d, %v", n, err)
	}
	if n, err := d.Thaw(ctx, v.ID); err != nil || n != 1 {
		t.Errorf("Thaw = %d, %v, want 1", n, err)
	}
	rows, _ := d.Inodes(ctx, v.ID)
	if len(frozen(v.ID)) != 0 || len(rows) != 2 || !rows[0].Flagged || rows[1].Flagged {
		t.Errorf("after Thaw: frozen %v, rows %+v", frozen(v.ID), rows)
	}

	b.SetFrozen(InodeKey{Size: 5000, VolID: v.ID, Ino: 301}, true)
	b.SetFrozen(InodeKey{Size: 5000, VolID: v.ID, Ino: 301}, false)
	if err := b.Commit(ctx); err != nil || len(frozen(v.ID)) != 0 {
		t.Errorf("frozen %v after SetFrozen false, %v", frozen(v.ID), err)
	}
}

// A version 3 database gets the frozen column with its rows kept: the
// files it kept flagged stay flagged, none is frozen.
func TestMigrateFromV3(t *testing.T) {
	ctx := context.Background()
	d := openMigrated(t, 3,
		`INSERT INTO Filesystem (id, uuid) VALUES (1, 'u')`,
		`INSERT INTO Volume (id, fs_id, root_id, size_cutoff) VALUES (1, 1, 5, 4096)`,
		`INSERT INTO Inode (vol_id, ino, size, generation, transid, has_updates) VALUES (1, 300, 5000, 3, 9, 1), (1, 301, 5000, 3, 9, 0)`,
	)
	rows, err := d.Inodes(ctx, 1)
	if err != nil || len(rows) != 2 || !rows[0].Flagged || rows[1].Flagged {
		t.Errorf("inodes after migration %+v, %v", rows, err)
	}
	if f, err := d.FrozenInodes(ctx, 1); err != nil || len(f) != 0 {
		t.Errorf("frozen after migration %v, %v", f, err)
	}
}

// The flagged sizes between two bounds are listed from either end.
func TestFlaggedSizesBothEnds(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	fs, _ := d.EnsureFilesystem(ctx, "u", "")
	v, _ := d.EnsureVolume(ctx, fs.ID, 5, 1)
	w := d.NewScanWriter(ctx, v.ID)
	for i, size := range []uint64{10, 20, 20, 30, 40, 50} {
		if err := w.Upsert(InodeRow{Ino: uint64(300 + i), Size: size, Generation: 7, Transid: 9}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(10, 1); err != nil {
		t.Fatal(err)
	}
	scope := Volumes([]int64{v.ID})
	tests := []struct {
		name  string
		top   bool
		above uint64
		below uint64
		limit int
		want  []uint64
	}{
		{"top", true, 0, ^uint64(0), 2, []uint64{50, 40}},
		{"top below 40", true, 0, 40, 10, []uint64{30, 20, 10}},
		{"top between", true, 20, 50, 10, []uint64{40, 30}},
		{"bottom", false, 0, ^uint64(0), 2, []uint64{10, 20}},
		{"bottom between", false, 10, 50, 10, []uint64{20, 30, 40}},
		{"bottom, nothing between", false, 40, 50, 10, nil},
	}
	for _, tc := range tests {
		got, err := d.FlaggedSizesBetween(ctx, scope, tc.above, tc.below, tc.limit, tc.top)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}
