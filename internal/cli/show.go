package cli

import (
	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/run"
	"github.com/bedup/bedup/internal/ui"
)

func (a *app) showCmd() *cobra.Command {
	var db dbFlags
	var out outputFlags
	var showDeleted bool
	cmd := &cobra.Command{
		Use:   "show [UUID|DEVICE|MOUNTPOINT]",
		Short: "Show the Btrfs filesystems and what is tracked on them",
		Long: `List the Btrfs filesystems plugged in (and those known only to the tracking
database), their devices and subvolumes, and for each subvolume the
generation it was last scanned at, how many files are tracked, and where it
is mounted. Per filesystem, the totals of what bedup has deduplicated.

With an argument, show only the filesystem with that UUID, on that device,
or mounted at (or containing) that path. With --json, one JSON document
(docs/json.md).

It only reads the database, so it works while another bedup runs.`,
		Args: argsRange(0, 1),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			p, err := a.printer(cmd, &out, ui.Options{})
			if err != nil {
				return err
			}
			o := run.ShowOptions{ShowDeleted: showDeleted}
			if len(args) == 1 {
				o.Only = args[0]
			}
			d, ok, err := db.openReadOnly(cmd.Context())
			if err != nil {
				return err
			}
			if ok {
				defer d.Close()
			} else {
				d = nil
			}
			rep, err := run.Show(cmd.Context(), d, o)
			if d != nil {
				if cerr := d.Close(); err == nil {
					err = cerr // it changed while read: rep may mix two states
				}
			}
			if err != nil {
				return err
			}
			p.Show(rep)
			return nil
		}),
	}
	db.add(cmd)
	out.add(cmd, false)
	cmd.Flags().BoolVar(&showDeleted, "show-deleted", false, "also list deleted subvolumes the database remembers")
	return cmd
}
