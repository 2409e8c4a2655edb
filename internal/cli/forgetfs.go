package cli

import (
	"bufio"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/volume"
)

func (a *app) forgetFSCmd() *cobra.Command {
	var db dbFlags
	var yes bool
	cmd := &cobra.Command{
		Use:   "forget-fs [--yes] UUID...",
		Short: "Wipe everything the database knows about filesystems",
		Long: `Delete from the tracking database everything about each filesystem UUID: its
subvolumes, tracked files, path history and dedup history. Meant for
filesystems that no longer exist. Asks for each one unless --yes is given;
no answer (end of input) means no. Every UUID must be known to the
database, else nothing is done.`,
		Args: argsRange(1, -1),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			uuids := make([]string, len(args))
			for i, s := range args {
				u, err := volume.ParseUUID(s)
				if err != nil {
					return &UsageError{Err: err}
				}
				uuids[i] = u
			}
			d, err := db.open(ctx, a.textPrinter())
			if err != nil {
				return err
			}
			defer d.Close()
			rows := make([]store.Filesystem, len(uuids))
			for i, u := range uuids {
				fs, ok, err := d.FilesystemByUUID(ctx, u)
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("%s: no such filesystem in the database %s", args[i], d.Path)
				}
				rows[i] = fs
			}
			out := &checkedWriter{w: a.Out}
			in := bufio.NewReader(a.In)
			for _, fs := range rows {
				desc := fs.UUID
				if fs.Label != "" {
					desc = fmt.Sprintf("%s (%s)", fs.Label, fs.UUID)
				}
				if !yes {
					sure, err := confirm(in, a.Err, fmt.Sprintf("Wipe all data about fs %s?", desc))
					if err != nil {
						return err
					}
					if !sure {
						continue
					}
				}
				if err := d.ForgetFilesystem(ctx, fs.ID); err != nil {
					return err
				}
				fmt.Fprintf(out, "Wiped all data about %s\n", desc)
			}
			return out.result()
		}),
	}
	db.add(cmd)
	db.addWait(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	return cmd
}
