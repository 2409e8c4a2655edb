package ui

import (
	"fmt"

	"github.com/bedup/bedup/internal/run"
)

// passLine is a watch pass in one line: when it started, what the scans
// found and what was shared.
func passLine(p run.WatchPass) string {
	skipped := 0
	for _, n := range p.Total.Skipped {
		skipped += n
	}
	return fmt.Sprintf("pass %d at %s: %s, %d new or changed; %s shared, %s deduplicated, %s freed, %d skipped (%.2f s)",
		p.Number, p.Started.Local().Format("2006-01-02 15:04:05"), count(p.Volumes, "volume"), p.Retained,
		count(p.Total.FilesShared, "file"), Bytes(p.Total.BytesDeduped), Bytes(p.Total.BytesFreed), skipped, p.Elapsed.Seconds())
}

// Pass implements Printer: one line per pass, or with -v that line and the
// pass's full summary.
func (t *Text) Pass(p run.WatchPass) {
	t.status.Done()
	t.line("%s", passLine(p))
	if t.o.Verbose {
		t.Summary(p.Summary)
	}
	clear(t.phase) // the next pass tells its phases again (with -v)
}

// quietInWatch says whether a line that dedup prints by default is left
// out of a watch's output, which is one line per pass unless -v.
func (t *Text) quietInWatch() bool { return t.o.Watch && !t.o.Verbose }

// Pass implements Printer: the pass's summary event, with its number and
// start time.
func (j *JSON) Pass(p run.WatchPass) {
	f := summaryJSON(p.Summary)
	f["pass"] = p.Number
	f["started"] = p.Started.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")
	j.emit("summary", f)
}

// watchNotice words the notices of watches and lock waits; ok is false
// for other codes.
func watchNotice(n run.Notice) (msg string, ok bool) {
	on := ""
	if n.Detail != "" {
		on = " (filesystem " + n.Detail + ")"
	}
	switch n.Code {
	case run.NoticeWaitingForLock:
		return fmt.Sprintf("database %s is in use by bedup (%s): waiting for it", Path(n.Subject), n.Detail), true
	case run.NoticeGone:
		why := "no longer mounted"
		if n.Err != nil {
			why = n.Err.Error()
		}
		return fmt.Sprintf("%s%s is gone (%s): skipped until it is back", Path(n.Subject), on, why), true
	case run.NoticeBack:
		return fmt.Sprintf("%s%s is back", Path(n.Subject), on), true
	case run.NoticePassSkipped:
		return fmt.Sprintf("pass skipped: %v", n.Err), true
	}
	return "", false
}
