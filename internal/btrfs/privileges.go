package btrfs

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNeedRoot is wrapped by CheckPrivileges when the process lacks a
// capability bedup's ioctls need.
var ErrNeedRoot = errors.New("root privileges needed")

// requiredCaps are the capabilities bedup's kernel calls need: tree search
// and the other Btrfs ioctls want CAP_SYS_ADMIN, open_by_handle_at wants
// CAP_DAC_READ_SEARCH. Root has both.
var requiredCaps = []struct {
	bit  uint
	name string
}{
	{unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
	{unix.CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH"},
}

// CheckPrivileges reports, once and up front, whether this process may
// make the calls bedup needs: Btrfs tree search, opening files by handle
// and sharing extents of files it does not own. Without them it returns an
// error wrapping ErrNeedRoot that names the missing capabilities.
func CheckPrivileges() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	return missingCaps(uint64(data[1].Effective)<<32 | uint64(data[0].Effective))
}

// missingCaps checks an effective capability set (bit n = capability n).
func missingCaps(effective uint64) error {
	var missing []string
	for _, c := range requiredCaps {
		if effective&(1<<c.bit) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%w (missing %s): Btrfs tree search, opening files by handle and the dedupe ioctl need CAP_SYS_ADMIN and CAP_DAC_READ_SEARCH",
		ErrNeedRoot, strings.Join(missing, " and "))
}
