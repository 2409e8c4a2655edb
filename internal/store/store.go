// Package store is bedup's tracking database: which filesystems and
// subvolumes it has seen, the generation each subvolume was last scanned
// at, and the candidate files (inodes) waiting to be deduplicated. It is
// SQLite through database/sql; all SQL of the program lives here.
//
// One process writes at a time: Open takes an exclusive flock on the
// database file for the life of the DB and fails at once, naming the
// holder's pid, when another bedup has it (or waits for it: Options.Wait).
package store

import (
	"bufio"
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/ncruces/go-sqlite3/driver" // registers "sqlite3"

	"github.com/bedup/bedup/internal/btrfs"
)

var (
	//go:embed schema.sql
	schemaV1 string
	//go:embed schema_v2.sql
	schemaV2 string
	//go:embed schema_v3.sql
	schemaV3 string
	//go:embed schema_v4.sql
	schemaV4 string
	//go:embed schema_v5.sql
	schemaV5 string
	//go:embed schema_v6.sql
	schemaV6 string
)

// migrations[i] takes the schema from version i to i+1 (PRAGMA user_version).
var migrations = []string{schemaV1, schemaV2, schemaV3, schemaV4, schemaV5, schemaV6}

// SchemaVersion is the schema version this build writes.
var SchemaVersion = len(migrations)

// ErrLocked is wrapped by Open when another process holds the database.
var ErrLocked = errors.New("database in use")

// DB is an open tracking database.
type DB struct {
	db      *sql.DB
	file    *os.File // holds the flock; nil when read-only
	created bool     // this Open made the database file
	snap    *readSnapshot
	closed  bool
	shm     bool // Open created the -shm file (see sharedMemoryInPlace)
	stmts   stmtCache
	Path    string
}

// Options change how Open treats the database.
type Options struct {
	// ReadOnly opens an existing database for queries only, without the
	// writer's lock, so that show works while a dedup runs.
	ReadOnly bool
	// CreateDir creates the database's directory when missing (for the
	// default path; a path the user typed must have its directory).
	CreateDir bool
	// Wait is how long a writer waits for another process to release the
	// database: 0 fails at once, WaitForever (any negative value) waits
	// until the context is done.
	Wait time.Duration
	// OnWait, if set, is called once when the writer starts waiting, with
	// the holder ("pid N" or "another process").
	OnWait func(holder string)
}

// Open opens (creating it if needed, unless read-only) the database at
// path, checks that it is a bedup database, and brings its schema up to
// date. Nothing is written to a file that is not one.
func Open(ctx context.Context, path string, o Options) (*DB, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if o.CreateDir && !o.ReadOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("database directory: %w", err)
		}
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("database directory %s: %w", dir, errors.Unwrap(err))
	} else if !st.IsDir() {
		return nil, fmt.Errorf("database directory %s: not a directory", dir)
	}
	if err := checkFile(path); err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	d := &DB{Path: path}
	if o.ReadOnly {
		if err := d.openReader(); err != nil {
			return nil, fmt.Errorf("database %s: %w (nothing tracked yet: run bedup scan)", path, errors.Unwrap(err))
		}
	} else {
		f, err := d.openWriter()
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", path, errors.Unwrap(err))
		}
		if err := lock(ctx, f, path, o); err != nil {
			f.Close()
			return nil, err
		}
		d.file = f
		d.shm = sharedMemoryInPlace(path)
	}
	if err := d.open(ctx, o.ReadOnly); err != nil {
		d.Close()
		if d.shm {
			os.Remove(path + "-shm") // not a database: leave nothing behind
		}
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	return d, nil
}

// open connects to the database, with the files SQLite makes private to
// their owner, and prepares it for use; a database this Open created is
// removed again when that fails.
func (d *DB) open(ctx context.Context, readOnly bool) error {
	if !readOnly {
		if err := d.privateCompanions(); err != nil {
			d.discardCreated()
			return err
		}
	}
	db, err := connectCancellable(ctx, func() (db *sql.DB, err error) {
		err = btrfs.WithUmask(privateUmask, func() error {
			db, err = d.connect(ctx, readOnly)
			return err
		})
		return db, err
	})
	if err != nil {
		if ctx.Err() == nil {
			d.discardCreated()
		}
		return d.explain(err)
	}
	d.db = db
	return nil
}

