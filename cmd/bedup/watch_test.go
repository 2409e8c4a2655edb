package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bedup/bedup/internal/cli"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
)

// watchOutput reads a running watch's standard output line by line.
type watchOutput struct {
	lines chan string
	all   []string
	json  bool
}

// startWatch starts bedup watch with args in its own process.
func startWatch(t *testing.T, json bool, args ...string) (*exec.Cmd, *watchOutput, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"watch"}, args...)...)
	cmd.Env = append(os.Environ(), "BEDUP_RUN_MAIN=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	w := &watchOutput{lines: make(chan string, 1000), json: json}
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
		close(w.lines)
	}()
	return cmd, w, &stderr
}

var passLine = regexp.MustCompile(`^pass (\d+) at `)

// nextPass waits for the end of the next pass and returns its number.
func (w *watchOutput) nextPass(t *testing.T) int {
	t.Helper()
	hang := time.After(60 * time.Second) // a guard against a hang, not a timing check
	for {
		select {
		case l, ok := <-w.lines:
			if !ok {
				t.Fatalf("the watch ended; its output:\n%s", strings.Join(w.all, "\n"))
			}
			w.all = append(w.all, l)
			if n, ok := passNumber(t, l, w.json); ok {
				return n
			}
		case <-hang:
			t.Fatalf("no pass ended in a minute; output so far:\n%s", strings.Join(w.all, "\n"))
		}
	}
}

// passNumber recognises the line that ends a pass.
func passNumber(t *testing.T, line string, isJSON bool) (int, bool) {
	if !isJSON {
		m := passLine.FindStringSubmatch(line)
		if m == nil {
			return 0, false
		}
		var n int
		fmt.Sscan(m[1], &n)
		return n, true
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		t.Fatalf("not a JSON line: %q: %v", line, err)
	}
	if v["type"] != "summary" {
		return 0, false
	}
	n, ok := v["pass"].(float64)
	if !ok {
		t.Fatalf("a watch's summary without its pass number: %s", line)
	}
	return int(n), true
}

// rest reads what the watch printed after the last pass, until it exits.
func (w *watchOutput) rest() []string {
	for l := range w.lines {
		w.all = append(w.all, l)
	}
	return w.all
}

// TestWatchProcess runs bedup watch with a 1 s interval: files copied in
// while it runs share their data within two passes, and a signal ends it:
// SIGTERM with exit 0 and nothing on standard error, SIGINT with 130; the
// database is sound either way. With --json every line holds to
// docs/json.md.
func TestWatchProcess(t *testing.T) {
	for _, c := range []struct {
		name string
		json bool
		sig  syscall.Signal
		code int
		err  string
	}{
		{"text, SIGTERM", false, syscall.SIGTERM, 0, ""},
		{"JSON, SIGINT", true, syscall.SIGINT, 130, "bedup: interrupted\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := testfs.New(t)
			db := filepath.Join(t.TempDir(), "db.sqlite")
			args := []string{"--interval", "1s", "--size-cutoff", "64K", "--db-path", db, fs.Mnt}
			if c.json {
				args = append(args, "--json")
			}
			cmd, out, stderr := startWatch(t, c.json, args...)
			first := out.nextPass(t)
			data := testfs.Bytes(5, 1<<20)
			a := testfs.WriteFile(t, fs.Path("a"), data)
			b := testfs.WriteFile(t, fs.Path("b"), data)
			for range 2 {
				out.nextPass(t)
			}
			if !testfs.Shares(t, a, b) {
				t.Errorf("files written after pass %d not shared two passes later:\n%s", first, strings.Join(out.all, "\n"))
			}
			cmd.Process.Signal(c.sig)
			err := cmd.Wait()
			lines := out.rest()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code || stderr.String() != c.err {
				t.Errorf("after %v: exit %d, stderr %q; want %d, %q", c.sig, code, stderr, c.code, c.err)
			}
			if c.json {
				set := schemas(t)
				for _, l := range lines {
					var v map[string]any
					json.Unmarshal([]byte(l), &v)
					if err := set.Validate("event:"+v["type"].(string), v); err != nil {
						t.Errorf("%v\n%s", err, l)
					}
				}
			}
			d, err := store.Open(context.Background(), db, store.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if s, err := d.IntegrityCheck(context.Background()); err != nil || s != "ok" {
				t.Errorf("integrity check: %q, %v", s, err)
			}
		})
	}
}

// TestExitCodeSignals: a signal's stop is an interrupt (130), but a watch
// that ends as asked (SIGTERM) exits 0.
func TestExitCodeSignals(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
	}{
		{&cli.Signalled{Signal: syscall.SIGINT}, 130},
		{&cli.Signalled{Signal: syscall.SIGTERM}, 130},
		{fmt.Errorf("scan: %w", &cli.Signalled{Signal: syscall.SIGINT}), 130},
		{cli.ErrStopped, 0},
		{context.Canceled, 130},
	} {
		if got := exitCode(c.err); got != c.code {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.code)
		}
	}
}
