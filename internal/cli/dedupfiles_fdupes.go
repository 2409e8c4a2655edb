package cli

import (
	"context"
	"fmt"

	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/fdupes"
	"github.com/bedup/bedup/internal/ui"
)

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
