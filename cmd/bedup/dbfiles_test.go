package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
)

// TestReadersLeaveNoFiles: show, history and size-lookup only read: they
// make no -wal or -shm file beside the database (they did, readable by
// all, and left them behind), and size-lookup without a database prints
// nothing and makes none (it made one, and took the writer's lock).
func TestReadersLeaveNoFiles(t *testing.T) {
	fs := testfs.New(t)
	vol := fs.Subvolume(t, "vol")
	testfs.WriteFile(t, filepath.Join(vol, "a"), testfs.Bytes(1, 200000))
	dir := t.TempDir()
	db := filepath.Join(dir, "db.sqlite")

	for _, args := range [][]string{
		{"size-lookup", "--db-path", db, "200000"},
		{"size-lookup", "--json", "--db-path", db, "200000"},
	} {
		out, errOut, code := runBedup(t, args...)
		if code != 0 || errOut != "" {
			t.Errorf("bedup %s without a database: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
		}
		if args[1] != "--json" && out != "" {
			t.Errorf("bedup %s without a database printed %q", strings.Join(args, " "), out)
		}
		if got := testfs.DirModes(t, dir); len(got) != 0 {
			t.Fatalf("bedup %s without a database made %v", strings.Join(args, " "), got)
		}
	}

	mustRun(t, "scan", "--db-path", db, vol)
	before := testfs.DirModes(t, dir)
	if !slices.Equal(before, []string{"db.sqlite -rw-------"}) {
		t.Fatalf("after a scan: %v", before)
	}
	for _, args := range [][]string{
		{"show", "--db-path", db},
		{"show", "--json", "--db-path", db, vol},
		{"history", "--db-path", db},
		{"size-lookup", "--db-path", db, "200000"},
	} {
		mustRun(t, args...)
		if after := testfs.DirModes(t, dir); !slices.Equal(before, after) {
			t.Errorf("bedup %s changed the database's directory: %v, then %v", strings.Join(args, " "), before, after)
		}
	}
}

// TestSizeLookupWhileLocked: size-lookup works while another run holds the
// database; a deleted file it finds stays tracked, it says so (a notice on
// standard error, or in the JSON document; with --wait, after waiting),
// and the database is not touched. Alone, it drops the row.
func TestSizeLookupWhileLocked(t *testing.T) {
	set := schemas(t)
	fs := testfs.New(t)
	vol := fs.Subvolume(t, "vol")
	keep := testfs.WriteFile(t, filepath.Join(vol, "keep"), testfs.Bytes(1, 200000))
	del := testfs.WriteFile(t, filepath.Join(vol, "del"), testfs.Bytes(2, 200000))
	db := filepath.Join(t.TempDir(), "db.sqlite")
	mustRun(t, "scan", "--db-path", db, vol)
	if err := os.Remove(del); err != nil {
		t.Fatal(err)
	}
	fs.Sync(t)

	holder, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runBedup(t, "size-lookup", "--db-path", db, "200000")
	pid := strconv.Itoa(os.Getpid())
	if code != 0 || out != keep+"\n" || errOut != "bedup: files that no longer exist stay tracked until the next run (1): database "+db+": database in use by bedup (pid "+pid+")\n" {
		t.Errorf("size-lookup while locked: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = runBedup(t, "size-lookup", "--wait=50ms", "--db-path", db, "200000")
	if code != 0 || out != keep+"\n" || !strings.Contains(errOut, "waiting for it") || !strings.Contains(errOut, "stay tracked until the next run (1)") {
		t.Errorf("size-lookup --wait=50ms while locked: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = runBedup(t, "size-lookup", "--json", "--db-path", db, "200000")
	doc := checkDocument(t, set, "size-lookup", out)
	if n, _ := doc["notices"].([]any); code != 0 || errOut != "" || len(n) != 1 || len(doc["files"].([]any)) != 1 {
		t.Errorf("size-lookup --json while locked: exit %d, stderr %q, %s", code, errOut, out)
	}
	if after, _ := os.ReadFile(db); string(after) != string(before) {
		t.Error("size-lookup changed the database while another run held it")
	}
	holder.Close()

	out, errOut, code = runBedup(t, "size-lookup", "--db-path", db, "200000")
	if code != 0 || out != keep+"\n" || errOut != "" {
		t.Errorf("size-lookup alone: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	d, err := store.Open(context.Background(), db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if rows, err := d.InodesOfSize(context.Background(), 200000); err != nil || len(rows) != 1 {
		t.Errorf("after size-lookup alone: %d rows, %v; want the deleted file's row dropped", len(rows), err)
	}
}

// TestShowFIFO: show --db-path naming a FIFO fails at once with one line
// (it used to wait forever for a writer to open the FIFO, and a SIGTERM
// did not end it). The guard is a hang detector, not a timing check.
func TestShowFIFO(t *testing.T) {
	fs := testfs.New(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"show", "--db-path", fifo},
		{"size-lookup", "--db-path", fifo, "1"},
		{"scan", "--db-path", fifo, fs.Mnt},
	} {
		cmd, out, errb := bedupProcess(args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(2 * time.Minute):
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				<-done
				t.Fatalf("bedup %s hangs, and SIGTERM does not end it", strings.Join(args, " "))
			}
			t.Fatalf("bedup %s hangs (SIGTERM ended it: %v)", strings.Join(args, " "), err)
		}
		var ee *exec.ExitError
		want := "bedup: " + args[0] + ": database " + fifo + ": not a regular file (a named pipe)\n"
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || errb.String() != want || out.Len() != 0 {
			t.Errorf("bedup %s: %v, stdout %q, stderr %q; want exit 1 and %q", strings.Join(args, " "), err, out, errb, want)
		}
	}
}
