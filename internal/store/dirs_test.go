package store

import (
	"context"
	"maps"
	"slices"
	"testing"
)

// A version 1 database is brought to the current version with its rows kept, and
// every volume is scanned again from generation 0 so that the parents of
// the inodes it already tracks get recorded.
func TestMigrateFromV1(t *testing.T) {
	ctx := context.Background()
	// Make it a version 1 database holding one scanned volume.
	d := openMigrated(t, 1,
		`INSERT INTO Filesystem (id, uuid) VALUES (1, 'u')`,
		`INSERT INTO Volume (id, fs_id, root_id, last_tracked_generation, last_tracked_size_cutoff, size_cutoff) VALUES (1, 1, 5, 77, 4096, 4096)`,
		`INSERT INTO Inode (vol_id, ino, size, generation, transid, has_updates, hash) VALUES (1, 300, 5000, 3, 9, 0, x'01')`,
	)
	v, ok, err := d.VolumeByRoot(ctx, 1, 5)
	if err != nil || !ok || v.Scanned || v.LastGeneration != 0 || v.SizeCutoff != 4096 {
		t.Errorf("volume after migration %+v, %v: want a full rescan, cutoff kept", v, err)
	}
	rows, err := d.Inodes(ctx, 1)
	if err != nil || len(rows) != 1 || rows[0].Flagged {
		t.Errorf("inodes after migration %+v, %v: want the row kept, unflagged", rows, err)
	}
	// The new table and trigger work.
	w := d.NewScanWriter(ctx, 1)
	if err := w.SetParents(300, []uint64{256}); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(80, 4096); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteInode(ctx, 1, 300); err != nil {
		t.Fatal(err)
	}
	if ps, err := d.Parents(ctx, 1, 300); err != nil || len(ps) != 0 {
		t.Errorf("parents of a dropped inode: %v, %v", ps, err)
	}
}

