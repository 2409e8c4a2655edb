package store

import (
	"bytes"
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"
)

// The folded, multi-row writes of a batch end where the writes one by one
// would: the last write of a column wins, a Drop ends the inode, events
// keep their inodes, and chunks split at the parameter limit lose nothing.
func TestBatchFolding(t *testing.T) {
	ctx := context.Background()
	type state struct {
		gone          bool
		hash, extents []byte
		hashTransid   int64
		flagged       bool
		transid       int64
		frozen        bool
	}
	const many = 8000 // over one chunk of drops
	for _, c := range []struct {
		name  string
		batch func(b *Batch, key func(ino uint64) InodeKey)
		want  map[uint64]state // inodes not named keep the scan's state
	}{
		{"result then drop", func(b *Batch, key func(ino uint64) InodeKey) {
			b.SetResult(key(300), []byte{1}, []byte{2}, 9, false)
			b.Drop(key(300))
			b.SetFlag(key(300), true) // after the drop: no row to update
		}, map[uint64]state{300: {gone: true}}},
		{"flag toggled twice", func(b *Batch, key func(ino uint64) InodeKey) {
			b.SetFlag(key(300), false)
			b.SetFlag(key(300), true)
			b.SetFlag(key(301), true)
			b.SetFlag(key(301), false)
		}, map[uint64]state{300: {flagged: true, transid: 9}, 301: {transid: 9}}},
		{"result then flag, flag then result", func(b *Batch, key func(ino uint64) InodeKey) {
			b.SetResult(key(300), []byte{1}, []byte{2}, 9, false)
			b.SetFlag(key(300), true)
			b.SetFlag(key(301), true)
			b.SetResult(key(301), []byte{3}, []byte{4}, 0, false)
		}, map[uint64]state{
			300: {hash: []byte{1}, extents: []byte{2}, hashTransid: 9, flagged: true, transid: 9},
			301: {hash: []byte{3}, extents: []byte{4}, transid: 9},
		}},
		{"result replaced, transid, frozen", func(b *Batch, key func(ino uint64) InodeKey) {
			b.SetResult(key(300), []byte{1}, []byte{2}, 9, true)
			b.SetTransid(key(300), 12)
			b.SetResult(key(300), nil, []byte{5}, 9, false) // no hash: no hash transid
			b.SetFrozen(key(300), true)
			b.SetFrozen(key(301), true)
			b.SetFrozen(key(301), false)
		}, map[uint64]state{
			300: {extents: []byte{5}, transid: 12, frozen: true},
			301: {flagged: true, transid: 9},
		}},
		{"many", func(b *Batch, key func(ino uint64) InodeKey) {
			for ino := uint64(1000); ino < 1000+many; ino++ {
				switch ino % 3 {
				case 0:
					b.Drop(key(ino))
				default:
					b.SetResult(key(ino), []byte{byte(ino)}, []byte{2}, 9, ino%3 == 1)
				}
			}
		}, func() map[uint64]state {
			m := map[uint64]state{}
			for ino := uint64(1000); ino < 1000+many; ino++ {
				if ino%3 == 0 {
					m[ino] = state{gone: true}
				} else {
					m[ino] = state{hash: []byte{byte(ino)}, extents: []byte{2}, hashTransid: 9, flagged: ino%3 == 1, transid: 9}
				}
			}
			return m
		}()},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := openTemp(t)
			fs, _ := d.EnsureFilesystem(ctx, "u", "")
			v, _ := d.EnsureVolume(ctx, fs.ID, 5, 1)
			w := d.NewScanWriter(ctx, v.ID)
			for _, ino := range []uint64{300, 301, 302} {
				w.Upsert(InodeRow{Ino: ino, Size: 5000, Generation: 7, Transid: 9})
			}
			for ino := uint64(1000); ino < 1000+many; ino++ {
				w.Upsert(InodeRow{Ino: ino, Size: 5000, Generation: 7, Transid: 9})
			}
			if err := w.Finish(10, 1); err != nil {
				t.Fatal(err)
			}
			b := d.NewBatch()
			c.batch(b, func(ino uint64) InodeKey { return InodeKey{Size: 5000, VolID: v.ID, Ino: ino} })
			if err := b.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if b.Len() != 0 {
				t.Errorf("%d writes left after the commit", b.Len())
			}
			want := func(ino uint64) state {
				if s, ok := c.want[ino]; ok {
					return s
				}
				return state{flagged: true, transid: 9}
			}
			check := func(ino uint64) {
				t.Helper()
				var s state
				var ht *int64
				err := d.db.QueryRowContext(ctx, `SELECT hash, extents, hash_transid, has_updates, transid, frozen FROM Inode WHERE vol_id = ? AND ino = ?`,
					v.ID, int64(ino)).Scan(&s.hash, &s.extents, &ht, &s.flagged, &s.transid, &s.frozen)
				if err != nil {
					s = state{gone: true}
				} else if ht != nil {
					s.hashTransid = *ht
				}
				w := want(ino)
				if s.gone != w.gone || !bytes.Equal(s.hash, w.hash) || !bytes.Equal(s.extents, w.extents) || s.hashTransid != w.hashTransid ||
					s.flagged != w.flagged || s.transid != w.transid || s.frozen != w.frozen {
					t.Errorf("inode %d: %+v, want %+v", ino, s, w)
				}
			}
			for _, ino := range []uint64{300, 301, 302} {
				check(ino)
			}
			for ino := uint64(1000); ino < 1000+many; ino++ {
				check(ino)
			}
		})
	}
}

