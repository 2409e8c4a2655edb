package run

import (
	"context"

	"github.com/bedup/bedup/internal/partial"
	"github.com/bedup/bedup/internal/store"
)

// PartialReporter is a Reporter that also hears the partial-file pass
// (partial.FileShared, partial.Skipped). A Reporter without this method
// gets that pass's totals in Summary.Partial only.
type PartialReporter interface {
	PartialEvent(fs FilesystemRef, e partial.Event)
}

// partialPass runs the partial-file pass over a dedup pass's volumes, after
// the whole-file pass, unless NoExtents turns it off.
func partialPass(ctx context.Context, db *store.DB, p *pass, o DedupOptions, rep Reporter) (partial.Stats, error) {
	if o.NoExtents {
		return partial.Stats{}, nil
	}
	po := o.Extents
	po.DryRun, po.ResolvePaths = o.DryRun, o.ResolvePaths
	if pr, ok := rep.(PartialReporter); ok {
		po.Events = func(e partial.Event) { pr.PartialEvent(p.fs, e) }
	}
	return partial.Run(ctx, db, p.fsID, p.vols, po)
}
