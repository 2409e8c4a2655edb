package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bedup/bedup/internal/cli"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
)

// signalWriter is a stream that tells, once, when what was written to it
// contains a given text.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	text string
	seen chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.seen != nil && strings.Contains(w.buf.String(), w.text) {
		close(w.seen)
		w.seen = nil
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestWaitFlag holds the database's lock while commands that write it run
// with --wait: given a limit, they give up after it with the usual locked
// error; without one, they say they wait and go ahead once the lock is
// released. (size-lookup takes the lock only to drop deleted files, and
// skips that when it cannot: TestSizeLookupWhileLocked.)
func TestWaitFlag(t *testing.T) {
	fs := testfs.New(t)
	testfs.WriteFile(t, fs.Path("a"), testfs.Bytes(1, 256<<10))
	db := filepath.Join(t.TempDir(), "db.sqlite")
	ctx := context.Background()
	holder, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Close() }()
	pid := "in use by bedup (pid " + strconv.Itoa(os.Getpid()) + ")"

	for _, args := range [][]string{
		{"scan", "--wait=50ms", fs.Mnt},
		{"dedup", "--wait=50ms", fs.Mnt},
		{"watch", "--wait=50ms", fs.Mnt},
		{"reset", "--yes", "--wait=50ms", fs.Mnt},
		{"forget-fs", "--yes", "--wait=50ms", "01234567-89ab-cdef-0123-456789abcdef"},
	} {
		out, errOut, code := runBedup(t, append(args, "--db-path", db)...)
		if code != 1 || !strings.Contains(errOut, pid) || !strings.Contains(errOut, "waiting for it") {
			t.Errorf("bedup %s with the database held: exit %d, stdout %q, stderr %q; want exit 1, a wait, then the holder",
				strings.Join(args, " "), code, out, errOut)
		}
	}

	errw := &signalWriter{text: "waiting for it", seen: make(chan struct{})}
	waiting := errw.seen
	done := make(chan int, 1)
	var out bytes.Buffer
	go func() {
		done <- exitCode(cli.Run(ctx, []string{"scan", "--wait", "--db-path", db, fs.Mnt},
			cli.Streams{In: strings.NewReader(""), Out: &out, Err: errw}))
	}()
	<-waiting
	holder.Close()
	if code := <-done; code != 0 || !strings.Contains(out.String(), "1 new or changed") {
		t.Errorf("scan --wait after the release: exit %d, stdout %q, stderr %q", code, out.String(), errw)
	}
}

// TestWaitUsage: --wait takes a duration, and only commands that write the
// database have it.
func TestWaitUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"scan", "--wait=soon", "/"}, `invalid argument "soon" for "--wait" flag: "soon" is not a duration`},
		{[]string{"dedup", "--wait=-1s", "/"}, `is not a duration`},
		{[]string{"show", "--wait"}, "unknown flag: --wait"},
		{[]string{"history", "--wait"}, "unknown flag: --wait"},
	} {
		_, errOut, code := runBedup(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.err) {
			t.Errorf("bedup %s: exit %d, stderr %q; want 2 and %q", strings.Join(c.args, " "), code, errOut, c.err)
		}
	}
}
