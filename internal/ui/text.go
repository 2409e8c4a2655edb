package ui

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/run"
)

// Text prints for a person: results on out, notices and the status line
// on errw.
type Text struct {
	o      Options
	out    *bufio.Writer
	err    error // first write error on out
	status *Status
	// phase remembers, per filesystem, that its dedup phase line was
	// printed (a non-terminal gets one line per phase instead of a status
	// line).
	phase map[string]bool
}

// NewText prints results to out and everything else to errw.
func NewText(out, errw io.Writer, o Options) *Text {
	return &Text{o: o, out: bufio.NewWriter(out), status: NewStatus(errw), phase: map[string]bool{}}
}

func (t *Text) line(format string, a ...any) {
	t.status.Pause()
	defer t.status.Resume()
	if _, err := fmt.Fprintf(t.out, format+"\n", a...); err != nil && t.err == nil {
		t.err = err
	}
	if err := t.out.Flush(); err != nil && t.err == nil {
		t.err = err
	}
}

func (t *Text) record(s string) {
	sep := byte('\n')
	if t.o.Zero {
		sep = 0
	} else {
		s = Path(s)
	}
	t.out.WriteString(s)
	if err := t.out.WriteByte(sep); err != nil && t.err == nil {
		t.err = err
	}
}

func (t *Text) notice(format string, a ...any) {
	if !t.o.Quiet {
		t.status.Notice("bedup: "+format, a...)
	}
}

// Notice implements run.Reporter.
func (t *Text) Notice(n run.Notice) {
	switch n.Code {
	case run.NoticeNotForgotten:
		t.notice("files that no longer exist stay tracked until the next run (%d): %v", n.Count, n.Err)
	case run.NoticeNoFilesystem:
		t.notice("no mounted, writable Btrfs filesystem found: nothing to do")
	case run.NoticeIOPriority:
		t.notice("cannot lower I/O priority: %v", n.Err)
	case run.NoticeDefrag:
		t.notice("warning: --defrag unshares sources from snapshots and reflinked copies (Linux 3.12 and later); it can cost space")
	case run.NoticeDeprecated:
		t.notice("%s is deprecated; use %s", n.Subject, n.Detail)
	case run.NoticeLegacyDatabase:
		t.notice("using the database at its old location %s (move it to %s, or set BEDUP_DB)", Path(n.Subject), n.Detail)
	case run.NoticeNotReadWrite:
		t.notice("skipping %s: not mounted read-write", Path(n.Subject))
	case run.NoticeSourcesOnly:
		t.notice("%d read-only subvolume(s) in %s only serve as sources (name them, or use --include-frozen, to deduplicate inside them)", n.Count, Path(n.Subject))
	case run.NoticeVolumeGone:
		t.notice("%s: the subvolume was deleted during the run; its files are forgotten", Path(n.Subject))
	case run.NoticeNotTopLevel:
		t.notice("%s is not the top-level subvolume: only it and the subvolumes below it are included (name the filesystem UUID for all)", Path(n.Subject))
	default:
		if msg, ok := watchNotice(n); ok {
			t.notice("%s", msg)
		} else if n.Err != nil {
			t.notice("%s: %v", Path(n.Subject), n.Err)
		} else {
			t.notice("%s: %s", Path(n.Subject), n.Detail)
		}
	}
}

// VolumeScanned implements run.Reporter.
func (t *Text) VolumeScanned(v run.VolumeScan) {
	if t.o.Quiet || t.quietInWatch() {
		return
	}
	role := ""
	if v.SourceOnly {
		role = " (read-only, source only)"
	}
	if v.Unchanged && v.Dropped > 0 {
		// Nothing new, but a raised cutoff dropped the smaller files.
		t.line("%s%s: unchanged since generation %d, size cutoff %s: %d dropped",
			Path(v.Volume), role, v.To, Bytes(int64(v.Cutoff)), v.Dropped)
		return
	}
	if v.Unchanged {
		t.line("%s%s: unchanged since generation %d", Path(v.Volume), role, v.To)
		return
	}
	t.line("%s%s: generations %d to %d, size cutoff %s: %d new or changed, %d dropped (%d items in %.2f s)",
		Path(v.Volume), role, v.From, v.To, Bytes(int64(v.Cutoff)), v.Retained, v.Dropped, v.Items, v.Elapsed.Seconds())
}

