package dedupe

import (
	"context"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/store"
)

// windows handles the pass window by window, in a pipeline: later
// windows are loaded, examined, read (metadata, csum prints, the reads the
// kernel's compare cannot replace) and planned, their intents logged,
// while windowSharers windows are shared (see prepareAhead); each window's
// results are committed (see commits) while later windows are shared.
// Preparing only reads the filesystem; sharing waits on the kernel's
// compares, which wait on the device: overlapping them keeps both the CPU
// and the device busy, and keeps the database's one connection (intents,
// commits) off the shares' path. Windows hold disjoint files (one size
// each), so none sees another's work; a freed-bytes estimate planned
// before other windows' shares can only come out low (an extent such a
// window lets go of still counts its user). A filesystem that turns
// read-only or full halts the pass after the windows in which it did (or
// before the next one): what is left stays flagged, and the windows
// prepared but not shared are dropped unrecorded (their files stay flagged
// too).
func (p *pass) windows(ctx context.Context, scope *store.Scope) error {
	p.left = sizesLeft{hi: ^uint64(0), top: true}
	ahead := p.prepareAhead(ctx, scope)
	defer ahead.stop(p)
	commits := p.committer(ctx)
	l := newLanes(windowSharers)
	for {
		var nx prepared
		var ok bool
		select {
		case nx, ok = <-ahead.windows:
		case <-l.stopped:
		}
		if !ok {
			break
		}
		ahead.taken(nx)
		if !l.take() {
			p.discard(nx.w)
			break
		}
		if nx.err != nil {
			l.end(nx.err, false)
			l.give()
			break
		}
		if p.readOnly() {
			p.mu.Lock()
			p.halt(ReasonReadOnlyFS, unix.EROFS)
			p.mu.Unlock()
			p.discard(nx.w)
			l.give()
			break
		}
		go p.shareWindow(ctx, nx.w, commits, l)
	}
	commitFailed, err := l.wait()
	if cerr := commits.finish(); cerr != nil {
		return cerr
	}
	if commitFailed {
		return err
	}
	if rerr := p.recordTransids(ctx); err == nil {
		err = rerr
	}
	return err
}

// shareWindow shares a window on a lane of its own and sends its batch to
// the commits; a failure or a halt stops the lanes.
func (p *pass) shareWindow(ctx context.Context, w *window, commits *commits, l *lanes) {
	defer l.give()
	werr := p.share(ctx, w)
	if err := commits.failed(); err != nil {
		l.end(err, true)
		return
	}
	p.mu.Lock()
	halted := p.halted != ""
	var shared []sharedDest
	if len(p.shared) >= sharedBatch || werr != nil || halted {
		// Their transids are collected by the commits, off the shares'
		// path.
		shared, p.shared = p.shared, nil
	}
	p.mu.Unlock()
	commits.send(w.batch, shared)
	if werr != nil || halted {
		l.end(werr, false)
	}
}

// windowSharers is how many windows are shared at once. The window of the
// largest files waits on the device for seconds (on mixed, 2.3 s of
// compares), while the small-file windows wait on the CPU and on metadata:
// shared beside it, they no longer wait for it (mixed: 6.94 s on average
// over four runs with one, 6.50 s with two). (A variable so that a test
// can make the order of shares certain.)
var windowSharers = 2

// lanes bounds the windows shared at once, and keeps the first reason to
// take no more: a failure, or a halt (no error).
type lanes struct {
	free    chan struct{}
	wg      sync.WaitGroup
	stopped chan struct{} // closed by the first end
	mu      sync.Mutex
	ended   bool
	err     error
	commit  bool // err is the commits' failure
}

func newLanes(n int) *lanes {
	return &lanes{free: make(chan struct{}, max(n, 1)), stopped: make(chan struct{})}
}

// take waits for a free lane and takes it, or reports false (taking none)
// once the lanes have ended.
func (l *lanes) take() bool {
	select {
	case l.free <- struct{}{}:
	case <-l.stopped:
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		<-l.free
		return false
	}
	l.wg.Add(1)
	return true
}

// give frees a lane taken.
func (l *lanes) give() {
	<-l.free
	l.wg.Done()
}

// end stops the taking of windows. The first call's reason stands, but
// for an error that comes after a halt's nil.
func (l *lanes) end(err error, commit bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ended {
		close(l.stopped)
	}
	if !l.ended || l.err == nil && err != nil {
		l.err, l.commit = err, commit
	}
	l.ended = true
}

