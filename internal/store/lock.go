package store

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/bedup/bedup/internal/btrfs"
)

// WaitForever, as Options.Wait, waits for the writer's lock until the
// context is done.
const WaitForever time.Duration = -1

// The lock is polled: a blocking flock cannot be given up when the
// context is cancelled. The first retries come quickly, so that a short
// command finishing meanwhile costs little; later ones come at most every
// maxLockPoll.
const (
	firstLockPoll = 10 * time.Millisecond
	maxLockPoll   = 500 * time.Millisecond
)

// lock takes the exclusive flock on f, the database file at path. Another
// process holding it makes lock fail at once with ErrLocked, or, with
// o.Wait, retry until the lock is free, o.Wait has passed (ErrLocked) or
// ctx is done (its error).
func lock(ctx context.Context, f *os.File, path string, o Options) error {
	var deadline time.Time
	if o.Wait > 0 {
		deadline = time.Now().Add(o.Wait)
	}
	poll := firstLockPoll
	for first := true; ; first = false {
		ok, err := btrfs.TryLock(f)
		if err != nil {
			return fmt.Errorf("database %s: %w", path, err)
		}
		if ok {
			return nil
		}
		holder := "another process"
		if pid := lockHolder(f); pid != "" {
			holder = "pid " + pid
		}
		left := time.Until(deadline)
		if o.Wait == 0 || (o.Wait > 0 && left <= 0) {
			return fmt.Errorf("database %s: %w by bedup (%s)", path, ErrLocked, holder)
		}
		if first && o.OnWait != nil {
			o.OnWait(holder)
		}
		sleep := poll
		if o.Wait > 0 && left < sleep {
			sleep = left
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("database %s: waiting for bedup (%s) to release it: %w", path, holder, ctx.Err())
		case <-t.C:
		}
		poll = min(2*poll, maxLockPoll)
	}
}
