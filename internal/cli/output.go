package cli

import (
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
