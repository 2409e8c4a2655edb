package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOpenWait holds the writer's lock with one open DB and opens the
// database again with Options.Wait: the second open succeeds once the
// first is closed, gives up with the usual locked error when its wait is
// over, and returns the context's error when the context is cancelled
// while it waits.
func TestOpenWait(t *testing.T) {
	for _, c := range []struct {
		name string
		wait time.Duration
		// onWait: what happens once the second open waits.
		onWait  func(first *DB, cancel context.CancelFunc)
		wantErr error // nil: the second open succeeds
	}{
		{"released", WaitForever, func(first *DB, _ context.CancelFunc) { first.Close() }, nil},
		{"released within the wait", time.Hour, func(first *DB, _ context.CancelFunc) { first.Close() }, nil},
		{"wait over", 50 * time.Millisecond, func(*DB, context.CancelFunc) {}, ErrLocked},
		{"no wait", 0, func(*DB, context.CancelFunc) { t.Error("no wait, but OnWait was called") }, ErrLocked},
		{"cancelled", WaitForever, func(_ *DB, cancel context.CancelFunc) { cancel() }, context.Canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "db.sqlite")
			first, err := Open(context.Background(), path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var holder string
			waiting := make(chan struct{})
			type result struct {
				d   *DB
				err error
			}
			done := make(chan result, 1)
			go func() {
				d, err := Open(ctx, path, Options{Wait: c.wait, OnWait: func(h string) {
					holder = h
					close(waiting)
				}})
				done <- result{d, err}
			}()
			var r result
			select {
			case <-waiting:
				c.onWait(first, cancel)
				r = <-done
			case r = <-done:
			}
			if c.wait != 0 && holder != "pid "+strconv.Itoa(os.Getpid()) {
				t.Errorf("OnWait was told the holder is %q, want this process", holder)
			}
			if c.wantErr == nil {
				if r.err != nil {
					t.Fatalf("second open: %v", r.err)
				}
				defer r.d.Close()
				if s, err := r.d.IntegrityCheck(context.Background()); err != nil || s != "ok" {
					t.Errorf("integrity check after the wait: %q, %v", s, err)
				}
				return
			}
			if r.err == nil {
				r.d.Close()
				t.Fatalf("second open succeeded, want %v", c.wantErr)
			}
			if !errors.Is(r.err, c.wantErr) {
				t.Errorf("second open: %v, want %v", r.err, c.wantErr)
			}
			if c.wantErr == ErrLocked && !strings.Contains(r.err.Error(), "in use by bedup (pid "+strconv.Itoa(os.Getpid())+")") {
				t.Errorf("locked error does not name the holder: %v", r.err)
			}
		})
	}
}
