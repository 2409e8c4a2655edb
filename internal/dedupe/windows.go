package dedupe

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/store"
)

// windows handles the pass window by window, in a pipeline: window N+1
// is loaded, examined, read (metadata, csum prints, the reads the kernel's
// compare cannot replace) and planned, its intents logged, while window N
// is shared; window N's results are committed (see commits) while later
// windows are shared. Preparing only reads the filesystem; sharing waits on the
// kernel's compares, which wait on the device: overlapping them keeps
// both the CPU and the device busy, and keeps the database's one
// connection (intents, commits) off the shares' path. Windows hold
// disjoint files (one size each), so neither sees the other's work; a
// freed-bytes estimate planned before the previous window's shares can
// only come out low (an extent that window lets go of still counts its
// user). A filesystem that turns read-only or full halts the pass after
// the window in which it did (or before the next one): what is left stays
// flagged, and a window prepared but not shared is dropped unrecorded (its
// files stay flagged too).
func (p *pass) windows(ctx context.Context, scope *store.Scope) error {
	p.left = sizesLeft{hi: ^uint64(0), top: true}
	cur, err := p.prepare(ctx, scope)
	if err != nil {
		return err
	}
	commits := p.committer(ctx)
	for cur != nil && p.halted == "" {
		if p.readOnly() {
			p.halt(ReasonReadOnlyFS, unix.EROFS)
			p.discard(cur)
			break
		}
		type prepared struct {
			w   *window
			err error
		}
		next := make(chan prepared, 1)
		go func() {
			w, err := p.prepare(ctx, scope)
			next <- prepared{w, err}
		}()
		werr := p.share(ctx, cur)
		nx := <-next
		if err := commits.failed(); err != nil {
			p.discard(nx.w)
			commits.finish()
			return err
		}
		if werr == nil && p.halted == "" {
			werr = nx.err
		}
		if werr != nil || p.halted != "" {
			// Record what was done, then stop.
			p.discard(nx.w)
			commits.send(cur.batch, nil)
			if err := commits.finish(); err != nil {
				return err
			}
			if err := p.recordTransids(ctx); werr == nil {
				werr = err
			}
			return werr
		}
		var shared []*file
		if len(p.shared) >= sharedBatch {
			// Their transids are collected by the commits, off the
			// shares' path.
			shared, p.shared = p.shared, nil
		}
		commits.send(cur.batch, shared)
		cur = nx.w
	}
	if err := commits.finish(); err != nil {
		return err
	}
	return p.recordTransids(ctx)
}

// commits writes the windows' batches in order, on a goroutine of its
// own, so that neither the shares nor the next window wait for the
// database (it has one connection, and the next window's preparation uses
// it too), nor for the transids a batch collects first (see
// collectTransids: a syncfs, and a tree search per shared file). At most
// commitQueue batches wait; the first failure is kept and the later
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
	shared []*file
}

// commitQueue is how many windows' results may wait for their commit: it
// bounds the memory a slow database makes the pass hold.
const commitQueue = 2

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
func (c *commits) send(b *store.Batch, shared []*file) { c.queue <- committed{b, shared} }

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

// prepare loads the next window (see load), examines every member
// (metadata only, on metadataWorkers), reads what must be read (on
// IOThreads), then plans the sets and logs them as intents. It returns nil
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
	t0 := time.Now()
	if err := parallelOn(ctx, metadataWorkers, len(all), func(i int) { p.examineFile(all[i], w.batch) }); err != nil {
		p.closeFiles(groups)
		return nil, err
	}
	p.mu.Lock()
	p.stats.Groups += len(groups)
	for _, g := range groups {
		p.instances(g, w.batch)
	}
	t1 := time.Now()
	p.stats.ExamineTime += t1.Sub(t0)
	p.mu.Unlock()
	if err := p.readAll(ctx, groups); err != nil {
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
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range groups {
		for _, f := range g.files {
			if f.h != nil {
				f.h.Close()
				f.h = nil
				p.opened--
			}
		}
	}
}