// wait waits for the windows being shared, and returns whether the lanes
// ended on a commit's failure, and why they ended (nil: done, or halted).
func (l *lanes) wait() (commit bool, err error) {
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.commit, l.err
}

// prepared is a window made ready to share, or why it could not be, and
// the files it holds ahead (see window.files).
type prepared struct {
	w     *window
	err   error
	files int
}

// ahead prepares windows on goroutines of their own, as far ahead of the
// shares as aheadFiles allows: a window of large files can take seconds
// to share while the small-file windows after it take milliseconds each to
// share and more to prepare, so preparing only the next one would leave
// the shares waiting once the large ones are done.
type ahead struct {
	windows chan prepared
	cancel  context.CancelFunc
	mu      sync.Mutex
	room    *sync.Cond
	files   int // files of the windows prepared and not yet taken
}

// aheadFiles bounds the files of the windows prepared ahead (their
// memory; the descriptors have their own budget, see openBudget), and
// aheadWindows their number. A window is prepared whenever fewer files
// wait, so one window larger than aheadFiles still goes.
const (
	aheadFiles   = 8192
	aheadWindows = 16
)

// windowPreparers is how many windows are prepared at once: preparing
// waits mostly on cold metadata and on the database, one window's steps
// after another, so a second preparer keeps the CPU and the device busy
// meanwhile. Windows are independent: they may be shared in any order.
// (A variable so that a test can make the order of preparing windows
// certain.)
var windowPreparers = 2

// prepareAhead starts preparing windows. They arrive on windows as they
// are ready, the channel closing after the last (or after a failure, sent
// as prepared.err).
func (p *pass) prepareAhead(ctx context.Context, scope *store.Scope) *ahead {
	ctx, cancel := context.WithCancel(ctx)
	a := &ahead{windows: make(chan prepared, aheadWindows), cancel: cancel}
	a.room = sync.NewCond(&a.mu)
	var preparers sync.WaitGroup
	for range windowPreparers {
		preparers.Go(func() {
			for a.wait(ctx) {
				w, err := p.prepare(ctx, scope)
				if w == nil && err == nil {
					return // no group left
				}
				nx := prepared{w: w, err: err}
				if w != nil {
					nx.files = w.files()
					a.mu.Lock()
					a.files += nx.files
					a.mu.Unlock()
				}
				a.windows <- nx
				if err != nil {
					return
				}
			}
		})
	}
	go func() {
		preparers.Wait()
		close(a.windows)
	}()
	return a
}

// wait waits until fewer than aheadFiles files wait to be shared, and
// reports whether to go on.
func (a *ahead) wait(ctx context.Context) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.files >= aheadFiles && ctx.Err() == nil {
		a.room.Wait()
	}
	return ctx.Err() == nil
}

// taken tells the preparers that a window left the queue.
func (a *ahead) taken(nx prepared) {
	a.mu.Lock()
	a.files -= nx.files
	a.mu.Unlock()
	a.room.Signal()
}

// stop cancels the preparation, drops the windows prepared and not taken
// (see discard), and waits for the preparers to end (the channel closes
// once they have).
func (a *ahead) stop(p *pass) {
	a.cancel()
	a.mu.Lock()
	a.room.Broadcast()
	a.mu.Unlock()
	for nx := range a.windows {
		p.discard(nx.w)
	}
}

// commits writes the windows' batches in the order they are sent (the
// lanes finish windows in any order; each batch stands alone), on a
// goroutine of its own, so that neither the shares nor the next window
// wait for the database (it has one connection, and the next window's
// preparation uses it too), nor for the transids a batch collects first
// (see collectTransids: a syncfs, and a tree search per shared file). At
// most commitQueue batches wait; the first failure is kept and the later
// batches are dropped (their files stay flagged).
type commits struct {
	queue chan committed
	done  chan struct{}
	mu    sync.Mutex
	err   error
}

// committed is a window's batch, and the destinations shared so far
// whose transids it is to record.
type committed struct {
	batch  *store.Batch
	shared []sharedDest
}

// commitQueue is how many windows' results may wait for their commit: it
// bounds the memory a slow database makes the pass hold (a window's
// results are about a hundred bytes a file). The commit that first
// collects transids (a syncfs, a tree search per file shared) takes as
// long as several windows' shares: with 2 waiting, the shares waited 3 s
// of a 25 s run on many-small.
const commitQueue = 8

