package cli

import (
	"bufio"
	"errors"
	"fmt"
	"path"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/volume"
)

func (a *app) sizeLookupCmd() *cobra.Command {
	var db dbFlags
	var zero bool
	cmd := &cobra.Command{
		Use:   "size-lookup [-0|--zero-terminated] SIZE",
		Short: "List the tracked files of one size",
		Long: `Print the path of every tracked file of exactly SIZE bytes (K, M, G suffixes
allowed), by filesystem and subvolume. Files on filesystems that are not
mounted are left out; files that no longer exist are dropped from the
database.`,
		Args: argsRange(1, 1),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			size, err := parseSize(args[0])
			if err != nil {
				return &UsageError{Err: err}
			}
			d, err := db.open(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			rows, err := d.InodesOfSize(ctx, size)
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
			w := bufio.NewWriter(a.Out)
			defer w.Flush()
			sep := "\n"
			if zero {
				sep = "\x00"
			}
			for _, r := range rows {
				if err := ctx.Err(); err != nil {
					return err
				}
				f := byUUID[r.FSUUID]
				if f == nil {
					continue // not mounted
				}
				subs, err := f.Subvolumes()
				if err != nil {
					return err
				}
				subPath, found := "", false
				for _, s := range subs {
					if s.ID == r.RootID && !s.Deleted {
						subPath, found = s.Path, true
					}
				}
				if !found {
					continue // the subvolume is gone
				}
				file, err := btrfs.OpenByHandle(f.Top(), r.RootID, r.Ino, r.Generation)
				if errors.Is(err, unix.ESTALE) || errors.Is(err, unix.ENOENT) || errors.Is(err, btrfs.ErrNotRegular) {
					if err := d.DeleteInode(ctx, r.VolID, r.Ino); err != nil {
						return err
					}
					continue
				}
				if err != nil {
					fmt.Fprintf(a.Err, "bedup: size-lookup: %v\n", err)
					continue
				}
				paths, _, err := btrfs.InoPaths(file, r.Ino)
				file.Close()
				if err != nil || len(paths) == 0 {
					fmt.Fprintf(a.Err, "bedup: size-lookup: path of inode %d of subvolume %d: %v\n", r.Ino, r.RootID, err)
					continue
				}
				fmt.Fprint(w, path.Join(f.Describe(subPath), paths[0]), sep)
			}
			return nil
		}),
	}
	db.add(cmd)
	cmd.Flags().BoolVarP(&zero, "zero-terminated", "0", false, "end each path with NUL instead of a newline")
	return cmd
}
