package cli

import (
	"context"
	"errors"
	"os"
	"syscall"
)

// Signalled is the cause main gives the context it cancels when a signal
// asks bedup to stop (context.WithCancelCause). It is a context.Canceled:
// an interrupted run exits 130, unless the command ends cleanly on that
// signal (a watch on SIGTERM: ErrStopped).
type Signalled struct{ Signal os.Signal }

// Error says how the run was stopped: "interrupted" or "terminated".
func (e *Signalled) Error() string {
	if e.Signal == syscall.SIGTERM {
		return "terminated"
	}
	return "interrupted"
}

// Unwrap makes a Signalled a context.Canceled.
func (e *Signalled) Unwrap() error { return context.Canceled }

// ErrStopped is what a command returns when it ended as asked: a watch
// stopped by SIGTERM, its normal end. main exits 0 on it.
var ErrStopped = errors.New("stopped as asked")

// IsStopped reports whether err is ErrStopped.
func IsStopped(err error) bool { return errors.Is(err, ErrStopped) }

// terminated reports whether ctx was cancelled by SIGTERM.
func terminated(ctx context.Context) bool {
	var s *Signalled
	return errors.As(context.Cause(ctx), &s) && s.Signal == syscall.SIGTERM
}
