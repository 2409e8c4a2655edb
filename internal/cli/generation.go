package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/ui"
	"github.com/bedup/bedup/internal/volume"
)

func (a *app) generationCmd() *cobra.Command {
	var flush bool
	var out outputFlags
	cmd := &cobra.Command{
		Use:   "generation [--flush] VOLUME",
		Short: "Print the current generation of a subvolume",
		Long: `Print the last committed transaction generation of the subvolume whose root
directory is VOLUME, as a decimal number. Pass that number + 1 to
'bedup find-new' later to list what changed since.

Writes of the running transaction are not counted until it commits; --flush
commits the filesystem first (syncfs) so the number covers every write made
so far.`,
		Args: argsRange(1, 1),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			p, err := a.printer(cmd, &out, ui.Options{})
			if err != nil {
				return err
			}
			vol, err := volume.Open(args[0])
			if err != nil {
				return err
			}
			defer vol.Close()
			if flush {
				if err := btrfs.Syncfs(vol.Dir); err != nil {
					return fmt.Errorf("%s: %w", vol.Path, err)
				}
			}
			info, err := btrfs.GetSubvolInfo(vol.Dir)
			if err != nil {
				return fmt.Errorf("%s: %w", vol.Path, err)
			}
			p.Generation(ui.GenerationResult{Volume: args[0], Generation: info.Generation})
			return nil
		}),
	}
	out.add(cmd, false)
	cmd.Flags().BoolVar(&flush, "flush", false, "commit the filesystem's pending writes first (syncfs)")
	return cmd
}
