package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/run"
	"github.com/bedup/bedup/internal/store"
)

// waitForever is --wait without a value.
const waitForever = "forever"

// waitValue is the value of --wait: how long to wait for the database
// lock (0: not at all; store.WaitForever: until it is free).
type waitValue time.Duration

// String shows the value as --help and Set take it.
func (w *waitValue) String() string {
	switch d := time.Duration(*w); {
	case d < 0:
		return waitForever
	case d == 0:
		return "0"
	default:
		return d.String()
	}
}

// Set parses "forever" or a duration such as 30s, 5m or 1h30m.
func (w *waitValue) Set(s string) error {
	if s == waitForever {
		*w = waitValue(store.WaitForever)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("%q is not a duration such as 30s, 5m or 1h30m", s)
	}
	*w = waitValue(d)
	return nil
}

// Type names the value in --help.
func (w *waitValue) Type() string { return "duration" }

// addWait adds --wait to a command that writes the database.
func (f *dbFlags) addWait(cmd *cobra.Command) {
	cmd.Flags().Var(&f.wait, "wait", "if another bedup is using the database, wait for it (give a limit as --wait=DURATION, e.g. --wait=10m)")
	cmd.Flags().Lookup("wait").NoOptDefVal = waitForever
}

// storeOptions are the options of a writer's store.Open: --wait, and a
// notice to rep (if not nil) when the wait begins.
func (f *dbFlags) storeOptions(path string, create bool, rep run.Reporter) store.Options {
	o := store.Options{CreateDir: create, Wait: time.Duration(f.wait)}
	if rep != nil {
		o.OnWait = func(holder string) {
			rep.Notice(run.Notice{Code: run.NoticeWaitingForLock, Subject: path, Detail: holder})
		}
	}
	return o
}

// opener returns a function that opens the database for writing, for a
// command that opens it again and again (watch). The location is found
// once, so a notice about it is given once.
func (f *dbFlags) opener(rep run.Reporter) (func(context.Context) (*store.DB, error), error) {
	p, create, err := f.location(rep)
	if err != nil {
		return nil, err
	}
	o := f.storeOptions(p, create, rep)
	return func(ctx context.Context) (*store.DB, error) { return store.Open(ctx, p, o) }, nil
}
