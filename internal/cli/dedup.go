package cli

import (
	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/partial"
	"github.com/bedup/bedup/internal/run"
	"github.com/bedup/bedup/internal/ui"
)

func (a *app) dedupCmd(name string, hidden bool) *cobra.Command {
	var f trackFlags
	var defrag, dryRun, noExtents bool
	var extentMin string
	var ioThreads, window int
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
twins free their space without writing into the snapshot; a writable copy
already on extents another snapshot pins stays where it is (moving it would
free nothing). Copies in read-only snapshots nobody named that could only
be shared by writing into them are remembered, and not looked at again
until a file of their size is added or changed, or the snapshot is named
(or --include-frozen). Files that cannot be shared (NOCOW next to normal
files, immutable, in use as swap, changed meanwhile) are skipped with a
notice on standard error; the run goes on.
A file skipped for a reason that can pass (an I/O error, a read-only or full
filesystem, a busy subvolume, a change meanwhile) is kept for the next run,
and the run exits 3; a filesystem that turns read-only or full stops its
pass with one notice.

--dry-run (-n) does everything but sharing: it prints each share it would
make (DEST <= SRC, SIZE) and the bytes it would free, and changes no file
and nothing the next run depends on. -v prints those lines for real shares
too, plus one per size group; -q prints only errors and the summary. Names
that hold a newline, a backslash or bytes that are not UTF-8 are printed
quoted with escapes ("a\nb").

Files of at least --extent-min (1 MiB) that no identical twin covers are
then deduplicated in part: runs of identical 128 KiB blocks, found from
the checksums Btrfs keeps (no data read), are shared with FIDEDUPERANGE,
and the few blocks left in a half-shared extent are rewritten through a
temporary file (and shared back, the kernel comparing first) so that the
old extent is freed, never left as a bookend; --no-extents turns this off.

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
			minSize, err := parseSize(extentMin)
			if err != nil || minSize < 4096 {
				return usagef("--extent-min %q: give a size of at least 4K (e.g. 1M)", extentMin)
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
				NoExtents:    noExtents,
				Extents:      partial.Options{MinSize: minSize},
				Window:       window,
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
	cmd.Flags().BoolVar(&noExtents, "no-extents", false, "share whole files only: no partial-file deduplication")
	cmd.Flags().StringVar(&extentMin, "extent-min", "1M", "deduplicate parts of files from this size up (runs of identical 128 KiB blocks)")
	cmd.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "do everything but sharing: print what would be shared and freed")
	cmd.Flags().IntVar(&ioThreads, "io-threads", 0, "files read at once (0: 2 on disks that say they spin, 4 otherwise)")
	// For tests: many small committed windows on a small corpus.
	cmd.Flags().IntVar(&window, "window", 0, "size groups per committed batch (0: 200)")
	cmd.Flags().MarkHidden("window")
	return cmd
}
