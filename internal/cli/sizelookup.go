package cli

import (
	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/run"
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
database. Names that could break a line are quoted with escapes unless -0
is given. With --json, one JSON document (docs/json.md).`,
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
			d, err := db.open(ctx, p)
			if err != nil {
				return err
			}
			defer d.Close()
			return run.SizeLookup(ctx, d, size, p, func(f run.TrackedFile) error {
				p.TrackedFile(f)
				return nil
			})
		}),
	}
	db.add(cmd)
	db.addWait(cmd)
	out.add(cmd, false)
	cmd.Flags().BoolVarP(&zero, "zero-terminated", "0", false, "end each path with NUL instead of a newline")
	return cmd
}