// connect opens the database through SQLite and checks and migrates its
// schema.
func (d *DB) connect(ctx context.Context, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("_txlock", "immediate")
	if readOnly {
		q.Set("mode", "ro")
		if d.snap != nil && d.snap.immutable {
			q.Set("immutable", "1")
		}
	}
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: d.Path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// One connection: SQLite has one writer anyway, and each connection of
	// this driver carries its own memory.
	db.SetMaxOpenConns(1)
	if err := prepare(ctx, db, readOnly); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// prepare checks that db is a bedup database this build understands and,
// for a writer, switches it to write-ahead logging and migrates it.
func prepare(ctx context.Context, db *sql.DB, readOnly bool) error {
	var version, tables int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return notBedup(err)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return notBedup(err)
	}
	switch {
	case version == 0 && tables > 0:
		return errors.New("not a bedup database (it holds other tables)")
	case version > SchemaVersion:
		return fmt.Errorf("schema version %d is newer than this bedup understands (%d)", version, SchemaVersion)
	case readOnly && version < SchemaVersion:
		return fmt.Errorf("schema version %d needs an upgrade: run bedup scan first", version)
	}
	if readOnly {
		return nil
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("cannot use write-ahead logging (journal mode %s)", mode)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		return err
	}
	return migrate(ctx, db, version)
}

// notBedup rewords SQLite's answer to a file that is not a database.
func notBedup(err error) error {
	if strings.Contains(err.Error(), "not a database") {
		return errors.New("not a bedup database (not an SQLite file)")
	}
	return err
}

func migrate(ctx context.Context, db *sql.DB, from int) error {
	for v := from; v < SchemaVersion; v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("schema version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(v+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the database and releases the lock. A read-only DB
// returns ErrChangedWhileRead when the database changed under it while it
// was read without locks. Closing again does nothing.
func (d *DB) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var err error
	if d.db != nil {
		err = d.db.Close()
	}
	if d.file != nil {
		if cerr := d.file.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil && d.readerChanged() {
		err = fmt.Errorf("database %s: %w", d.Path, ErrChangedWhileRead)
	}
	return err
}

// Files returns the paths of the database and of SQLite's companion files,
// which must never become deduplication candidates.
func (d *DB) Files() []string {
	return []string{d.Path, d.Path + "-wal", d.Path + "-shm", d.Path + "-journal"}
}

// lockHolder finds the pid holding a flock on f's inode in /proc/locks.
func lockHolder(f *os.File) string {
	st, err := btrfs.Fstat(f)
	if err != nil {
		return ""
	}
	locks, err := os.Open("/proc/locks")
	if err != nil {
		return ""
	}
	defer locks.Close()
	// Lines look like "1: FLOCK  ADVISORY  WRITE 1234 00:2f:5678 0 EOF";
	// the device is major:minor in hex, as the kernel's MAJOR/MINOR split it.
	want := fmt.Sprintf(":%d", st.Ino)
	sc := bufio.NewScanner(locks)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "FLOCK" || !strings.HasSuffix(fields[5], want) {
			continue
		}
		dev := strings.Split(fields[5], ":")
		if len(dev) != 3 {
			continue
		}
		maj, err1 := strconv.ParseUint(dev[0], 16, 32)
		min, err2 := strconv.ParseUint(dev[1], 16, 32)
		if err1 == nil && err2 == nil && devMatches(st.Dev, maj, min) {
			return fields[4]
		}
	}
	return ""
}

// devMatches compares a stat st_dev with a major/minor pair the way the
// kernel's new_encode_dev splits it.
func devMatches(dev uint64, maj, min uint64) bool {
	gotMaj := (dev >> 8 & 0xfff) | (dev >> 32 &^ 0xfff)
	gotMin := (dev & 0xff) | (dev >> 12 &^ 0xff)
	return gotMaj == maj && gotMin == min
}
