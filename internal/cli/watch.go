package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/run"
	"github.com/bedup/bedup/internal/ui"
)

func (a *app) watchCmd() *cobra.Command {
	var f trackFlags
	var ioThreads int
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "watch [FILTER...] [--interval 5m]",
		Short: "Deduplicate what changed, again and again, until stopped",
		Long: `Run 'bedup dedup' over and over: each pass scans the selected subvolumes for
what changed since the last pass and shares the identical files among them,
then the watch waits --interval (5 minutes unless told otherwise) before the
next pass. It runs at idle I/O priority, and its memory does not grow from
pass to pass.

Between passes bedup holds no file, directory or database open: a selected
filesystem can be unmounted then, and another bedup command can use the
database. A filesystem that is gone (or a FILTER that no longer names the
filesystem it named at first) is reported once and skipped; it is taken up
again when it is back. A pass that finds the database in use by another
bedup is skipped with a notice, unless --wait says to wait for it. Problems
with the first pass end the watch, as they end a dedup run.

Output: one line per pass on standard output (when it started, volumes
scanned, files new or changed, files shared, bytes deduplicated and freed,
files skipped, time taken), notices on standard error. -v adds the lines of
'bedup dedup -v' and each pass's full summary; -q leaves out the notices.
With --json, each pass's JSON Lines events end in a summary object with
"pass" and "started" (docs/json.md).

SIGTERM ends the watch with exit status 0, SIGINT (Ctrl-C) with 130; either
waits for the size groups being shared to be done and recorded. A second
signal ends it at once.

` + filterHelp,
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return usagef("--interval must be more than 0")
			}
			if ioThreads < 0 {
				return usagef("--io-threads must be 0 (automatic) or more")
			}
			track, err := f.options(args)
			if err != nil {
				return err
			}
			p, err := a.printer(cmd, &f.output, ui.Options{Stream: true, Watch: true})
			if err != nil {
				return err
			}
			openDB, err := f.db.opener(p)
			if err != nil {
				return err
			}
			err = run.Watch(cmd.Context(), run.WatchOptions{
				DedupOptions: run.DedupOptions{
					TrackOptions: track,
					IOThreads:    ioThreads,
					ResolvePaths: f.output.verbose || f.output.json,
				},
				Interval: interval,
				OpenDB:   openDB,
			}, p)
			if err != nil && terminated(cmd.Context()) {
				return ErrStopped
			}
			return err
		}),
	}
	f.add(cmd)
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Minute, "pause between passes, e.g. 30s, 5m or 1h")
	cmd.Flags().IntVar(&ioThreads, "io-threads", 0, "files read at once (0: 2 on disks that say they spin, 4 otherwise)")
	return cmd
}
