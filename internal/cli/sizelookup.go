package cli

import (
	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/run"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/ui"
)

func (a *app) sizeLookupCmd() *cobra.Command {
	var db dbFlags
	var out outputFlags
	var zero bool
	cmd := &cobra.Command{
		Use:   "size-lookup [-0|--zero-terminated] SIZE",
		Short: "List the tracked files of one size",
		Long: `Print the path of every tracked file of exactly SIZE bytes (K, M, G suffixes
allowed), by filesystem and subvolume. Files on filesystems that are not
mounted are left out; files that no longer exist are dropped from the
database (unless another bedup is writing it: then the next run does it).
Without a database nothing is printed, and none is made. Names that could
break a line are quoted with escapes unless -0 is given. With --json, one
JSON document (docs/json.md).`,
		Args: argsRange(1, 1),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			size, err := parseSize(args[0])
			if err != nil {
				return err
			}
			p, err := a.printer(cmd, &out, ui.Options{Zero: zero, List: "files", Header: map[string]any{"size": size}})
			if err != nil {
				return err
			}
			d, ok, err := db.openReadOnly(ctx)
			if err != nil || !ok {
				return err // no database: nothing tracked, nothing to print
			}
			defer d.Close()
			gone, err := run.SizeLookup(ctx, d, size, p, func(f run.TrackedFile) error {
				p.TrackedFile(f)
				return nil
			})
			if cerr := d.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			return run.ForgetGone(ctx, func() (*store.DB, error) { return db.open(ctx, p) }, gone, p)
		}),
	}
	db.add(cmd)
	db.addWait(cmd)
	out.add(cmd, false)
	cmd.Flags().BoolVarP(&zero, "zero-terminated", "0", false, "end each path with NUL instead of a newline")
	return cmd
}
