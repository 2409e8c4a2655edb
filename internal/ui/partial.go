package ui

import (
	"fmt"

	"github.com/bedup/bedup/internal/partial"
	"github.com/bedup/bedup/internal/run"
)

// PartialEvent implements run.PartialReporter: a skipped file is a notice
// like the whole-file pass's; a file shared in part is a line with -v (or
// in a dry run): DEST <= SRC, its runs, and what was shared, rewritten and
// freed.
func (t *Text) PartialEvent(fs run.FilesystemRef, e partial.Event) {
	switch e := e.(type) {
	case partial.Skipped:
		why := ReasonText(e.Reason)
		if e.Err != nil {
			why += fmt.Sprintf(" (%v)", e.Err)
		}
		t.notice("%s: %s", Path(e.File.Path), why)
	case partial.FileShared:
		if t.o.Quiet || !(t.o.Verbose || e.DryRun) || len(e.Runs) == 0 {
			return
		}
		suffix := ""
		if e.DryRun {
			suffix = " (dry run)"
		}
		t.line("%s <= %s, %s in %s: %s shared, %s rewritten, %s freed%s", Path(e.File.Path), Path(e.Runs[0].Source.Path),
			Bytes(int64(e.Size)), count(len(e.Runs), "run"), Bytes(e.BytesShared), Bytes(e.BytesRewritten), Bytes(e.BytesFreed), suffix)
	}
}

// partialSummary prints the partial-file pass's totals, when it did
// anything.
func (t *Text) partialSummary(s partial.Stats, dry bool) {
	if s.FilesIndexed == 0 && s.Destinations == 0 && s.FilesShared == 0 {
		return
	}
	would := ""
	if dry {
		would = " (would be)"
	}
	t.line("partial files shared%s: %d of %d (%d indexed, %s read)", would, s.FilesShared, s.Destinations, s.FilesIndexed, Bytes(s.BytesRead))
	t.line("partial bytes shared%s: %d (%s; %s rewritten)", would, s.BytesShared, Bytes(s.BytesShared), Bytes(s.BytesRewritten))
	t.line("partial bytes freed%s: %d (%s)", would, s.BytesFreed, Bytes(s.BytesFreed))
}

// PartialEvent implements run.PartialReporter.
func (j *JSON) PartialEvent(fs run.FilesystemRef, e partial.Event) {
	switch e := e.(type) {
	case partial.Skipped:
		j.emit("skipped", map[string]any{"filesystem": fs.UUID, "file": fileJSON(e.File.Path, e.File.VolumeID, e.File.Ino),
			"reason": string(e.Reason), "error": errString(e.Err), "partial": true})
	case partial.FileShared:
		runs := make([]any, len(e.Runs))
		for i, r := range e.Runs {
			runs[i] = map[string]any{"source": fileJSON(r.Source.Path, r.Source.VolumeID, r.Source.Ino),
				"source_offset": r.SourceOffset, "offset": r.Offset, "length": r.Length}
		}
		j.emit("partial", map[string]any{"filesystem": fs.UUID, "file": fileJSON(e.File.Path, e.File.VolumeID, e.File.Ino),
			"size": e.Size, "runs": runs, "bytes_shared": e.BytesShared, "bytes_rewritten": e.BytesRewritten,
			"bytes_freed": e.BytesFreed, "changed": e.Changed, "dry_run": e.DryRun})
	}
}

func partialJSON(s partial.Stats) map[string]any {
	skipped := map[string]int{}
	for r, c := range s.Skipped {
		skipped[string(r)] = c
	}
	return map[string]any{"files_indexed": s.FilesIndexed, "files_checked": s.FilesChecked, "bytes_keyed": s.BytesKeyed,
		"bytes_read": s.BytesRead, "destinations": s.Destinations, "files_shared": s.FilesShared, "dedupe_calls": s.DedupeCalls,
		"bytes_shared": s.BytesShared, "bytes_rewritten": s.BytesRewritten, "bytes_freed": s.BytesFreed, "skipped": skipped}
}
