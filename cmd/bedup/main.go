// Command bedup deduplicates files on Btrfs. The work lives in internal/;
// this file only ties the process to it: signals, streams, exit codes.
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/bedup/bedup/internal/cli"
)

func main() {
	limitMemory()
	os.Exit(run())
}

// memoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT
// says otherwise. A pass holds a bounded number of windows, so its live
// heap is bounded too (about 15-30 MiB on 200,000 small files), but the
// collector's default pacing lets the heap grow to twice the live size
// between collections: 80 MiB of RSS where 55 suffice. Past the limit the
// collector works harder, never with more than half the CPU.
const memoryLimit = 40 << 20

// limitMemory sets memoryLimit, unless the environment sets a limit.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}

// run is main without the exit, so testscript can call it in-process.
func run() int {
	// The first SIGINT or SIGTERM asks for a clean stop: it cancels the
	// context, naming the signal as the cause (a watch ends on SIGTERM as
	// it should, on SIGINT as interrupted); a second one kills at once.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			signal.Stop(sigs)
			cancel(&cli.Signalled{Signal: s})
		case <-ctx.Done():
		}
	}()
	err := cli.Run(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	return exitCode(err)
}

// exitCode is the one place errors become exit statuses (DESIGN.md §4.12).
func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case cli.IsStopped(err):
		return 0 // a watch stopped by SIGTERM: its normal end
	case errors.Is(err, context.Canceled):
		return 130
	case cli.IsUsage(err):
		return 2
	case cli.IsDeferred(err):
		return 3 // finished, some files deferred to the next run
	default:
		return 1
	}
}
