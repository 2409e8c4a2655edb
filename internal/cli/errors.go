package cli

import (
	"errors"
	"fmt"

	"github.com/bedup/bedup/internal/run"
)

// UsageError marks a command line that cannot be run as given (unknown flag,
// wrong number of arguments, a value of the wrong kind). main exits 2 on it.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usagef builds a UsageError.
func usagef(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// IsUsage reports whether err is a usage error.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// IsDeferred reports whether err ends a dedup that finished but kept some
// files for the next run (run.DeferredError): no failure, but not all done.
func IsDeferred(err error) bool {
	var d *run.DeferredError
	return errors.As(err, &d)
}
