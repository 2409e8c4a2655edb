// Package ui turns what bedup's commands report into output: text for a
// person (a status line on a terminal, notices on standard error, results
// on standard output) or JSON for scripts (docs/json.md). Both printers
// implement Printer, so a command reports once and the user picks the form.
package ui

import (
	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/findnew"
	"github.com/bedup/bedup/internal/run"
)

// JSONVersion is the version of the JSON output format (docs/json.md). It
// grows only when a key changes meaning or goes away; new keys may appear
// without it.
const JSONVersion = 1

// Printer is where a command's results, events and summary go.
type Printer interface {
	run.Reporter
	// Summary ends a scan or dedup run.
	Summary(run.Summary)
	// Pass ends each pass of a watch.
	Pass(run.WatchPass)
	// FileResult is dedup-files' outcome for one destination.
	FileResult(FileResult)
	// FilesSummary ends dedup-files.
	FilesSummary(FilesSummary)
	// Generation is the generation command's result.
	Generation(GenerationResult)
	// TrackedFile is one file size-lookup found.
	TrackedFile(run.TrackedFile)
	// FindNewRecord is one item find-new lists; FindNewPath one file
	// with --terse.
	FindNewRecord(FindNewRecord)
	FindNewPath(string)
	// Show is the show command's report.
	Show(run.ShowReport)
	// History is the history command's report.
	History(run.History)
	// Error reports the error that ends a command.
	Error(error)
	// Close ends the output (closing an open JSON document) and returns
	// the first error met writing it.
	Close() error
}

// Options change what a printer prints.
type Options struct {
	// Verbose prints a line per share, per skipped file and per group.
	Verbose bool
	// Quiet prints only errors and the summary.
	Quiet bool
	// Zero ends listed paths and records with NUL instead of a newline
	// (text only).
	Zero bool
	// Command names the command for the JSON documents' "command" key.
	Command string
	// Stream: the command prints JSON Lines events (scan, dedup,
	// dedup-files) rather than one document.
	Stream bool
	// Watch: the command is a watch, whose text output is a line per pass
	// (plus notices) unless Verbose.
	Watch bool
	// List, for a listing document (size-lookup, find-new), is the key of
	// its array, which is streamed; Header holds its other keys.
	List   string
	Header map[string]any
}

// FileResult is dedup-files' outcome for one destination.
type FileResult struct {
	Path   string
	Result dedupe.Result
	// Group is the 1-based number of the input group the file is in
	// (--fdupes), 0 otherwise; Source then names the group's source, ""
	// when no member could serve as one.
	Group  int
	Source string
}

// FilesSummary counts dedup-files' outcomes.
type FilesSummary struct {
	Source       string // "" with --fdupes
	Destinations int
	NotDone      int // destinations that do not share the source's data
	BytesShared  int64
	// Fdupes: the files came in Groups from standard input (--fdupes).
	Fdupes bool
	Groups int
}

// GenerationResult is a subvolume's generation.
type GenerationResult struct {
	Volume     string
	Generation uint64
}

// FindNewRecord is one b-tree item find-new lists, decoded.
type FindNewRecord = findnew.Record