// Events keep their inodes, in batches of events and inodes past the
// parameter limit, and done intents go.
func TestBatchEvents(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	fs, _ := d.EnsureFilesystem(ctx, "u", "")
	v, _ := d.EnsureVolume(ctx, fs.ID, 5, 1)
	var intents []Intent
	for i := range 3000 {
		intents = append(intents, Intent{FSID: fs.ID, Size: 10, Freed: 10, Inodes: []IntentInode{{VolID: v.ID, Ino: uint64(i)}, {VolID: v.ID, Ino: uint64(i + 1)}}})
	}
	ids, err := d.LogIntents(ctx, intents)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 { // the second after ids are taken
		b := d.NewBatch()
		// 7000 events of 1 to 5 inodes: 21,000 inode rows, 63,000 parameters.
		for e := range 7000 {
			var in []EventInode
			for i := range 1 + e%5 {
				in = append(in, EventInode{VolID: v.ID, Ino: uint64(e*10 + i)})
			}
			b.Event(fs.ID, uint64(e), uint64(round), in)
		}
		for _, id := range ids[round*1500 : (round+1)*1500] {
			b.IntentDone(id)
		}
		if err := b.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var bad, events, inodes, left int
	err = d.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM DedupEvent),
		(SELECT count(*) FROM DedupEventInode),
		(SELECT count(*) FROM DedupEventInode i JOIN DedupEvent e ON e.id = i.event_id
			WHERE i.ino / 10 <> e.item_size OR i.ino % 10 >= 1 + e.item_size % 5),
		(SELECT count(*) FROM DedupIntent) + (SELECT count(*) FROM DedupIntentInode)`).Scan(&events, &inodes, &bad, &left)
	if err != nil {
		t.Fatal(err)
	}
	if events != 14000 || inodes != 42000 || bad != 0 || left != 0 {
		t.Errorf("%d events, %d event inodes, %d on the wrong event, %d intent rows left", events, inodes, bad, left)
	}
}

// Each combination of written columns has its own update statement: it
// writes those columns and no other, and a write that changes nothing
// updates no row.
func TestUpdateColumns(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	fs, _ := d.EnsureFilesystem(ctx, "u", "")
	v, _ := d.EnsureVolume(ctx, fs.ID, 5, 1)
	cols := []struct {
		set           int
		before, after string // the columns' values before and after the write
	}{
		{setResult, "X'AA'|X'BB'|5", "X'01'|X'02'|7"},
		{setFlag, "1", "0"},
		{setTransid, "9", "12"},
		{setFrozen, "0", "1"},
	}
	for set := 1; set <= setResult|setFlag|setTransid|setFrozen; set++ {
		if _, err := d.db.ExecContext(ctx, `INSERT OR REPLACE INTO Inode (vol_id, ino, size, generation, transid, has_updates, hash, extents, hash_transid, frozen)
			VALUES (?, 300, 5000, 7, 9, 1, x'AA', x'BB', 5, 0)`, v.ID); err != nil {
			t.Fatal(err)
		}
		w := inodeWrite{InodeKey: InodeKey{Size: 5000, VolID: v.ID, Ino: 300}, set: set, hash: []byte{1}, extents: []byte{2}, hashTransid: int64(7), transid: 12, frozen: true}
		var want []string
		for _, c := range cols {
			if set&c.set != 0 {
				want = append(want, c.after)
			} else {
				want = append(want, c.before)
			}
		}
		for round, changes := range []int64{1, 0} { // the same write again changes nothing
			tx, err := d.db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := tx.ExecContext(ctx, updateSQL(set), w.args(nil)...)
			if err != nil {
				t.Fatalf("set %b: %v", set, err)
			}
			if n, _ := res.RowsAffected(); n != changes {
				t.Errorf("set %b, round %d: %d rows updated, want %d", set, round, n, changes)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		var got string
		err := d.db.QueryRowContext(ctx, `SELECT concat_ws('|', quote(hash), quote(extents), hash_transid, has_updates, transid, frozen)
			FROM Inode WHERE vol_id = ? AND ino = 300`, v.ID).Scan(&got)
		if err != nil || got != strings.Join(want, "|") {
			t.Errorf("set %b: %s, %v; want %s", set, got, err, strings.Join(want, "|"))
		}
	}
}

// Preparing the statements transactions wanted (keep, after a commit)
// waits for the connection without keeping the statement cache from a
// transaction that holds it: a window's intents are logged while the
// previous window's commit finishes.
func TestKeepWhileInTransaction(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	d.stmts.mu.Lock()
	d.stmts.db, d.stmts.m, d.stmts.wanted = d.db, map[string]*sql.Stmt{}, []string{intentDoneSQL(1)}
	d.stmts.mu.Unlock()
	kept := make(chan struct{})
	go func() {
		d.keep(ctx) // waits for tx's connection
		close(kept)
	}()
	time.Sleep(50 * time.Millisecond) // let keep take the wanted list
	got := make(chan error, 1)
	go func() {
		_, err := d.stmt(ctx, tx, intentDoneSQL(8))
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a statement for a transaction waits for keep, which waits for the transaction")
	}
	tx.Rollback()
	<-kept
	d.stmts.mu.Lock()
	defer d.stmts.mu.Unlock()
	if d.stmts.m[intentDoneSQL(1)] == nil || !slices.Equal(d.stmts.wanted, []string{intentDoneSQL(8)}) {
		t.Errorf("cached %d statements, wanted %d", len(d.stmts.m), len(d.stmts.wanted))
	}
}