// ScanProgress implements run.Reporter.
func (t *Text) ScanProgress(v run.VolumeScan) {
	if t.o.Quiet {
		return
	}
	t.status.Update("%s: scanning %s: %d items, %d new or changed", fsName(v.FS), Path(v.Volume), v.Items, v.Retained)
}

// fsName is a filesystem's short name for the status line: its label, or
// the first 8 characters of its UUID.
func fsName(fs run.FilesystemRef) string {
	if fs.Label != "" {
		return fs.Label
	}
	if len(fs.UUID) > 8 {
		return fs.UUID[:8]
	}
	return fs.UUID
}

// DedupeEvent implements run.Reporter.
func (t *Text) DedupeEvent(fs run.FilesystemRef, e dedupe.Event) {
	switch e := e.(type) {
	case dedupe.Skipped:
		why := ReasonText(e.Reason)
		if e.Err != nil {
			why += fmt.Sprintf(" (%v)", e.Err)
		}
		t.notice("%s: %s", Path(e.File.Path), why)
	case dedupe.Halted:
		why := ReasonText(e.Reason)
		if e.Err != nil {
			why += fmt.Sprintf(" (%v)", e.Err)
		}
		t.notice("%s: %s: stopped deduplicating it; what is left is kept for the next run", fs.Desc, why)
	case dedupe.Shared:
		if t.o.Quiet || !(t.o.Verbose || e.DryRun) {
			return
		}
		suffix := ""
		if e.DryRun {
			suffix = " (dry run)"
		}
		for _, d := range e.Dests {
			t.line("%s <= %s, %s%s", Path(d.Path), Path(e.Source.Path), Bytes(int64(e.Size)), suffix)
		}
	case dedupe.GroupDone:
		if !t.o.Verbose || t.o.Quiet {
			return
		}
		if e.AlreadyShared {
			t.line("size group %s: %d files, already shared", Bytes(int64(e.Size)), e.Members)
		} else {
			t.line("size group %s: %d files, %d identical sets", Bytes(int64(e.Size)), e.Members, e.Sets)
		}
	case dedupe.Progress:
		if t.o.Quiet {
			return
		}
		if !t.status.TTY() {
			if !t.phase[fs.UUID] && !t.quietInWatch() {
				t.phase[fs.UUID] = true
				t.status.Notice("bedup: deduplicating %s: %d size groups", fs.Desc, e.Groups)
			}
			return
		}
		eta := "?"
		if e.BytesDone > 0 && e.BytesTotal > e.BytesDone {
			el := time.Since(e.Started)
			eta = Duration(time.Duration(float64(el) * float64(e.BytesTotal-e.BytesDone) / float64(e.BytesDone)))
		}
		t.status.Update("%s: size group %d/%d (%s), read %s, shared %s, ETA %s",
			fsName(fs), e.Group, e.Groups, Bytes(int64(e.Size)), Bytes(e.BytesRead), Bytes(e.BytesDeduped), eta)
	}
}

// Summary implements Printer: one block per filesystem, then the total
// when there were several.
func (t *Text) Summary(s run.Summary) {
	t.status.Done()
	if s.DryRun {
		t.line("dry run: nothing was shared or recorded")
	}
	if len(s.Filesystems) > 1 {
		for _, f := range s.Filesystems {
			t.line("filesystem %s (%s):", f.FS.Desc, f.FS.UUID)
			t.stats(f.Stats, s.DryRun, "  ")
		}
		t.line("total:")
		t.stats(s.Total, s.DryRun, "  ")
	} else {
		t.stats(s.Total, s.DryRun, "")
	}
	t.partialSummary(s.Partial, s.DryRun)
	t.line("elapsed: %.2f s (examining %.2f s, reading %.2f s, sharing %.2f s, summed over the windows worked on at once)",
		s.Elapsed.Seconds(), s.Total.ExamineTime.Seconds(), s.Total.ReadTime.Seconds(), s.Total.ShareTime.Seconds())
}

