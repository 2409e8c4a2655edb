package store

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/bedup/bedup/internal/testfs"
)

// openGuarded opens path, failing t instead of hanging if Open never
// returns (the old code waited forever on a FIFO).
func openGuarded(t *testing.T, path string, o Options) (*DB, error) {
	t.Helper()
	type result struct {
		d   *DB
		err error
	}
	done := make(chan result, 1)
	go func() {
		d, err := Open(context.Background(), path, o)
		done <- result{d, err}
	}()
	select {
	case r := <-done:
		return r.d, r.err
	case <-time.After(time.Minute):
		t.Fatalf("Open(%s) hangs", path)
		return nil, nil
	}
}

// TestOpenNonRegular: a FIFO, a directory, a socket, /dev/null or a
// symlink to a FIFO is refused as a database, reader or writer, at once,
// with the kind of file named, and nothing is created beside it.
func TestOpenNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	before := testfs.DirModes(t, dir)
	_, nullErr := os.Stat("/dev/null-journal")
	for _, c := range []struct {
		path, want string
	}{
		{fifo, "not a regular file (a named pipe)"},
		{link, "not a regular file (a named pipe)"},
		{sub, "is a directory"},
		{sock, "not a regular file (a socket)"},
		{"/dev/null", "not a regular file (a character device)"},
	} {
		for _, ro := range []bool{true, false} {
			d, err := openGuarded(t, c.path, Options{ReadOnly: ro})
			if err == nil {
				d.Close()
				t.Errorf("Open(%s, read-only %v) succeeded", c.path, ro)
				continue
			}
			if want := "database " + c.path + ": " + c.want; err.Error() != want {
				t.Errorf("Open(%s, read-only %v): %q, want %q", c.path, ro, err, want)
			}
		}
	}
	if after := testfs.DirModes(t, dir); !slices.Equal(before, after) {
		t.Errorf("files beside the refused ones changed: %v, then %v", before, after)
	}
	if _, err := os.Stat("/dev/null-journal"); err == nil && nullErr != nil {
		os.Remove("/dev/null-journal")
		t.Error("/dev/null-journal was created")
	}
}

// TestCompanionFilesPrivate: while a writer has the database open, its
// -wal and -shm files are readable by the owner only, like the database,
// whatever the umask, and ones an older bedup left readable are fixed.
func TestCompanionFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "db.sqlite")
	// Left by an earlier run, readable by all.
	for _, s := range []string{"-wal", "-shm"} {
		if err := os.WriteFile(path+s, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.EnsureFilesystem(context.Background(), "0f0f0f0f-0000-0000-0000-000000000000", ""); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		want := []string{"db.sqlite -rw-------", "db.sqlite-shm -rw-------", "db.sqlite-wal -rw-------"}
		if got := testfs.DirModes(t, dir); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", when, got, want)
		}
	}
	check("over files left readable")
	d.Close()
	for _, s := range []string{"-wal", "-shm"} {
		os.Remove(path + s)
	}
	d, err = Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	check("made anew")
}

// TestReaderCreatesNothing: a read-only open of a database no writer has
// open makes no -wal or -shm file (SQLite's mode=ro alone makes both and
// leaves them behind), and one while a writer works reads its write-ahead
// log.
func TestReaderCreatesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "db.sqlite")
	w, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.EnsureFilesystem(ctx, "0f0f0f0f-0000-0000-0000-000000000001", "one"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	before := testfs.DirModes(t, dir)
	r, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if fss, err := r.Filesystems(ctx); err != nil || len(fss) != 1 {
		t.Errorf("read-only: %v, %v", fss, err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if after := testfs.DirModes(t, dir); !slices.Equal(before, after) {
		t.Errorf("a read-only open changed the directory: %v, then %v", before, after)
	}

	// A writer at work: the reader sees what it committed.
	w, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.EnsureFilesystem(ctx, "0f0f0f0f-0000-0000-0000-000000000002", "two"); err != nil {
		t.Fatal(err)
	}
	r, err = Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if fss, err := r.Filesystems(ctx); err != nil || len(fss) != 2 {
		t.Errorf("read-only beside a writer: %v, %v", fss, err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// TestReaderSeesChange: a lock-free reader whose database a writer changed
// meanwhile says so when it closes, rather than pass on a mix of states.
func TestReaderSeesChange(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	w, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	r, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Filesystems(ctx); err != nil {
		t.Fatal(err)
	}
	w, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.EnsureFilesystem(ctx, "0f0f0f0f-0000-0000-0000-000000000003", ""); err != nil {
		t.Fatal(err)
	}
	w.Close() // checkpoints into the database file
	if err := r.Close(); !errors.Is(err, ErrChangedWhileRead) {
		t.Errorf("reader's close after a write: %v, want %v", err, ErrChangedWhileRead)
	}
}

// TestOpenNoSpace: on a full filesystem, opening a new database fails with
// "no space left on device" (SQLite says "disk I/O error") and leaves no
// empty database behind.
func TestOpenNoSpace(t *testing.T) {
	dir := testfs.FullTmpfs(t)
	before := testfs.DirModes(t, dir)
	path := filepath.Join(dir, "db.sqlite")
	_, err := Open(context.Background(), path, Options{})
	if err == nil || err.Error() != "database "+path+": no space left on device" {
		t.Errorf("Open on a full filesystem: %v", err)
	}
	if after := testfs.DirModes(t, dir); !slices.Equal(before, after) {
		t.Errorf("a failed open left files: %v, then %v", before, after)
	}
}

// TestConnectCancellable: an open that does not return (SQLite opening a
// FIFO swapped in after the checks) gives way to the context.
func TestConnectCancellable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	defer close(release)
	done := make(chan error, 1)
	go func() {
		_, err := connectCancellable(ctx, func() (*sql.DB, error) {
			<-release
			return nil, errors.New("released")
		})
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled connect: %v", err)
	}
}

// TestForeignOwnedRefused: a database, -wal or -shm file that another user
// owns (one who could write it, in a shared directory) is refused by a
// writer and left as it is.
func TestForeignOwnedRefused(t *testing.T) {
	testfs.Require(t) // root, to give files away
	for _, suffix := range []string{"", "-wal", "-shm"} {
		dir := t.TempDir()
		path := filepath.Join(dir, "db.sqlite")
		d, err := Open(context.Background(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
		if suffix != "" {
			if err := os.WriteFile(path+suffix, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chown(path+suffix, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		before := testfs.DirModes(t, dir)
		_, err = Open(context.Background(), path, Options{})
		want := "database " + path + ": " + path + suffix + " is owned by uid 12345, not by uid 0 running bedup (its owner could steer bedup)"
		if err == nil || err.Error() != want {
			t.Errorf("%s owned by another user: %v, want %q", suffix, err, want)
		}
		if after := testfs.DirModes(t, dir); !slices.Equal(before, after) {
			t.Errorf("%s: files changed: %v, then %v", suffix, before, after)
		}
	}
}
