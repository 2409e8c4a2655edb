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

// NoticeNotForgotten: Count tracked files that no longer exist stay in
// the database, which another run holds (Err); the next run drops them.
const NoticeNotForgotten NoticeCode = "not-forgotten"

// SizeLookup calls fn with every tracked file of exactly size bytes on a
// mounted filesystem, by filesystem, subvolume and inode, reading db (which
// may be read-only). It returns the rows of files that no longer exist, for
// ForgetGone; a file that cannot be opened or named is reported as a
// notice and left out.
func SizeLookup(ctx context.Context, db *store.DB, size uint64, rep Reporter, fn func(TrackedFile) error) (gone []store.TrackedInode, err error) {
	rows, err := db.InodesOfSize(ctx, size)
	if err != nil {
		return nil, err
	}
	mounted, err := volume.Mounted()
	if err != nil {
		return nil, err
	}
	defer mounted.Close()
	byUUID := map[string]*volume.Filesystem{}
	for _, f := range mounted.Filesystems {
		byUUID[f.UUID] = f
	}
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f := byUUID[r.FSUUID]
		if f == nil {
			continue // not mounted
		}
		subPath, found, err := subvolumePath(f, r.RootID)
		if err != nil {
			return nil, err
		}
		if !found {
			continue // the subvolume is gone
		}
		p, err := inodePath(f, r.RootID, r.Ino, r.Generation)
		if btrfs.IsGone(err) {
			gone = append(gone, r)
			continue
		}
		ref := FilesystemRef{UUID: f.UUID, Label: f.Label, Desc: f.Desc()}
		if err != nil {
			rep.Notice(Notice{Code: NoticeFileError, Subject: fmt.Sprintf("%s/<inode %d>", f.Describe(subPath), r.Ino), Err: err})
			continue
		}
		tf := TrackedFile{FS: ref, SubvolID: r.RootID, Ino: r.Ino, Size: r.Size, Path: path.Join(f.Describe(subPath), p)}
		if err := fn(tf); err != nil {
			return nil, err
		}
	}
	return gone, nil
}

// ForgetGone drops the rows SizeLookup found gone from the database, which
// open opens for writing. When another run holds the database, nothing is
// dropped and rep is told: the rows wait for the next run.
func ForgetGone(ctx context.Context, open func() (*store.DB, error), gone []store.TrackedInode, rep Reporter) error {
	if len(gone) == 0 {
		return nil
	}
	db, err := open()
	if errors.Is(err, store.ErrLocked) {
		rep.Notice(Notice{Code: NoticeNotForgotten, Count: len(gone), Err: err})
		return nil
	}
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.ForgetInodes(ctx, gone); err != nil {
		return err
	}
	return db.Close()
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
