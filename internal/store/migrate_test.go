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
