// Package volume finds and opens the Btrfs subvolumes bedup works on.
package volume

import (
	"errors"
	"fmt"
	"os"

	"github.com/bedup/bedup/internal/btrfs"
)

// ErrNotBtrfs and ErrNotSubvolume describe paths that cannot serve as a
// volume; they are wrapped with the path.
var (
	ErrNotBtrfs     = errors.New("not on a Btrfs filesystem")
	ErrNotSubvolume = errors.New("not the root directory of a Btrfs subvolume")
)

// Subvolume is an open subvolume root directory.
type Subvolume struct {
	Dir  *os.File
	Path string // as given by the user
	FS   btrfs.FSInfo
}

// Close closes the subvolume's directory.
func (s *Subvolume) Close() error { return s.Dir.Close() }

// Open opens path, which must be the root directory of a Btrfs subvolume
// (inode 256 on a Btrfs filesystem).
func Open(path string) (*Subvolume, error) {
	d, err := btrfs.OpenDir(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fs, err := btrfs.GetFSInfo(d)
	if err != nil {
		d.Close()
		if btrfs.IsNotBtrfs(err) {
			return nil, fmt.Errorf("%s: %w", path, ErrNotBtrfs)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st, err := btrfs.Fstat(d)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Ino != btrfs.FirstFreeObjectID {
		d.Close()
		return nil, fmt.Errorf("%s: %w", path, ErrNotSubvolume)
	}
	return &Subvolume{Dir: d, Path: path, FS: fs}, nil
}
