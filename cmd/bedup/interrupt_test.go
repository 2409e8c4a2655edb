package main

import (
	"bytes"
	"context"
	"errors"
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
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "tracking 150000 inodes of size at least 1 ") {
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
