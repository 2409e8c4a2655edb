package partial

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/dedupe"
)

// A refusal of FIDEDUPERANGE gets the whole-file pass's reason, but a
// full filesystem is "refused" here: it does not stop the file's other
// shares.
func TestDedupeReason(t *testing.T) {
	for _, c := range []struct {
		err  error
		want dedupe.Reason
	}{
		{unix.EPERM, dedupe.ReasonImmutable},
		{unix.ETXTBSY, dedupe.ReasonSwapfile},
		{unix.EAGAIN, dedupe.ReasonBusy},
		{unix.EROFS, dedupe.ReasonReadOnlyFS},
		{unix.EXDEV, dedupe.ReasonOtherFS},
		{unix.EIO, dedupe.ReasonIO},
		{unix.ENOSPC, dedupe.ReasonRefused},
		{unix.EDQUOT, dedupe.ReasonRefused},
		{unix.EINVAL, dedupe.ReasonRefused},
		{unix.ENOENT, dedupe.ReasonRefused},
		{errors.New("fideduperange: unknown status 2"), dedupe.ReasonRefused},
	} {
		err := fmt.Errorf("fideduperange: %w", c.err)
		if got := dedupeReason(err); got != c.want {
			t.Errorf("dedupeReason(%v) = %s, want %s", err, got, c.want)
		}
	}
}
