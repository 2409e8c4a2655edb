package btrfs

import (
	"bytes"
	"fmt"

	"golang.org/x/sys/unix"
)

// Xattrs returns every extended attribute of path (not following a final
// symlink). Tests use it to prove that deduplication changes no metadata.
func Xattrs(path string) (map[string][]byte, error) {
	size, err := unix.Llistxattr(path, nil)
	if err != nil {
		return nil, fmt.Errorf("list xattrs of %s: %w", path, err)
	}
	names := make([]byte, size)
	if size, err = unix.Llistxattr(path, names); err != nil {
		return nil, fmt.Errorf("list xattrs of %s: %w", path, err)
	}
	out := map[string][]byte{}
	for _, name := range bytes.Split(names[:size], []byte{0}) {
		if len(name) == 0 {
			continue
		}
		n, err := unix.Lgetxattr(path, string(name), nil)
		if err != nil {
			return nil, fmt.Errorf("get xattr %s of %s: %w", name, path, err)
		}
		v := make([]byte, n)
		if n, err = unix.Lgetxattr(path, string(name), v); err != nil {
			return nil, fmt.Errorf("get xattr %s of %s: %w", name, path, err)
		}
		out[string(name)] = v[:n]
	}
	return out, nil
}

// SetXattr sets one extended attribute of path.
func SetXattr(path, name string, value []byte) error {
	if err := unix.Lsetxattr(path, name, value, 0); err != nil {
		return fmt.Errorf("set xattr %s of %s: %w", name, path, err)
	}
	return nil
}
