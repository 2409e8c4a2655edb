package cli

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/findnew"
	"github.com/bedup/bedup/internal/ui"
	"github.com/bedup/bedup/internal/volume"
)

func (a *app) findNewCmd() *cobra.Command {
	var zero, terse bool
	var out outputFlags
	cmd := &cobra.Command{
		Use:   "find-new [-0|--zero-terminated] [--terse] VOLUME [GENERATION]",
		Short: "List the items of a subvolume changed since a generation",
		Long: `List the b-tree items of the subvolume whose root directory is VOLUME that
were written in or after transaction GENERATION (default 0: everything).
Feed it 'bedup generation VOLUME' + 1 from an earlier run to see what changed.

Each record is one line (NUL-terminated with -0):
  item type 1 ino INO len LEN gen0 LEAF_TRANSID gen1 CREATION_GENERATION
  item type 12 ino INO len LEN gen0 LEAF_TRANSID name NAME
  item type 84|96 dir ino DIR len LEN gen0 LEAF_TRANSID gen1 TRANSID type1 TYPE name NAME
  item type 108 ino INO len LEN gen0 LEAF_TRANSID gen1 EXTENT_GENERATION
  item type TYPE oid OBJECTID len LEN gen0 LEAF_TRANSID
The kernel returns whole leaves, so unchanged items that share a leaf with a
changed one are listed too; gen0 and gen1 tell them apart.

Names that could break a line are quoted with escapes unless -0 is given.
With --json, one JSON document (docs/json.md).

With --terse, print instead the path (relative to VOLUME) of each file whose
data was written in or after GENERATION, once per file.

Needs root (CAP_SYS_ADMIN) for the tree search.`,
		Args: argsRange(1, 2),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			gen := uint64(0)
			if len(args) == 2 {
				var err error
				if gen, err = strconv.ParseUint(args[1], 10, 64); err != nil {
					return usagef("generation %q is not a non-negative integer", args[1])
				}
			}
			p, err := a.printer(cmd, &out, ui.Options{Zero: zero, List: map[bool]string{true: "files", false: "items"}[terse],
				Header: map[string]any{"volume": args[0], "since_generation": gen}})
			if err != nil {
				return err
			}
			vol, err := volume.Open(args[0])
			if err != nil {
				return err
			}
			defer vol.Close()
			if terse {
				return findnew.Paths(cmd.Context(), vol.Dir, gen, func(path string) error {
					p.FindNewPath(path)
					return nil
				})
			}
			return findnew.Items(cmd.Context(), vol.Dir, gen, func(r findnew.Record) error {
				p.FindNewRecord(r)
				return nil
			})
		}),
	}
	cmd.Flags().BoolVarP(&zero, "zero-terminated", "0", false, "end each record with NUL instead of a newline")
	out.add(cmd, false)
	cmd.Flags().BoolVar(&terse, "terse", false, "print only the paths of files whose data changed")
	return cmd
}
