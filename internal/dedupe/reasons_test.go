package dedupe

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
)

// Each kind of kernel failure keeps its skip reason, for a refused share
// (reasonFor) and for a failed open or read (readFailure).
func TestReasonFor(t *testing.T) {
	for _, c := range []struct {
		err         error
		share, read Reason
	}{
		{unix.EPERM, ReasonImmutable, ReasonUnreadable},
		{unix.ETXTBSY, ReasonSwapfile, ReasonUnreadable},
		{unix.EAGAIN, ReasonBusy, ReasonBusy},
		{unix.EROFS, ReasonReadOnlyFS, ReasonReadOnlyFS},
		{unix.ENOSPC, ReasonNoSpace, ReasonNoSpace},
		{unix.EDQUOT, ReasonNoSpace, ReasonNoSpace},
		{unix.EXDEV, ReasonOtherFS, ReasonUnreadable},
		{unix.EIO, ReasonIO, ReasonIO},
		{unix.EINVAL, ReasonRefused, ReasonUnreadable},
		{unix.ENOENT, ReasonRefused, ReasonUnreadable},
		{btrfs.ErrNotRegular, ReasonRefused, ReasonUnreadable},
		{errors.New("anything else"), ReasonRefused, ReasonUnreadable},
		{nil, ReasonRefused, ReasonUnreadable},
	} {
		err := c.err
		if err != nil {
			err = fmt.Errorf("fideduperange: %w", err)
		}
		if got := reasonFor(err); got != c.share {
			t.Errorf("reasonFor(%v) = %s, want %s", err, got, c.share)
		}
		if got := readFailure(err); got != c.read {
			t.Errorf("readFailure(%v) = %s, want %s", err, got, c.read)
		}
	}
}
