package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"
)

// openMigrated makes a database of an older schema version from the
// migration scripts themselves (those up to version), runs stmts on it
// (adding rows), then opens it, which migrates it, and checks that it is
// at the current version. The database is closed when t ends.
func openMigrated(t *testing.T, version int, stmts ...string) *DB {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	old, err := sql.Open("sqlite3", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	setup := append(migrations[:version:version], "PRAGMA user_version = "+strconv.Itoa(version))
	for _, q := range append(setup, stmts...) {
		if _, err := old.ExecContext(ctx, q); err != nil {
			old.Close()
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	var v int
	if err := d.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != SchemaVersion {
		t.Fatalf("user_version %d, %v", v, err)
	}
	return d
}

// A version 5 database gets its Inode table rebuilt in size order with
// every row, index and trigger kept: lookups by inode, the flagged and
// frozen indexes, the cleanup of parents and block index entries of a
// dropped inode, and scan upserts work on the new table.
func TestMigrateFromV5(t *testing.T) {
	ctx := context.Background()
	d := openMigrated(t, 5,
		`INSERT INTO Filesystem (id, uuid) VALUES (1, 'u')`,
		`INSERT INTO Volume (id, fs_id, root_id, last_tracked_generation, last_tracked_size_cutoff, size_cutoff) VALUES (1, 1, 5, 77, 1, 1), (2, 1, 256, 70, 1, 1)`,
		`INSERT INTO Inode (vol_id, ino, size, generation, transid, has_updates, hash, hash_transid, extents, frozen) VALUES
			(1, 300, 9000, 3, 9, 0, x'01', 8, x'02', 0),
			(1, 301, 5000, 3, 9, 1, NULL, NULL, NULL, 0),
			(2, 300, 5000, 4, 10, 0, x'03', NULL, x'04', 1),
			(2, 299, 7000, 4, 11, 1, x'05', 11, NULL, 0)`,
		`INSERT INTO InodeParent (vol_id, ino, parent, dir) VALUES (1, 300, 256, 0), (1, 301, 256, 0), (2, 300, 256, 0)`,
		`INSERT INTO ExtentFile (vol_id, ino, transid, keys) VALUES (1, 300, 9, x'0100000000000000')`,
	)
	const rows = `SELECT group_concat(concat_ws(':', vol_id, ino, size, generation, transid, has_updates,
		quote(hash), quote(hash_transid), quote(extents), frozen), ' ') FROM (SELECT * FROM Inode ORDER BY vol_id, ino)`
	for _, c := range []struct {
		name, query, want string
	}{
		{"rows kept", rows, "1:300:9000:3:9:0:X'01':8:X'02':0 1:301:5000:3:9:1:NULL:NULL:NULL:0 " +
			"2:299:7000:4:11:1:X'05':11:NULL:0 2:300:5000:4:10:0:X'03':NULL:X'04':1"},
		{"key in size order", `SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('Inode') WHERE pk > 0 ORDER BY pk)`, "size,vol_id,ino"},
		{"indexes", `SELECT group_concat(name || ':' || "unique" || ':' || partial, ',') FROM (SELECT * FROM pragma_index_list('Inode') WHERE origin = 'c' ORDER BY name)`,
			"ix_Inode_flagged:0:1,ix_Inode_frozen:0:1,ix_Inode_ino:1:0"},
		{"triggers", `SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'Inode' ORDER BY name)`,
			"tr_Inode_extentfile,tr_Inode_parents"},
		{"by inode", `SELECT size FROM Inode WHERE vol_id = 2 AND ino = 300`, "5000"},
		{"flagged sizes", `SELECT group_concat(size, ',') FROM (SELECT DISTINCT size FROM Inode INDEXED BY ix_Inode_flagged WHERE has_updates = 1 ORDER BY size)`, "5000,7000"},
		{"frozen", `SELECT group_concat(vol_id || ':' || ino) FROM Inode INDEXED BY ix_Inode_frozen WHERE frozen = 1`, "2:300"},
		{"integrity", `PRAGMA integrity_check`, "ok"},
		{"foreign keys", `SELECT count(*) FROM pragma_foreign_key_check`, "0"},
	} {
		var got string
		if err := d.db.QueryRowContext(ctx, c.query).Scan(&got); err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	// A drop takes the inode's parents and block index entry along; a
	// scan's upsert finds the row by inode and moves it to its new size.
	b := d.NewBatch()
	b.Drop(InodeKey{Size: 9000, VolID: 1, Ino: 300})
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	w := d.NewScanWriter(ctx, 2)
	if err := w.Upsert(InodeRow{Ino: 299, Size: 8000, Generation: 4, Transid: 12}); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(80, 1); err != nil {
		t.Fatal(err)
	}
	var left string
	err := d.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM InodeParent WHERE vol_id = 1 AND ino = 300) || ',' ||
		(SELECT count(*) FROM ExtentFile) || ',' ||
		(SELECT size || ':' || transid || ':' || hex(hash) FROM Inode WHERE vol_id = 2 AND ino = 299)`).Scan(&left)
	if err != nil || left != "0,0,8000:12:05" {
		t.Errorf("after a drop and an upsert: %q, %v; want 0,0,8000:12:05", left, err)
	}
}
