package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
)

// bedupProcess starts the test binary as bedup in its own process.
func bedupProcess(args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "BEDUP_RUN_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, &out, &errb
}

// TestScanInterrupt sends SIGINT to a first scan of 150,000 files once it
// has started writing to the database: bedup exits 130, the database is
// sound, and the next scan completes the job.
func TestScanInterrupt(t *testing.T) {
	const n = 150000
	fs := testfs.MountImage(t, testfs.ManyFilesImage(t, n))
	db := filepath.Join(t.TempDir(), "db.sqlite")
	cmd, out, errb := bedupProcess("scan", "--size-cutoff", "1", "--db-path", db, "vol:"+fs.Mnt)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until scan batches reach the write-ahead log.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if st, err := os.Stat(db + "-wal"); err == nil && st.Size() > 1<<20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the scan never wrote to the database")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("interrupted scan: %v (want exit 130)\nstdout: %s\nstderr: %s", err, out, errb)
	}
	if errb.String() != "bedup: interrupted\n" || out.Len() != 0 {
		t.Errorf("interrupted scan printed stdout %q, stderr %q", out, errb)
	}

	cmd, out, errb = bedupProcess("scan", "--db-path", db, "vol:"+fs.Mnt)
	if err := cmd.Run(); err != nil {
		t.Fatalf("scan after the interrupt: %v\n%s", err, errb)
	}
	if !strings.Contains(out.String(), "generations 0 to ") {
		t.Errorf("scan after the interrupt did not start over: %q", out)
	}
	cmd, out, errb = bedupProcess("show", "--db-path", db, fs.Mnt)
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "tracking 150000 inodes of size at least 1 B ") {
		t.Errorf("after the interrupted scan and a full one: %v %q %s", err, out, errb)
	}
	d, err := store.Open(context.Background(), db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if s, err := d.IntegrityCheck(context.Background()); err != nil || s != "ok" {
		t.Errorf("integrity check: %q, %v", s, err)
	}
}

// TestDedupInterrupt sends SIGINT to a dedup of 1000 size groups once its
// first window is committed: bedup exits 130, every pair is either fully
// shared or untouched, and the next run finishes the job.
func TestDedupInterrupt(t *testing.T) {
	fs := testfs.New(t, testfs.Options{SizeMiB: 1024})
	const groups = 1000
	var pairs [][2]string
	for i := range groups {
		data := testfs.Bytes(uint64(i), 64<<10+i)
		a := testfs.WriteFile(t, fs.Path(fmt.Sprintf("a/%04d", i)), data)
		b := testfs.WriteFile(t, fs.Path(fmt.Sprintf("b/%04d", i)), data)
		pairs = append(pairs, [2]string{a, b})
	}
	fs.Sync(t)
	db := filepath.Join(t.TempDir(), "db.sqlite")
	cmd, out, errb := bedupProcess("dedup", "--size-cutoff", "4K", "--db-path", db, fs.Mnt)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the first committed window of results.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if events(t, db) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no dedup results were ever committed")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("interrupted dedup: %v (want exit 130)\nstdout: %s\nstderr: %s", err, out, errb)
	}
	if !strings.HasSuffix(errb.String(), "bedup: interrupted\n") {
		t.Errorf("stderr %q", errb)
	}
	shared := 0
	for _, p := range pairs {
		switch {
		case testfs.Shares(t, p[0], p[1]):
			shared++
		case overlaps(t, p[0], p[1]):
			t.Fatalf("%s is half shared with %s", p[1], p[0])
		}
	}
	if shared == 0 || shared == groups {
		t.Errorf("%d of %d pairs shared at the interrupt: the test did not interrupt a run", shared, groups)
	}
	cmd, out, errb = bedupProcess("dedup", "--db-path", db, fs.Mnt)
	if err := cmd.Run(); err != nil {
		t.Fatalf("dedup after the interrupt: %v\n%s", err, errb)
	}
	for _, p := range pairs {
		if !testfs.Shares(t, p[0], p[1]) {
			t.Fatalf("%s not shared after the second run\n%s", p[1], out)
		}
	}
}

// events counts the dedup events committed so far.
func events(t *testing.T, db string) int64 {
	t.Helper()
	if _, err := os.Stat(db); err != nil {
		return 0
	}
	d, err := store.Open(context.Background(), db, store.Options{ReadOnly: true})
	if err != nil {
		return 0
	}
	defer d.Close()
	fss, err := d.Filesystems(context.Background())
	if err != nil || len(fss) == 0 {
		return 0
	}
	tot, err := d.Totals(context.Background(), fss[0].ID)
	if err != nil {
		return 0
	}
	return tot.Events
}

// overlaps reports whether any byte of b lies on an extent of a.
func overlaps(t *testing.T, a, b string) bool {
	t.Helper()
	for _, ea := range testfs.Extents(t, a) {
		for _, eb := range testfs.Extents(t, b) {
			if eb.Physical < ea.Physical+ea.Length && ea.Physical < eb.Physical+eb.Length {
				return true
			}
		}
	}
	return false
}
