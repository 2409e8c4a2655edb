package store

import (
	"os"

	"github.com/bedup/bedup/internal/btrfs"
)

// sharedMemoryInPlace creates the database's "-shm" file (SQLite's WAL
// index, which it maps into memory) empty and NOCOW, when it does not
// exist yet. On a copy-on-write filesystem every write to a mapped page
// needs new space, and on a full filesystem the kernel's only answer is
// SIGBUS, which kills the process (measured: a dedup whose database was on
// the Btrfs it filled died that way, exit 2, in SQLite's walTryBeginRead).
// A NOCOW file is written in place once SQLite has allocated its blocks
// (it grows the file with fallocate and keeps the inode when it
// truncates), so a full filesystem fails SQLite's writes with an error
// instead. Errors are ignored: elsewhere than on Btrfs, or when the file
// exists (another process has the database open), nothing changes. It
// reports whether it created the file.
func sharedMemoryInPlace(path string) bool {
	f, err := os.OpenFile(path+"-shm", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false
	}
	defer f.Close()
	if flags, err := btrfs.GetFlags(f); err == nil {
		btrfs.SetFlags(f, flags|btrfs.FlagNocow)
	}
	return true
}
