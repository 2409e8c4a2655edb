package cli

import (
	"context"
	"fmt"

	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/fdupes"
	"github.com/bedup/bedup/internal/ui"
)

// fdupesHelp explains --fdupes in dedup-files' help.
const fdupesHelp = `--fdupes reads groups of identical files from standard input instead of
arguments, as fdupes and jdupes print them: one path per line, an empty
line between groups ("N bytes each:" headers of -S are skipped); with -0
(--null), paths end with a NUL byte and groups with an empty path, as
jdupes -0 prints them. For example:
  jdupes -r /mnt/data | bedup dedup-files --fdupes
Each group is shared from the copy dedup would choose as its source (the
one whose extents are already most shared, e.g. pinned by a read-only
snapshot; then one in a read-only subvolume), and every other member is a
DEST with its line as above. The kernel's compare is the only proof that
they are equal: a member that differs is reported "differs" and left as
it is. Members that are missing, not regular files or on another filesystem
than most of their group are skipped (skipped: DEST (REASON)); the rest of
the group is still shared.

`

// fdupesArgs checks the arguments of dedup-files --fdupes (or -0 without
// it: noFdupes).
func fdupesArgs(args []string, defrag, noFdupes bool) error {
	switch {
	case noFdupes:
		return usagef("--null reads --fdupes input: give --fdupes too")
	case len(args) > 0:
		return usagef("dedup-files --fdupes reads the files from standard input: it takes no arguments, got %d", len(args))
	case defrag:
		return usagef("--defrag and --fdupes exclude each other")
	}
	return nil
}

// dedupFdupes is dedup-files --fdupes: each group read from standard input
// is shared from its best source, group by group as they arrive.
func (a *app) dedupFdupes(ctx context.Context, p ui.Printer, null bool) error {
	sum := ui.FilesSummary{Fdupes: true}
	var err error
	for g, perr := range fdupes.Parse(a.In, fdupes.Options{Null: null}) {
		if perr != nil {
			err = fmt.Errorf("standard input: %w", perr)
			break
		}
		if err = ctx.Err(); err != nil {
			break
		}
		sum.Groups++
		res := dedupe.ShareGroup(g.Paths)
		var src string
		if res.Source >= 0 {
			src = g.Paths[res.Source]
		}
		for i, path := range g.Paths {
			if i == res.Source {
				continue
			}
			r := res.Results[i]
			p.FileResult(ui.FileResult{Path: path, Result: r, Group: sum.Groups, Source: src})
			sum.Destinations++
			if !r.Outcome.Done() {
				sum.NotDone++
			}
			if r.Outcome == dedupe.OutcomeShared {
				sum.BytesShared += int64(r.Bytes)
			}
		}
	}
	if err == nil {
		err = ctx.Err() // an interrupt may end the input first
	}
	p.FilesSummary(sum)
	if err != nil {
		return err
	}
	if sum.NotDone > 0 {
		return fmt.Errorf("%d of %d destinations do not share their group's data", sum.NotDone, sum.Destinations)
	}
	return nil
}
