// Command bedup deduplicates files on Btrfs. The work lives in internal/;
// this file only ties the process to it: signals, streams, exit codes.
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/bedup/bedup/internal/cli"
)

func main() {
	os.Exit(run())
}

// run is main without the exit, so testscript can call it in-process.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first Ctrl-C asks for a clean stop; a second one kills at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := cli.Run(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	return exitCode(err)
}

// exitCode is the one place errors become exit statuses (DESIGN.md §4.12).
func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
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
