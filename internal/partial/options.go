package partial

import (
	"time"

	"github.com/bedup/bedup/internal/dedupe"
)

// Defaults of Options.
const (
	// DefaultMinSize is the extent threshold (--extent-min): smaller files
	// are not indexed.
	DefaultMinSize = 1 << 20
	// DefaultRewriteRatio bounds rewriting: the bookends of an extent are
	// rewritten only when they are at most 1/DefaultRewriteRatio of the
	// bytes the extent frees.
	DefaultRewriteRatio = 4
)

// Options change a partial-file pass.
type Options struct {
	// MinSize is the size from which tracked files are indexed and
	// deduplicated in part (default DefaultMinSize).
	MinSize uint64
	// RewriteRatio: bookends are rewritten when they cost at most
	// 1/RewriteRatio of what their extent frees (default
	// DefaultRewriteRatio).
	RewriteRatio uint64
	// NoRewrite never rewrites bookends: only extents whose every block
	// is shared are freed.
	NoRewrite bool
	// DryRun plans everything and reports what would be shared and freed,
	// but changes no file. The index is kept up to date (it is a cache of
	// what the filesystem holds), but no file is marked as handled, so a
	// real run afterwards does the same work.
	DryRun bool
	// ResolvePaths names the files of FileShared events (one INO_PATHS
	// each). Skipped files are always named.
	ResolvePaths bool
	// Events receives what the pass does, as it happens, one call at a
	// time.
	Events func(Event)
}

func (o *Options) defaults() {
	if o.MinSize == 0 {
		o.MinSize = DefaultMinSize
	}
	if o.RewriteRatio == 0 {
		o.RewriteRatio = DefaultRewriteRatio
	}
	if o.NoRewrite {
		o.RewriteRatio = 0
	}
}

// Stats say what a pass did. FilesIndexed, BytesRead, DedupeCalls and
// BytesRewritten are the pass's work: all zero on a rescan of unchanged
// files.
type Stats struct {
	// FilesIndexed counts the files whose keys were computed (new or
	// changed files); FilesChecked the stale files looked at.
	FilesIndexed, FilesChecked int
	// BytesKeyed is the file data keyed from the csum tree, without
	// reading it; BytesRead the data read (blocks without checksums, and
	// the bookends rewritten).
	BytesKeyed, BytesRead int64
	// Destinations counts the files that had runs worth sharing;
	// FilesShared those that now share some.
	Destinations, FilesShared int
	DedupeCalls               int // FIDEDUPERANGE ioctls
	// BytesShared is the destination bytes that now share a source's
	// extents; BytesRewritten those rewritten through a temporary file.
	BytesShared, BytesRewritten int64
	// BytesFreed is what the pass gave back, as "btrfs filesystem df"
	// counts it: the allocated size of the extents that lost their last
	// user, less the bytes allocated to rewrite bookends.
	BytesFreed int64
	// Skipped counts files skipped, by reason.
	Skipped map[dedupe.Reason]int
	Elapsed time.Duration
}

// Add adds the counts of another pass.
func (s *Stats) Add(o Stats) {
	s.FilesIndexed += o.FilesIndexed
	s.FilesChecked += o.FilesChecked
	s.BytesKeyed += o.BytesKeyed
	s.BytesRead += o.BytesRead
	s.Destinations += o.Destinations
	s.FilesShared += o.FilesShared
	s.DedupeCalls += o.DedupeCalls
	s.BytesShared += o.BytesShared
	s.BytesRewritten += o.BytesRewritten
	s.BytesFreed += o.BytesFreed
	s.Elapsed += o.Elapsed
	for r, n := range o.Skipped {
		if s.Skipped == nil {
			s.Skipped = map[dedupe.Reason]int{}
		}
		s.Skipped[r] += n
	}
}
