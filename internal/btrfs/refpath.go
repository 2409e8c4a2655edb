package btrfs

import (
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// The kernel's path lookups answer in fixed buffers: INO_LOOKUP has 4080
// bytes for the path and fails with ENAMETOOLONG beyond; INO_PATHS takes at
// most 4096 bytes (larger sizes are cut down) and leaves out the paths that
// do not fit. A file in a deep enough tree has no path either call can give,
// so this file builds paths from the inode ref items themselves, one
// component (one tree search) at a time, with no length limit.

// refSearchBuf is the first search buffer for one inode's ref items; the
// search grows it when an item (many hard links in one directory) does
// not fit.
const refSearchBuf = 4 << 10

// maxRefDepth bounds a walk up the parent refs. No real tree is that deep
// (each level costs a directory), so reaching it means the refs loop.
const maxRefDepth = 1 << 20

// Link is one name of an inode: Name inside directory Parent.
type Link struct {
	Parent uint64
	Name   []byte
}

// InodeLinks returns every name of inode ino in subvolume tree (0 = the
// subvolume f is in), from its INODE_REF items (parent in the key) and then
// its INODE_EXTREF items (parent in the payload), in key order. Only
// committed items are seen. Needs CAP_SYS_ADMIN.
func InodeLinks(f *os.File, tree, ino uint64) ([]Link, error) {
	s := NewSearch(f, SearchRange{
		TreeID: tree,
		Min:    Key{ObjectID: ino, Type: InodeRefKey},
		Max:    Key{ObjectID: ino, Type: InodeExtrefKey, Offset: ^uint64(0)},
	}, refSearchBuf)
	var links []Link
	for s.Next() {
		it := s.Item()
		if it.Key.ObjectID != ino {
			continue
		}
		switch it.Key.Type {
		case InodeRefKey:
			refs, err := DecodeInodeRefs(it.Data)
			if err != nil {
				return nil, fmt.Errorf("names of inode %d: %w", ino, err)
			}
			for _, r := range refs {
				links = append(links, Link{Parent: it.Key.Offset, Name: slices.Clone(r.Name)})
			}
		case InodeExtrefKey:
			refs, err := DecodeInodeExtrefs(it.Data)
			if err != nil {
				return nil, fmt.Errorf("names of inode %d: %w", ino, err)
			}
			for _, r := range refs {
				links = append(links, Link{Parent: r.Parent, Name: slices.Clone(r.Name)})
			}
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("names of inode %d: %w", ino, err)
	}
	return links, nil
}

// RefPath returns the path of inode ino relative to the root of subvolume
// tree (0 = the subvolume f is in), following the first name of the inode
// and of each ancestor directory: what INO_LOOKUP answers, without its
// length limit. ENOENT means the inode (or an ancestor) has no name: it
// was deleted. Needs CAP_SYS_ADMIN.
func RefPath(f *os.File, tree, ino uint64) (string, error) {
	if ino == FirstFreeObjectID {
		return "", nil
	}
	links, err := InodeLinks(f, tree, ino)
	if err != nil {
		return "", err
	}
	if len(links) == 0 {
		return "", fmt.Errorf("names of inode %d: %w", ino, unix.ENOENT)
	}
	return joinParent(f, tree, links[0])
}

// RefPaths returns every path of inode ino (one per name) relative to the
// root of subvolume tree (0 = the subvolume f is in): what INO_PATHS
// answers, without its length limit. Needs CAP_SYS_ADMIN.
func RefPaths(f *os.File, tree, ino uint64) ([]string, error) {
	links, err := InodeLinks(f, tree, ino)
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(links))
	for _, l := range links {
		p, err := joinParent(f, tree, l)
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// joinParent builds the path of link l: its parent directory's path, from
// the first name of each directory up to the subvolume root, then l's name.
func joinParent(f *os.File, tree uint64, l Link) (string, error) {
	parts := [][]byte{l.Name}
	n := len(l.Name)
	for dir := l.Parent; dir != FirstFreeObjectID; {
		if len(parts) > maxRefDepth {
			return "", fmt.Errorf("path of directory %d: more than %d levels: the refs loop", l.Parent, maxRefDepth)
		}
		links, err := InodeLinks(f, tree, dir)
		if err != nil {
			return "", err
		}
		if len(links) == 0 {
			return "", fmt.Errorf("names of directory %d: %w", dir, unix.ENOENT)
		}
		parts = append(parts, links[0].Name)
		n += 1 + len(links[0].Name)
		dir = links[0].Parent
	}
	b := make([]byte, 0, n)
	for i := len(parts) - 1; i >= 0; i-- {
		b = append(b, parts[i]...)
		if i > 0 {
			b = append(b, '/')
		}
	}
	return string(b), nil
}
