package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/run"
	"github.com/bedup/bedup/internal/ui"
)

func (a *app) historyCmd() *cobra.Command {
	var db dbFlags
	var out outputFlags
	var since string
	cmd := &cobra.Command{
		Use:   "history [--since DATE] [UUID|DEVICE|MOUNTPOINT]",
		Short: "List what was deduplicated, and when",
		Long: `List the shares bedup made, oldest first: per share its time, the
filesystem, the size of the files, how many bytes were shared and freed,
and the files by their path as it is now, the source first ("(gone)" for a
file that no longer exists). Totals at the end.

--since takes a date (2006-01-02), a date and time (2006-01-02T15:04:05,
local time unless a zone is given) or a duration back from now (36h).
With an argument, only the filesystem with that UUID, on that device, or
mounted at (or containing) that path. With --json, one JSON document
(docs/json.md). It only reads the database.`,
		Args: argsRange(0, 1),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			o := run.HistoryOptions{}
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return err
				}
				o.Since = t
			}
			if len(args) == 1 {
				o.Filesystem = args[0]
			}
			p, err := a.printer(cmd, &out, ui.Options{})
			if err != nil {
				return err
			}
			d, ok, err := db.openReadOnly(cmd.Context())
			if err != nil {
				return err
			}
			if !ok {
				p.History(run.History{})
				return nil
			}
			defer d.Close()
			h, err := run.ListHistory(cmd.Context(), d, o)
			if cerr := d.Close(); err == nil {
				err = cerr // it changed while read: h may mix two states
			}
			if err != nil {
				return err
			}
			p.History(h)
			return nil
		}),
	}
	db.add(cmd)
	out.add(cmd, false)
	cmd.Flags().StringVar(&since, "since", "", "only shares made at or after this date, time, or duration ago (e.g. 2026-11-01, 24h)")
	return cmd
}

// parseSince reads --since: a date, a date and time (local unless a zone
// is given), or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("--since %q is neither a date (2006-01-02), a date and time (2006-01-02T15:04:05) nor a duration (36h)", s)
}
