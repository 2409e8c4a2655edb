package run

import (
	"context"
	"errors"
	"fmt"
	"path"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/volume"
)

// TrackedFile is a tracked file found on a mounted filesystem.
type TrackedFile struct {
	FS       FilesystemRef
	SubvolID uint64
	Ino      uint64
	Size     uint64
	Path     string // the best path to it: through a mount when one shows it
}

// SizeLookup calls fn with every tracked file of exactly size bytes on a
// mounted filesystem, by filesystem, subvolume and inode. Files that no
// longer exist are dropped from the database; a file that cannot be
// opened or named is reported as a notice and left out.
func SizeLookup(ctx context.Context, db *store.DB, size uint64, rep Reporter, fn func(TrackedFile) error) error {
	rows, err := db.InodesOfSize(ctx, size)
	if err != nil {
		return err
	}
	mounted, err := volume.Mounted()
	if err != nil {
		return err
	}
	defer mounted.Close()
	byUUID := map[string]*volume.Filesystem{}
	for _, f := range mounted.Filesystems {
		byUUID[f.UUID] = f
	}
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		f := byUUID[r.FSUUID]
		if f == nil {
			continue // not mounted
		}
		subPath, found, err := subvolumePath(f, r.RootID)
		if err != nil {
			return err
		}
		if !found {
			continue // the subvolume is gone
		}
		p, err := inodePath(f, r.RootID, r.Ino, r.Generation)
		if gone(err) {
			if err := db.DeleteInode(ctx, r.VolID, r.Ino); err != nil {
				return err
			}
			continue
		}
		ref := FilesystemRef{UUID: f.UUID, Label: f.Label, Desc: f.Desc()}
		if err != nil {
			rep.Notice(Notice{Code: NoticeFileError, Subject: fmt.Sprintf("%s/<inode %d>", f.Describe(subPath), r.Ino), Err: err})
			continue
		}
		tf := TrackedFile{FS: ref, SubvolID: r.RootID, Ino: r.Ino, Size: r.Size, Path: path.Join(f.Describe(subPath), p)}
		if err := fn(tf); err != nil {
			return err
		}
	}
	return nil
}

// subvolumePath is the path of a live subvolume from the top level.
func subvolumePath(f *volume.Filesystem, rootID uint64) (string, bool, error) {
	subs, err := f.Subvolumes()
	if err != nil {
		return "", false, err
	}
	for _, s := range subs {
		if s.ID == rootID && !s.Deleted {
			return s.Path, true, nil
		}
	}
	return "", false, nil
}

// inodePath opens an inode by handle and returns its first path inside its
// subvolume.
func inodePath(f *volume.Filesystem, rootID, ino, generation uint64) (string, error) {
	file, err := btrfs.OpenByHandle(f.Top(), rootID, ino, generation)
	if err != nil {
		return "", err
	}
	defer file.Close()
	paths, _, err := btrfs.InoPaths(file, ino)
	if err != nil {
		return "", fmt.Errorf("path of inode %d: %w", ino, err)
	}
	if len(paths) == 0 {
		return "", fmt.Errorf("path of inode %d: %w", ino, unix.ENOENT)
	}
	return paths[0], nil
}

// gone reports whether an open by handle failed because the inode no
// longer exists (or is no longer a regular file).
func gone(err error) bool {
	return errors.Is(err, unix.ESTALE) || errors.Is(err, unix.ENOENT) || errors.Is(err, btrfs.ErrNotRegular)
}
