package run

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/volume"
)

// WatchOptions say what a watch covers, how, and how often.
type WatchOptions struct {
	DedupOptions
	// Interval is the pause between the end of one pass and the start of
	// the next.
	Interval time.Duration
	// OpenDB opens the database, with the writer's lock, for one pass;
	// the watch closes it at the end of the pass.
	OpenDB func(context.Context) (*store.DB, error)
}

// WatchPass is what one pass of a watch did.
type WatchPass struct {
	Number  int // from 1
	Started time.Time
	// Summary is the pass's scans and shares; its Elapsed is the whole
	// pass.
	Summary
}

// WatchReporter is a Reporter that is also told about each pass.
type WatchReporter interface {
	Reporter
	// Pass is called at the end of each pass, when the watch holds
	// nothing open any more.
	Pass(WatchPass)
}

// Watch deduplicates what changed, pass after pass, until ctx is done: each
// pass discovers the volumes, scans them and deduplicates them as Dedup
// does, then closes every descriptor it opened (volumes, database), so
// that between passes a filesystem can be unmounted; the next pass then
// reports it gone (NoticeGone), skips it, and takes it up again when it is
// back (NoticeBack). The first pass's errors end the watch, as they would
// end a dedup run; in later passes a filter that no longer names its
// filesystem, and a database another bedup holds, only skip that much.
//
// Watch returns ctx's error once ctx is done: at once between passes, and
// during a pass once the window being shared is recorded (see dedupe.Run).
// Memory is released to the system after each pass.
func Watch(ctx context.Context, o WatchOptions, rep WatchReporter) error {
	if o.Interval <= 0 {
		return fmt.Errorf("watch interval %v: must be positive", o.Interval)
	}
	w := &watcher{
		o:     o,
		rep:   &repeatFilter{WatchReporter: rep, last: map[noticeKey]bool{}, now: map[noticeKey]bool{}},
		home:  map[string]string{},
		known: map[string]string{},
		gone:  map[string]bool{},
	}
	for n := 1; ; n++ {
		p, err := w.pass(ctx, n)
		if err == nil || p.Volumes > 0 {
			w.rep.Pass(p)
		}
		w.rep.endPass()
		if err != nil {
			if n > 1 && ctx.Err() == nil {
				err = fmt.Errorf("pass %d: %w", n, err)
			}
			return err
		}
		debug.FreeOSMemory()
		t := time.NewTimer(o.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// watcher is the state a watch keeps from pass to pass: only names, never
// descriptors.
type watcher struct {
	o   WatchOptions
	rep *repeatFilter
	// home is, per filter, the UUID of the filesystem it named in the
	// first pass: a mount point whose filesystem is unmounted may lead to
	// another filesystem, which the watch must not take up instead.
	home map[string]string
	// known names (Desc) every filesystem a watch without filters has
	// worked on, by UUID.
	known map[string]string
	// gone holds the filters (or, without filters, the filesystem UUIDs)
	// that are gone.
	gone map[string]bool
}

// pass runs pass n. It reports nothing about the pass itself; Watch does,
// once everything the pass opened is closed.
func (w *watcher) pass(ctx context.Context, n int) (p WatchPass, err error) {
	p = WatchPass{Number: n, Started: time.Now()}
	defer func() { p.Elapsed = time.Since(p.Started) }()
	filters, err := w.resolve(n == 1)
	if err != nil {
		return p, err
	}
	if len(w.o.Filters) > 0 && len(filters) == 0 {
		return p, nil // all gone: no filter would mean every filesystem
	}
	o := w.o.DedupOptions
	o.Filters = filters
	t, err := Discover(o.TrackOptions)
	if err != nil {
		if n == 1 {
			return p, err
		}
		// Something went away between resolve and here.
		w.rep.Notice(Notice{Code: NoticePassSkipped, Err: err})
		return p, nil
	}
	defer t.Close()
	w.filesystems(t.Set)
	db, err := w.o.OpenDB(ctx)
	if err != nil {
		if n > 1 && errors.Is(err, store.ErrLocked) {
			w.rep.Notice(Notice{Code: NoticePassSkipped, Err: err})
			return p, nil
		}
		return p, err
	}
	defer db.Close()
	if p.Summary, err = t.Dedup(ctx, db, o, w.rep); err != nil {
		return p, err
	}
	return p, db.Close()
}

// resolve returns the filters that still name the filesystem they named in
// the first pass, telling of those that stopped or started doing so. In
// the first pass a filter that names nothing is an error.
func (w *watcher) resolve(first bool) ([]string, error) {
	var ok []string
	for _, f := range w.o.Filters {
		uuid, desc, err := probe(f, w.o.IncludeFrozen)
		if err == nil && !first && uuid != w.home[f] {
			err = fmt.Errorf("%s is now on filesystem %s, not %s", f, desc, w.known[w.home[f]])
		}
		if err != nil {
			if first {
				return nil, err
			}
			w.mark(f, false, Notice{Subject: f, Detail: w.known[w.home[f]], Err: err})
			continue
		}
		if first {
			w.home[f], w.known[uuid] = uuid, desc
		}
		w.mark(f, true, Notice{Subject: f, Detail: w.known[uuid]})
		ok = append(ok, f)
	}
	return ok, nil
}

// probe discovers what one filter names, alone, and closes it again: the
// UUID and name of its filesystem ("" when it names no volume).
func probe(filter string, includeFrozen bool) (uuid, desc string, err error) {
	set, err := volume.Discover([]string{filter}, volume.Options{IncludeFrozen: includeFrozen})
	if err != nil {
		return "", "", err
	}
	defer set.Close()
	vols := set.Volumes
	if len(vols) == 0 {
		vols = set.Sources
	}
	if len(vols) == 0 {
		return "", "", nil
	}
	return vols[0].FS.UUID, vols[0].FS.Desc(), nil
}

// filesystems tells, for a watch without filters, which filesystems of
// earlier passes this pass's discovery left out, and which are back.
func (w *watcher) filesystems(set *volume.Set) {
	if len(w.o.Filters) > 0 {
		return
	}
	now := map[string]string{}
	for _, f := range set.Filesystems {
		now[f.UUID] = f.Desc()
	}
	w.present(now)
}

// present takes the filesystems (UUID: name) a watch without filters
// found in this pass, and tells of those gone and back.
func (w *watcher) present(now map[string]string) {
	for uuid, desc := range now {
		w.known[uuid] = desc
		w.mark(uuid, true, Notice{Subject: desc})
	}
	for uuid, desc := range w.known {
		if _, ok := now[uuid]; !ok {
			w.mark(uuid, false, Notice{Subject: desc})
		}
	}
}

// mark records whether key (a filter, or a filesystem's UUID) is there in
// this pass, and reports n as NoticeGone or NoticeBack when that changed.
func (w *watcher) mark(key string, there bool, n Notice) {
	if there != w.gone[key] {
		return
	}
	if there {
		delete(w.gone, key)
		n.Code, n.Err = NoticeBack, nil
	} else {
		w.gone[key] = true
		n.Code = NoticeGone
	}
	w.rep.Notice(n)
}

// repeatFilter keeps a watch from repeating, pass after pass, the notices
// that describe a state rather than an event (a read-only filesystem
// skipped, snapshots serving as sources only): such a notice is passed on
// when the previous pass did not give it.
type repeatFilter struct {
	WatchReporter
	last, now map[noticeKey]bool
}

// noticeKey tells notices apart.
type noticeKey struct {
	code            NoticeCode
	subject, detail string
	count           int
	err             string
}

// stateNotices are the codes repeatFilter holds back when repeated.
var stateNotices = map[NoticeCode]bool{
	NoticeNoFilesystem: true, NoticeIOPriority: true, NoticeNotReadWrite: true,
	NoticeSourcesOnly: true, NoticeNotTopLevel: true,
}

// Notice implements Reporter.
func (r *repeatFilter) Notice(n Notice) {
	if stateNotices[n.Code] {
		k := noticeKey{code: n.Code, subject: n.Subject, detail: n.Detail, count: n.Count}
		if n.Err != nil {
			k.err = n.Err.Error()
		}
		r.now[k] = true
		if r.last[k] {
			return
		}
	}
	r.WatchReporter.Notice(n)
}

// endPass makes this pass's notices the ones not to repeat.
func (r *repeatFilter) endPass() {
	r.last, r.now = r.now, r.last
	clear(r.now)
}
