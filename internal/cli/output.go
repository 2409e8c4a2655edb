package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
)

// checkedWriter is standard output for the lines a command prints without
// a printer (reset, forget-fs): it keeps the first write error, which the
// command returns, so a full disk or a closed pipe is not a silent success.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// result is the command's error for the output: nil, or the first write
// error.
func (c *checkedWriter) result() error {
	if c.err != nil {
		return fmt.Errorf("write output: %w", c.err)
	}
	return nil
}

// cancellableWriter is standard output that a cancelled context can get
// out of: a write to a pipe nobody reads blocks in the kernel, where no
// signal reaches it (Go restarts the call), so one SIGTERM could not stop
// a command whose output was stuck. Each write runs on its own goroutine;
// when ctx is done first, the write is abandoned (it may still complete
// later), it and every later write fail with ctx's error, and the command
// can return.
type cancellableWriter struct {
	ctx       context.Context
	w         io.Writer
	abandoned bool
}

type writeResult struct {
	n   int
	err error
}

func (c *cancellableWriter) Write(p []byte) (int, error) {
	if c.abandoned {
		return 0, c.ctx.Err()
	}
	if c.ctx.Done() == nil {
		return c.w.Write(p) // cannot be cancelled
	}
	done := make(chan writeResult, 1)
	b := bytes.Clone(p) // p is the caller's again once Write returns
	go func() {
		n, err := c.w.Write(b)
		done <- writeResult{n, err}
	}()
	select {
	case r := <-done:
		return r.n, r.err
	case <-c.ctx.Done():
		select {
		case r := <-done: // finished meanwhile after all
			return r.n, r.err
		default:
		}
		c.abandoned = true
		return 0, c.ctx.Err()
	}
}