// committer starts the goroutine that commits the batches sent to it.
func (p *pass) committer(ctx context.Context) *commits {
	c := &commits{queue: make(chan committed, commitQueue), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for w := range c.queue {
			if c.failed() != nil {
				continue
			}
			err := p.collectTransids(w.shared, w.batch)
			if err == nil {
				err = p.commit(ctx, w.batch)
			}
			if err != nil {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
			}
		}
	}()
	return c
}

// send queues a batch, and the shared destinations whose transids it
// records, waiting while commitQueue batches wait already.
func (c *commits) send(b *store.Batch, shared []sharedDest) { c.queue <- committed{b, shared} }

// failed returns the first commit's failure so far, if any.
func (c *commits) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// finish waits until every batch sent is committed, and returns the first
// failure.
func (c *commits) finish() error {
	close(c.queue)
	<-c.done
	return c.failed()
}

// window is one window's size groups and the batch of their results.
type window struct {
	groups []*group
	batch  *store.Batch
}

// files counts the members of the window's groups that are left to
// share: a group settled while it was prepared (one instance, inline
// files) holds little, and a window of tiny files is mostly such groups.
func (w *window) files() int {
	n := 0
	for _, g := range w.groups {
		if !g.done {
			n += len(g.files)
		}
	}
	return n
}

// prepare loads the next window (see load), examines every member
// (metadata only, on metadataWorkers), narrows its groups by their
// fingerprints (see narrow: reads, on IOThreads, only what the cheaper
// ones left), then plans the sets and logs them as intents. It returns nil
// when no group is left.
func (p *pass) prepare(ctx context.Context, scope *store.Scope) (*window, error) {
	groups, err := p.load(ctx, scope)
	if err != nil || len(groups) == 0 {
		return nil, err
	}
	w := &window{groups: groups, batch: p.db.NewBatch()}
	var all []*file
	for _, g := range groups {
		all = append(all, g.files...)
	}
	// A file's result (a destination's transid is added later: see
	// collectTransids).
	w.batch.Grow(len(all))
	t0 := time.Now()
	if err := parallelOn(ctx, metadataWorkers, len(all), func(i int) { p.examineFile(all[i], w.batch) }); err != nil {
		p.closeFiles(groups)
		return nil, err
	}
	t1 := time.Now()
	p.mu.Lock()
	p.stats.ExamineTime += t1.Sub(t0)
	p.mu.Unlock()
	if err := p.narrow(ctx, w); err != nil {
		p.closeFiles(groups)
		return nil, err
	}
	p.hook(HookRead)
	t2 := time.Now()
	err = p.planAll(ctx, groups)
	p.mu.Lock()
	p.stats.ReadTime += t2.Sub(t1)
	p.stats.ShareTime += time.Since(t2)
	p.mu.Unlock()
	if err != nil {
		p.discard(w)
		return nil, err
	}
	return w, nil
}

// share shares a prepared window group by group, then closes its files.
func (p *pass) share(ctx context.Context, w *window) error {
	defer p.closeFiles(w.groups)
	t0 := time.Now()
	err := p.shareAll(ctx, w.groups, w.batch)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range w.groups {
		p.leave(g, w.batch) // groups left undone: interrupted, or halted
	}
	p.stats.ShareTime += time.Since(t0)
	return err
}

// discard drops a window prepared but not shared: nothing of it is
// recorded, so its files stay flagged for the next run, but for its
// intents, closed as never carried out (were that to fail, the next run
// would find them pending and see that nothing was shared).
func (p *pass) discard(w *window) {
	if w == nil {
		return
	}
	p.closeFiles(w.groups)
	if p.o.DryRun {
		return
	}
	b := p.db.NewBatch()
	for _, g := range w.groups {
		for _, pl := range g.plans {
			if pl.intent != 0 {
				b.IntentDone(pl.intent)
			}
		}
	}
	if b.Len() > 0 {
		b.Commit(context.Background())
	}
}

// closeFiles closes the descriptors the groups' files kept open, giving
// them back to the budget.
func (p *pass) closeFiles(groups []*group) {
	var open []*os.File
	p.mu.Lock()
	for _, g := range groups {
		for _, f := range g.files {
			if f.h != nil {
				open = append(open, f.h)
				f.h = nil
				p.opened--
			}
		}
	}
	p.mu.Unlock()
	for _, h := range open {
		h.Close() // not under p.mu: syscalls
	}
}
