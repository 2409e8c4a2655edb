package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ncruces/go-sqlite3"

	"github.com/bedup/bedup/internal/btrfs"
)

// The database and its companions (-wal, -shm) hold paths and content
// hashes: they are made readable by their owner only, whatever the umask.
// SQLite makes the companions itself with mode 0666 less the umask, so the
// umask is narrowed while it opens them.
const privateUmask = 0o077

// ErrChangedWhileRead is returned by Close of a read-only DB when the
// database file changed while it was read without locks (a writer started
// and checkpointed meanwhile): what was read may mix two states.
var ErrChangedWhileRead = errors.New("changed while it was read (another bedup wrote it): run the command again")

// checkFile refuses a database path that names something other than a
// regular file, before anything opens it: opening a FIFO for reading waits
// for a writer, a device may act on an open, and SQLite would put a
// "-journal" file next to /dev/null. A missing file is fine.
func checkFile(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return errors.Unwrap(err)
	}
	if k := fileKind(st.Mode()); k != "" {
		return errors.New(k)
	}
	return nil
}

// fileKind says what a non-regular file is ("" for a regular file).
func fileKind(m fs.FileMode) string {
	switch t := m.Type(); {
	case t == 0:
		return ""
	case t&fs.ModeDir != 0:
		return "is a directory"
	case t&fs.ModeNamedPipe != 0:
		return "not a regular file (a named pipe)"
	case t&fs.ModeSocket != 0:
		return "not a regular file (a socket)"
	case t&fs.ModeCharDevice != 0:
		return "not a regular file (a character device)"
	case t&fs.ModeDevice != 0:
		return "not a regular file (a block device)"
	default:
		return "not a regular file"
	}
}

// openWriter opens (creating it with mode 0600 when missing) the database
// file the writer's lock is taken on, without blocking, and checks that it
// is a regular file.
func (d *DB) openWriter() (*os.File, error) {
	f, created, err := btrfs.OpenRegular(d.Path, os.O_RDWR|os.O_CREATE, 0o600)
	d.created = created
	return f, err
}

// readSnapshot identifies the state of the database file a lock-free
// reader saw.
type readSnapshot struct {
	dev, ino, size uint64
	mtime, ctime   syscall.Timespec
	immutable      bool
}

// openReader checks the database file before a read-only open, without
// blocking on it. With no write-ahead log beside it no writer is at work:
// the file is then read as immutable, which makes SQLite create no -wal and
// -shm files (mode=ro alone does), and Close checks that the file did not
// change meanwhile.
func (d *DB) openReader() error {
	f, _, err := btrfs.OpenRegular(d.Path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = os.Lstat(d.Path + "-wal")
	d.snap = snapshot(fi)
	d.snap.immutable = errors.Is(err, fs.ErrNotExist)
	return nil
}

// snapshot records what identifies a file and its last change.
func snapshot(fi fs.FileInfo) *readSnapshot {
	st := fi.Sys().(*syscall.Stat_t)
	return &readSnapshot{dev: st.Dev, ino: st.Ino, size: uint64(st.Size), mtime: st.Mtim, ctime: st.Ctim}
}

// readerChanged reports whether the file an immutable reader read is no
// longer the one it opened, as it was.
func (d *DB) readerChanged() bool {
	if d.snap == nil || !d.snap.immutable {
		return false
	}
	fi, err := os.Stat(d.Path)
	if err != nil {
		return true
	}
	now := snapshot(fi)
	now.immutable = true
	return *now != *d.snap
}

// privateCompanions checks that the database file and its -wal and -shm
// files (when they exist) belong to the user running bedup, and makes the
// companions readable by their owner only (an older bedup, or a reader,
// may have made them readable by all). A file someone else owns, in a
// directory others can write (/tmp, say), could be read or rewritten by
// them: rows they add would make bedup open and compare files of their
// choosing, so such a database is refused.
func (d *DB) privateCompanions() error {
	for _, p := range []string{d.Path, d.Path + "-wal", d.Path + "-shm"} {
		st, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) && p != d.Path {
			continue
		}
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s: %s", p, fileKind(st.Mode()))
		}
		if uid := st.Sys().(*syscall.Stat_t).Uid; int(uid) != os.Geteuid() {
			return fmt.Errorf("%s is owned by uid %d, not by uid %d running bedup (its owner could steer bedup)", p, uid, os.Geteuid())
		}
		if p != d.Path && st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
				return err
			}
		}
	}
	return nil
}

// discardCreated removes the database this Open created, when opening it
// failed: a failed command leaves no empty database behind. The writer's
// lock is still held, so nobody else uses the files.
func (d *DB) discardCreated() {
	if !d.created {
		return
	}
	for _, p := range d.Files() {
		os.Remove(p)
	}
	d.created = false
}

// connectCancellable runs connect, but returns as soon as ctx is done: the
// open SQLite makes is a plain open(2) that no signal interrupts (a FIFO
// swapped in after the checks would hold it forever). A connection that
// comes late is closed.
func connectCancellable(ctx context.Context, connect func() (*sql.DB, error)) (*sql.DB, error) {
	type result struct {
		db  *sql.DB
		err error
	}
	done := make(chan result, 1)
	go func() {
		db, err := connect()
		done <- result{db, err}
	}()
	select {
	case r := <-done:
		return r.db, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.db != nil {
				r.db.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// errNoSpace is what SQLite's errors become when the database's filesystem
// is full.
var errNoSpace = syscall.ENOSPC

// explain turns SQLite's words for operating-system failures into the
// failure: "disk I/O error" from a write, truncate or mapping on a full
// filesystem is "no space left on device" (the driver loses the errno on
// the way), "unable to open database file" on a directory is "is a
// directory". Other errors pass unchanged.
func (d *DB) explain(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, sqlite3.FULL):
		return fmt.Errorf("%w", errNoSpace)
	case errors.Is(err, sqlite3.CANTOPEN_ISDIR), errors.Is(err, syscall.EISDIR):
		return fmt.Errorf("%w", syscall.EISDIR)
	case errors.Is(err, sqlite3.IOERR):
		if n, serr := btrfs.AvailableBytes(filepath.Dir(d.Path)); serr == nil && n < lowSpace {
			return fmt.Errorf("%w", errNoSpace)
		}
	}
	return err
}

// lowSpace is the free space below which an I/O error of SQLite's is taken
// for a full filesystem: a page, a WAL frame and the -shm's 32 KiB do not
// fit.
const lowSpace = 1 << 20