// tree writes parent rows through a scan writer: each entry maps an inode
// to its parents.
func tree(t *testing.T, d *DB, volID int64, fresh bool, parents map[uint64][]uint64, dirs ...uint64) {
	t.Helper()
	ctx := context.Background()
	w := d.NewScanWriter(ctx, volID)
	if fresh {
		w.Fresh()
	}
	for _, ino := range slices.Sorted(maps.Keys(parents)) {
		set := w.SetParents
		if slices.Contains(dirs, ino) {
			set = w.SetDirParents
		}
		if err := set(ino, parents[ino]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(1, 1); err != nil {
		t.Fatal(err)
	}
}

func TestParentsAndBelow(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	fs, _ := d.EnsureFilesystem(ctx, "u", "")
	v, _ := d.EnsureVolume(ctx, fs.ID, 5, 1)
	other, _ := d.EnsureVolume(ctx, fs.ID, 256, 1)
	// 256 (root, ".." to itself) ─ 257 ─ 258 ─ 260 (file, also linked in 259)
	//                             └ 259 ─ 261 (file)
	//                                    └ 262 (dir) ─ 263 (file)
	tree(t, d, v.ID, true, map[uint64][]uint64{
		256: {256}, 257: {256}, 258: {257}, 259: {256}, 260: {258, 259, 258}, 261: {259}, 262: {259}, 263: {262},
	}, 256, 257, 258, 259, 262)
	tree(t, d, other.ID, true, map[uint64][]uint64{300: {258}})
	below := func(dirs ...uint64) []uint64 {
		t.Helper()
		got, err := d.InodesBelow(ctx, v.ID, dirs)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, c := range []struct {
		name string
		dirs []uint64
		want []uint64
	}{
		{"root", []uint64{256}, []uint64{256, 257, 258, 259, 260, 261, 262, 263}},
		{"a hard link counts through either parent", []uint64{258}, []uint64{258, 260}},
		{"nested", []uint64{259}, []uint64{259, 260, 261, 262, 263}},
		{"several", []uint64{258, 262}, []uint64{258, 260, 262, 263}},
		{"a file", []uint64{263}, []uint64{263}},
		{"none", nil, nil},
	} {
		if got := below(c.dirs...); !slices.Equal(got, c.want) {
			t.Errorf("%s: below %v = %v, want %v", c.name, c.dirs, got, c.want)
		}
	}
	if ps, _ := d.Parents(ctx, v.ID, 256); len(ps) != 0 {
		t.Errorf("the root has parents %v", ps)
	}

	// An incremental scan replaces what it sees: 260 renamed out of 258,
	// 262 deleted (no links: no parents), a file row reusing a directory's
	// number is dropped.
	w := d.NewScanWriter(ctx, v.ID)
	w.Upsert(InodeRow{Ino: 259, Size: 10, Generation: 1, Transid: 1})
	w.Finish(1, 1)
	tree(t, d, v.ID, false, map[uint64][]uint64{260: {259}, 262: nil, 259: {256}}, 259, 262)
	if got := below(258); !slices.Equal(got, []uint64{258}) {
		t.Errorf("after the rename, below 258: %v", got)
	}
	if got := below(259); !slices.Equal(got, []uint64{259, 260, 261}) {
		t.Errorf("after the deletion, below 259: %v", got)
	}
	if rows, _ := d.Inodes(ctx, v.ID); len(rows) != 0 {
		t.Errorf("a file row with a directory's number survives: %+v", rows)
	}
	// A deleted directory's subtree is forgotten, files keep their rows.
	tree(t, d, v.ID, false, map[uint64][]uint64{262: {259}, 263: {262}, 264: {262}}, 262, 264)
	w = d.NewScanWriter(ctx, v.ID)
	w.Upsert(InodeRow{Ino: 263, Size: 10, Generation: 1, Transid: 1})
	subdirs, err := w.Subdirs([]uint64{259, 258, 256})
	slices.Sort(subdirs)
	if err != nil || !slices.Equal(subdirs, []uint64{257, 259, 262}) {
		t.Errorf("Subdirs(259, 258, 256) = %v, %v", subdirs, err)
	}
	if err := w.DropTree(262); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(1, 1); err != nil {
		t.Fatal(err)
	}
	if got := below(259); !slices.Equal(got, []uint64{259, 260, 261}) {
		t.Errorf("after dropping 262, below 259: %v", got)
	}
	if rows, _ := d.Inodes(ctx, v.ID); len(rows) != 1 || rows[0].Ino != 263 {
		t.Errorf("tracked rows after dropping the tree: %+v", rows)
	}
	// Stale rows that make a cycle do not loop.
	tree(t, d, v.ID, false, map[uint64][]uint64{257: {258}})
	if got := below(258); !slices.Equal(got, []uint64{257, 258}) {
		t.Errorf("cycle: below 258: %v", got)
	}

	// A fresh scan starts over; a reset forgets; the other volume keeps its rows.
	tree(t, d, v.ID, true, map[uint64][]uint64{270: {256}})
	if got := below(256); !slices.Equal(got, []uint64{256, 270}) {
		t.Errorf("after a fresh scan: %v", got)
	}
	if err := d.ResetVolume(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if got := below(256); !slices.Equal(got, []uint64{256}) {
		t.Errorf("after a reset: %v", got)
	}
	if ps, _ := d.Parents(ctx, other.ID, 300); !slices.Equal(ps, []uint64{258}) {
		t.Errorf("other volume's parents %v", ps)
	}
}

// A scope restricted to directories sees the flagged sizes, members and
// bytes of the files below them only; whole volumes are unaffected.
func TestScope(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	fs, _ := d.EnsureFilesystem(ctx, "u", "")
	a, _ := d.EnsureVolume(ctx, fs.ID, 5, 1)
	b, _ := d.EnsureVolume(ctx, fs.ID, 256, 1)
	// Volume a: dir 257 holds 300 (size 100, flagged) and 301 (size 200);
	// dir 258 holds 302 (size 200, flagged) and 303 (size 300, flagged).
	// Volume b: 400 (size 200) and 401 (size 100, flagged) in its root.
	w := d.NewScanWriter(ctx, a.ID)
	w.Fresh()
	for _, r := range []struct{ ino, size, parent uint64 }{{300, 100, 257}, {301, 200, 257}, {302, 200, 258}, {303, 300, 258}} {
		w.Upsert(InodeRow{Ino: r.ino, Size: r.size, Generation: 1, Transid: 1})
		w.SetParents(r.ino, []uint64{r.parent})
	}
	w.SetDirParents(257, []uint64{256})
	w.SetDirParents(258, []uint64{256})
	if err := w.Finish(1, 1); err != nil {
		t.Fatal(err)
	}
	w = d.NewScanWriter(ctx, b.ID)
	for _, r := range []struct{ ino, size uint64 }{{400, 200}, {401, 100}} {
		w.Upsert(InodeRow{Ino: r.ino, Size: r.size, Generation: 1, Transid: 1})
		w.SetParents(r.ino, []uint64{256})
	}
	if err := w.Finish(1, 1); err != nil {
		t.Fatal(err)
	}
	batch := d.NewBatch()
	batch.SetFlag(InodeKey{Size: 200, VolID: a.ID, Ino: 301}, false)
	batch.SetFlag(InodeKey{Size: 200, VolID: b.ID, Ino: 400}, false)
	if err := batch.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	type member struct {
		vol int64
		ino uint64
	}
	for _, c := range []struct {
		name    string
		dirs    map[int64][]uint64
		sizes   []uint64
		bytes   int64
		members map[uint64][]member
	}{
		{"whole", nil, []uint64{300, 200, 100}, 300 + 3*200 + 2*100,
			map[uint64][]member{200: {{a.ID, 301}, {a.ID, 302}, {b.ID, 400}}}},
		{"a below 257", map[int64][]uint64{a.ID: {257}}, []uint64{100}, 2 * 100,
			map[uint64][]member{100: {{a.ID, 300}, {b.ID, 401}}, 200: {{a.ID, 301}, {b.ID, 400}}}},
		{"a below 258", map[int64][]uint64{a.ID: {258}}, []uint64{300, 200, 100}, 300 + 2*200 + 100,
			map[uint64][]member{200: {{a.ID, 302}, {b.ID, 400}}}},
		{"a below both, b below a missing dir", map[int64][]uint64{a.ID: {257, 258}, b.ID: {999}}, []uint64{300, 200, 100}, 300 + 2*200 + 100,
			map[uint64][]member{200: {{a.ID, 301}, {a.ID, 302}}, 100: {{a.ID, 300}}}},
		{"a below the root", map[int64][]uint64{a.ID: {256}, b.ID: {256}}, []uint64{300, 200, 100}, 300 + 3*200 + 2*100, nil},
	} {
		s, err := d.NewScope(ctx, []int64{a.ID, b.ID}, c.dirs)
		if err != nil {
			t.Fatal(err)
		}
		sizes, err := d.FlaggedSizesBetween(ctx, s, 0, ^uint64(0), 10, true)
		if err != nil || !slices.Equal(sizes, c.sizes) {
			t.Errorf("%s: FlaggedSizesBetween %v, %v; want %v", c.name, sizes, err, c.sizes)
		}
		if n, err := d.CountFlaggedSizes(ctx, s); err != nil || n != len(c.sizes) {
			t.Errorf("%s: CountFlaggedSizes %d, %v", c.name, n, err)
		}
		if n, err := d.FlaggedBytes(ctx, s); err != nil || n != c.bytes {
			t.Errorf("%s: FlaggedBytes %d, %v; want %d", c.name, n, err, c.bytes)
		}
		q, err := d.PrepareMembers(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		for size, want := range c.members {
			ms, err := q.Members(ctx, size)
			var got []member
			for _, m := range ms {
				got = append(got, member{m.VolID, m.Ino})
			}
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("%s: members of %d: %v, %v; want %v", c.name, size, got, err, want)
			}
		}
		q.Close()
		if err := s.Close(); err != nil {
			t.Errorf("%s: close: %v", c.name, err)
		}
	}
	// Nothing flagged: nothing to prepare, nothing found.
	if err := d.ClearFlags(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.ClearFlags(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	s, err := d.NewScope(ctx, []int64{a.ID, b.ID}, map[int64][]uint64{a.ID: {257}})
	if err != nil || s.Restricted() {
		t.Fatalf("scope with nothing flagged: %+v, %v", s, err)
	}
	if n, err := d.CountFlaggedSizes(ctx, s); err != nil || n != 0 {
		t.Errorf("nothing flagged: %d sizes, %v", n, err)
	}
	s.Close()
	// The whole-volume scope needs no preparation.
	batch = d.NewBatch()
	batch.SetFlag(InodeKey{Size: 100, VolID: b.ID, Ino: 401}, true)
	batch.Commit(ctx)
	if sizes, err := d.FlaggedSizesBetween(ctx, Volumes([]int64{b.ID}), 0, ^uint64(0), 10, true); err != nil || !slices.Equal(sizes, []uint64{100}) {
		t.Errorf("Volumes scope: %v, %v", sizes, err)
	}
}
