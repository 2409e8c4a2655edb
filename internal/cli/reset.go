package cli

import (
	"bufio"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/volume"
)

func (a *app) resetCmd() *cobra.Command {
	var db dbFlags
	var yes, includeFrozen bool
	cmd := &cobra.Command{
		Use:   "reset [--yes] FILTER...",
		Short: "Forget what is tracked on subvolumes, so the next scan starts over",
		Long: `Forget the tracked files and the scan position of each subvolume the filters
select, so that the next scan reads it from generation 0. The size cutoff
and the history of what was deduplicated stay. Asks for each subvolume
unless --yes is given; no answer (end of input) means no.

` + filterHelp,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("reset: list the volumes to reset explicitly (see 'bedup reset --help')")
			}
			return nil
		},
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			set, err := a.discover(args, volume.Options{IncludeFrozen: includeFrozen})
			if err != nil {
				return err
			}
			defer set.Close()
			d, err := db.open(ctx, a.textPrinter())
			if err != nil {
				return err
			}
			defer d.Close()
			a.notices(set)
			out := &checkedWriter{w: a.Out}
			in := bufio.NewReader(a.In)
			for _, v := range set.Volumes {
				fs, ok, err := d.FilesystemByUUID(ctx, v.FS.UUID)
				if err != nil {
					return err
				}
				var vol struct{ ID int64 }
				if ok {
					row, found, err := d.VolumeByRoot(ctx, fs.ID, v.ID)
					if err != nil {
						return err
					}
					ok, vol.ID = found, row.ID
				}
				if !ok {
					fmt.Fprintf(out, "%s: not tracked, nothing to reset\n", v.Desc)
					continue
				}
				if !yes {
					sure, err := confirm(in, a.Err, fmt.Sprintf("Reset tracking status of %s?", v.Desc))
					if err != nil {
						return err
					}
					if !sure {
						continue
					}
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := d.ResetVolume(ctx, vol.ID); err != nil {
					return err
				}
				fmt.Fprintf(out, "Reset of %s done\n", v.Desc)
			}
			return out.result()
		}),
	}
	db.add(cmd)
	db.addWait(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	cmd.Flags().BoolVar(&includeFrozen, "include-frozen", false, "include read-only subvolumes that were not named")
	return cmd
}
