package btrfs_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
)

// wrappings are the ways the packages hand an errno on: bare, with
// context, from the os package, and twice over.
var wrappings = []struct {
	name string
	wrap func(error) error
}{
	{"bare", func(err error) error { return err }},
	{"%w", func(err error) error { return fmt.Errorf("fideduperange: %w", err) }},
	{"PathError", func(err error) error { return &os.PathError{Op: "open", Path: "a", Err: err} }},
	{"SyscallError", func(err error) error { return os.NewSyscallError("syncfs", err) }},
	{"%w of PathError", func(err error) error {
		return fmt.Errorf("inode 5: %w", &os.PathError{Op: "open", Path: "a", Err: err})
	}},
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		want btrfs.Failure
	}{
		{unix.ESTALE, btrfs.FailGone},
		{unix.ENOENT, btrfs.FailGone},
		{btrfs.ErrNotRegular, btrfs.FailGone},
		{unix.EISDIR, btrfs.FailGone},
		{unix.EPERM, btrfs.FailImmutable},
		{unix.ETXTBSY, btrfs.FailSwapFile},
		{unix.EAGAIN, btrfs.FailBusy},
		{unix.EWOULDBLOCK, btrfs.FailBusy},
		{unix.EROFS, btrfs.FailReadOnly},
		{unix.ENOSPC, btrfs.FailNoSpace},
		{unix.EDQUOT, btrfs.FailNoSpace},
		{unix.EXDEV, btrfs.FailOtherFS},
		{unix.EIO, btrfs.FailIO},
		{unix.EINVAL, btrfs.FailOther},
		{unix.ENOMEM, btrfs.FailOther},
		{unix.ENOTDIR, btrfs.FailOther},
		{unix.EACCES, btrfs.FailOther},
		{errors.New("fideduperange: unknown status 2"), btrfs.FailOther},
	} {
		for _, w := range wrappings {
			err := w.wrap(c.err)
			if got := btrfs.Classify(err); got != c.want {
				t.Errorf("Classify(%v, %s) = %v, want %v", c.err, w.name, got, c.want)
			}
			if got := btrfs.IsGone(err); got != (c.want == btrfs.FailGone) {
				t.Errorf("IsGone(%v, %s) = %v", c.err, w.name, got)
			}
		}
	}
}

func TestClassifyNil(t *testing.T) {
	if got := btrfs.Classify(nil); got != btrfs.FailNone {
		t.Errorf("Classify(nil) = %v, want %v", got, btrfs.FailNone)
	}
	if btrfs.IsGone(nil) {
		t.Error("IsGone(nil)")
	}
}

// An error carrying several errnos gets the kind declared first.
func TestClassifyJoined(t *testing.T) {
	for _, c := range []struct {
		err  error
		want btrfs.Failure
	}{
		{errors.Join(unix.EIO, unix.ENOENT), btrfs.FailGone},
		{errors.Join(unix.EIO, unix.EROFS), btrfs.FailReadOnly},
		{errors.Join(unix.EINVAL, unix.EXDEV), btrfs.FailOtherFS},
	} {
		if got := btrfs.Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestFailureString(t *testing.T) {
	seen := map[string]bool{}
	for f := btrfs.FailNone; f <= btrfs.FailOther; f++ {
		s := f.String()
		if s == "" || s == "unknown" || seen[s] {
			t.Errorf("Failure(%d).String() = %q", int(f), s)
		}
		seen[s] = true
	}
	if s := (btrfs.FailOther + 1).String(); s != "unknown" {
		t.Errorf("past the last kind: %q", s)
	}
}