func (t *Text) stats(s dedupe.Stats, dry bool, in string) {
	would := ""
	if dry {
		would = " (would be)"
	}
	t.line("%ssize groups examined: %d (%d already shared)", in, s.Groups, s.AlreadyShared)
	t.line("%sfiles shared%s: %d", in, would, s.FilesShared)
	t.line("%sbytes deduplicated%s: %d (%s)", in, would, s.BytesDeduped, Bytes(s.BytesDeduped))
	t.line("%sbytes freed%s: %d (%s)", in, would, s.BytesFreed, Bytes(s.BytesFreed))
	t.line("%sdata read: %d (%s; %s hashed, %s sampled)", in, s.BytesRead, Bytes(s.BytesRead), count(s.FilesHashed, "file"), count(s.FilesSampled, "file"))
	t.line("%sdedupe calls: %d", in, s.DedupeCalls)
	var skipped []string
	n := 0
	for r, c := range s.Skipped {
		skipped = append(skipped, fmt.Sprintf("%d %s", c, ReasonText(r)))
		n += c
	}
	sort.Strings(skipped)
	if n == 0 {
		t.line("%sfiles skipped: 0", in)
	} else {
		t.line("%sfiles skipped: %d (%s)", in, n, strings.Join(skipped, "; "))
	}
	if s.Deferred > 0 {
		t.line("%sfiles kept for the next run: %d", in, s.Deferred)
	}
	if s.GroupsLeft > 0 {
		t.line("%ssize groups left for the next run: %d (stopped early: %s)", in, s.GroupsLeft, ReasonText(s.Halted))
	}
	if s.KeptReadOnly > 0 {
		t.line("%sfiles kept in read-only snapshots: %d (name them, or use --include-frozen, to deduplicate inside them)", in, s.KeptReadOnly)
	}
	if s.Excluded > 0 {
		t.line("%sfiles excluded: %d", in, s.Excluded)
	}
	if s.Dropped > 0 {
		t.line("%sdeleted files forgotten: %d", in, s.Dropped)
	}
}

// count says "1 file", "2 files".
func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// FileResult implements Printer (dedup-files: one line per DEST).
func (t *Text) FileResult(r FileResult) {
	p := Path(r.Path)
	switch r.Result.Outcome {
	case dedupe.OutcomeShared:
		t.line("shared: %s (%d bytes)", p, r.Result.Bytes)
	case dedupe.OutcomeSkipped:
		why := ReasonText(r.Result.Reason)
		if r.Result.Err != nil {
			why += ": " + r.Result.Err.Error()
		}
		t.line("skipped: %s (%s)", p, why)
	default:
		t.line("%s: %s", r.Result.Outcome, p)
	}
}

// FilesSummary implements Printer; the text form has none (the exit
// status and the lines say it all).
func (t *Text) FilesSummary(FilesSummary) {}

// Generation implements Printer.
func (t *Text) Generation(g GenerationResult) { t.line("%d", g.Generation) }

// TrackedFile implements Printer.
func (t *Text) TrackedFile(f run.TrackedFile) { t.record(f.Path) }

// FindNewRecord implements Printer, in the original's record formats.
func (t *Text) FindNewRecord(r FindNewRecord) {
	sep := byte('\n')
	if t.o.Zero {
		sep = 0
	}
	t.out.WriteString(FindNewLine(r, !t.o.Zero))
	if err := t.out.WriteByte(sep); err != nil && t.err == nil {
		t.err = err
	}
}

// FindNewPath implements Printer.
func (t *Text) FindNewPath(p string) { t.record(p) }

// Error implements Printer; the command line prints the error itself.
func (t *Text) Error(error) {}

// Close implements Printer.
func (t *Text) Close() error {
	t.status.Done()
	if err := t.out.Flush(); err != nil && t.err == nil {
		t.err = err
	}
	return t.err
}
