package store

import (
	"context"
	"path/filepath"
	"testing"
)

// openMigrated makes a database of the current schema, turns it into an
// older one with stmts (dropping what later versions added, setting
// user_version, adding rows), then opens it again, which migrates it, and
// checks that it is at the current version. The database is closed when
// t ends.
func openMigrated(t *testing.T, stmts ...string) *DB {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	d, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := d.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	d.Close()
	d, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	var version int
	if err := d.db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != SchemaVersion {
		t.Fatalf("user_version %d, %v", version, err)
	}
	return d
}
