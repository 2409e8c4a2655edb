package cli

import (
	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/run"
	"github.com/bedup/bedup/internal/ui"
)

func (a *app) dedupCmd(name string, hidden bool) *cobra.Command {
	var f trackFlags
	var defrag, dryRun bool
	var ioThreads int
	cmd := &cobra.Command{
		Use:    name + " [FILTER...]",
		Hidden: hidden,
		Short:  "Scan, then make identical files share their data (the main job)",
		Long: `Scan the selected subvolumes (see 'bedup scan'), then, per filesystem, find
the tracked files with identical contents among the size groups that have a
new or changed member, and make them share one copy of their data extents.

Files already sharing their extents are recognised from their extent maps
and never read; a file is read only when its extent map changed since it was
last hashed. The kernel compares the bytes before it shares anything
(FIDEDUPERANGE), so a file changed meanwhile keeps its new content. No
file's content, times, owner, mode, flags or attributes change.

The copy a read-only snapshot pins is used as the source, so its writable
twins free their space without writing into the snapshot. Files that cannot
be shared (NOCOW next to normal files, immutable, in use as swap, changed
meanwhile) are skipped with a notice on standard error; the run goes on.

--dry-run (-n) does everything but sharing: it prints each share it would
make (DEST <= SRC, SIZE) and the bytes it would free, and changes no file
and nothing the next run depends on. -v prints those lines for real shares
too, plus one per size group; -q prints only errors and the summary. Names
that hold a newline, a backslash or bytes that are not UTF-8 are printed
quoted with escapes ("a\nb").

At the end, a summary on standard output, per filesystem and in all: size
groups examined, files shared, bytes deduplicated, bytes freed (the on-disk
size of the extents no file uses any more), data read, files skipped by
reason, time taken. With --json, JSON Lines events ending in a summary
object (docs/json.md).

` + filterHelp + "\n\n" + excludeHelp,
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			if ioThreads < 0 {
				return usagef("--io-threads must be 0 (automatic) or more")
			}
			track, err := f.options(args)
			if err != nil {
				return err
			}
			p, err := a.printer(cmd, &f.output, ui.Options{Stream: true})
			if err != nil {
				return err
			}
			if name == "dedup-vol" {
				p.Notice(run.Notice{Code: run.NoticeDeprecated, Subject: "dedup-vol", Detail: "dedup"})
			}
			t, err := run.Discover(track)
			if err != nil {
				return err
			}
			defer t.Close()
			db, err := f.db.open(cmd.Context(), p)
			if err != nil {
				return err
			}
			defer db.Close()
			sum, err := t.Dedup(cmd.Context(), db, run.DedupOptions{
				TrackOptions: track,
				Defrag:       defrag,
				IOThreads:    ioThreads,
				DryRun:       dryRun,
				ResolvePaths: f.output.verbose || f.output.json || dryRun,
			}, p)
			if sum.Volumes > 0 || err == nil {
				p.Summary(sum)
			}
			if err != nil {
				return err
			}
			return db.Close()
		}),
	}
	f.add(cmd)
	if name == "dedup" {
		cmd.Flags().BoolVar(&defrag, "defrag", false, "defragment each source first (unshares it from snapshots: usually costs space)")
	}
	cmd.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "do everything but sharing: print what would be shared and freed")
	cmd.Flags().IntVar(&ioThreads, "io-threads", 0, "files read at once (0: 2 on disks that say they spin, 4 otherwise)")
	return cmd
}
