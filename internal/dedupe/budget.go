package dedupe

import "github.com/bedup/bedup/internal/btrfs"

// Descriptors kept open between a window's phases, for all the windows
// in flight (see prepareAhead): at most maxOpenWindow, and never so many
// that the process's limit is reached. A file whose window found the
// budget spent is opened again to be shared.
// A size group of any size (a user can make a hundred thousand identical
// files) must not starve the share itself, which opens up to
// btrfs.MaxDedupeDests destinations at once, nor the readers, the
// volumes and the database.
const (
	maxOpenWindow = 16384
	reservedFDs   = btrfs.MaxDedupeDests + 1 + 128
)

// openBudget is how many descriptors a window may keep open under a
// descriptor limit of limit.
func openBudget(limit uint64) int {
	if limit <= reservedFDs {
		return 0
	}
	return int(min(limit-reservedFDs, maxOpenWindow))
}
