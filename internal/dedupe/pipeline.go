package dedupe

import (
	"context"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/glob"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/volume"
)

// Volume is a scanned volume taking part in a dedup pass.
type Volume struct {
	StoreID int64
	V       *volume.Volume
	// Writable volumes may receive shares; the others (read-only
	// subvolumes nobody asked to write into) only serve as sources.
	Writable bool
}

// Options change a dedup pass.
type Options struct {
	// Defrag defragments each source before sharing it (unshares it from
	// snapshots; see the --defrag help). Not done under DryRun.
	Defrag bool
	// IOThreads bounds how many files are read at once (default 1).
	IOThreads int
	// Window is how many size groups are handled per committed batch
	// (default 200).
	Window int
	// DryRun does everything but sharing: files are examined and read,
	// and Shared events and Stats say what would be shared and freed, but
	// no file is changed (no FIDEDUPERANGE, no defrag) and nothing is
	// written to the database, so a real run afterwards shares exactly
	// the sets the dry run reported.
	DryRun bool
	// ResolvePaths resolves the paths of the files in Shared events (one
	// INO_PATHS per file). The file of a Skipped event is always resolved.
	ResolvePaths bool
	// Events receives what the pass does, as it happens, one call at a
	// time (the calls are serialised).
	Events func(Event)
	// Exclude leaves out the files with a name (the volume's path joined
	// with the file's path inside it) that matches: they are neither
	// sources nor destinations, and their flags are cleared (see
	// Stats.Excluded). nil excludes nothing; otherwise each member of a
	// size group with a flagged file costs an INO_PATHS call.
	Exclude *glob.Set
}

// Run deduplicates the flagged size groups of one filesystem's volumes
// (or of one volume), largest sizes first, committing per window. A volume
// restricted to directories (V.Dirs) takes part with the files below them
// only: the others are neither sources nor destinations. It first records
// the shares an interrupted run made but could not log (see intents.go).
func Run(ctx context.Context, db *store.DB, fsID int64, vols []Volume, o Options) (Stats, error) {
	start := time.Now()
	if o.IOThreads <= 0 {
		o.IOThreads = 1
	}
	if o.Window <= 0 {
		o.Window = 200
	}
	p := &pass{db: db, fsID: fsID, o: o, vols: map[int64]*Volume{}}
	ids := make([]int64, 0, len(vols))
	dirs := map[int64][]uint64{} // volumes restricted to directories
	for i := range vols {
		p.vols[vols[i].StoreID] = &vols[i]
		ids = append(ids, vols[i].StoreID)
		dirs[vols[i].StoreID] = vols[i].V.Dirs
		p.top = vols[i].V.FS.Top()
	}
	err := p.run(ctx, ids, dirs)
	if p.halted != "" {
		p.stats.GroupsLeft = p.progress.Groups - p.progress.Group
	}
	p.stats.Elapsed = time.Since(start)
	return p.stats, err
}

// run is Run once the pass is set up.
func (p *pass) run(ctx context.Context, ids []int64, dirs map[int64][]uint64) error {
	db := p.db
	if err := p.reconcile(ctx); err != nil {
		return err
	}
	scope, err := db.NewScope(ctx, ids, dirs)
	if err != nil {
		return err
	}
	defer scope.Close()
	total, err := db.CountFlaggedSizes(ctx, scope)
	if err != nil {
		return err
	}
	p.swaps = activeSwapFiles()
	if p.members, err = db.PrepareMembers(ctx, scope); err != nil {
		return err
	}
	defer p.members.Close()
	p.progress.Groups, p.progress.Started = total, time.Now()
	if p.progress.BytesTotal, err = db.FlaggedBytes(ctx, scope); err != nil {
		return err
	}
	return p.windows(ctx, scope)
}

// readOnly reports whether the filesystem turned read-only (under DryRun
// it does not matter: nothing is written).
func (p *pass) readOnly() bool {
	if p.o.DryRun || p.top == nil {
		return false
	}
	ro, err := btrfs.ReadOnly(p.top)
	return err == nil && ro
}

// commit writes a window's results, except under DryRun, which leaves the
// database as it was.
func (p *pass) commit(ctx context.Context, b *store.Batch) error {
	if p.o.DryRun || b.Len() == 0 {
		return nil
	}
	if err := b.Commit(ctx); err != nil {
		return err
	}
	p.hook(HookCommit)
	return nil
}

// sizesLeft is what is left of a pass: the flagged sizes strictly between
// lo and hi. Windows are taken from its two ends in turn, the largest
// sizes then the smallest: a window of large files mostly waits on the
// device (the kernel's compares), one of small files mostly on metadata
// and the CPU, and the pipeline (see windows) overlaps the preparation of
// one with the shares of the other.
type sizesLeft struct {
	lo, hi uint64
	top    bool // the next window is taken from the top
}

// load reads the next window from the sizes left: up to Window size
// groups, with their members, and narrows what is left.
func (p *pass) load(ctx context.Context, scope *store.Scope) ([]*group, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.loadMu.Lock() // windows are prepared two at a time
	defer p.loadMu.Unlock()
	left := &p.left
	// Sizes outside (lo, hi) are loaded already, though still flagged
	// until their window commits.
	sizes, err := p.db.FlaggedSizesBetween(ctx, scope, left.lo, left.hi, p.o.Window, left.top)
	if err != nil {
		return nil, err
	}
	if len(sizes) > 0 {
		if left.top {
			left.hi = sizes[len(sizes)-1]
		} else {
			left.lo = sizes[len(sizes)-1]
		}
		left.top = !left.top
	}
	bySize, err := p.members.MembersOf(ctx, sizes)
	if err != nil {
		return nil, err
	}
	groups := make([]*group, 0, len(sizes))
	for _, size := range sizes {
		members := bySize[size]
		g := &group{size: size, members: len(members)}
		for _, m := range members {
			g.files = append(g.files, &file{m: m, vol: p.vols[m.VolID], size: size})
		}
		groups = append(groups, g)
	}
	return groups, nil
}

// sharedBatch is how many shared destinations are remembered before
// their transids are collected: it bounds the memory of a pass (one syncfs
// per batch).
const sharedBatch = 16384

// recordTransids collects the remaining transids and commits them.
func (p *pass) recordTransids(ctx context.Context) error {
	if p.o.DryRun {
		return nil // nothing was shared
	}
	b := p.db.NewBatch()
	shared := p.shared
	p.shared = nil
	if err := p.collectTransids(shared, b); err != nil {
		return err
	}
	return b.Commit(ctx)
}

// sharedDest is what collecting a shared destination's transid takes. A
// pass remembers up to sharedBatch destinations until then, so it keeps
// these rather than the files with all they were examined for (the live
// heap is what the memory limit makes the collector work for).
type sharedDest struct {
	vol        *Volume
	key        store.InodeKey
	generation uint64
	print      ExtentPrint // the source's: the extents it now holds
}

// collectTransids adds to b the transid each shared destination has after
// the share, once it is committed, so that the next scan does not flag it
// again: bedup's own dedupe is not a change of content.
func (p *pass) collectTransids(shared []sharedDest, b *store.Batch) error {
	if len(shared) == 0 {
		return nil
	}
	b.Grow(len(shared))
	synced := map[*volume.Filesystem]bool{}
	for _, d := range shared {
		if fs := d.vol.V.FS; !synced[fs] {
			if err := btrfs.Syncfs(fs.Top()); err != nil {
				return err
			}
			synced[fs] = true
		}
	}
	// One tree search a file, on metadataWorkers workers (even when
	// interrupted: what was shared is recorded).
	transids := make([]uint64, len(shared))
	parallelOn(context.Background(), metadataWorkers, len(shared), func(i int) {
		transids[i] = transidAfterShare(shared[i])
	})
	for i, d := range shared {
		if transids[i] != 0 {
			b.SetTransid(d.key, transids[i])
		}
	}
	return nil
}

// transidAfterShare returns a shared destination's transid, or 0 when it
// is gone, replaced, or was written since the share. One tree search gives
// both the inode item and the extent items.
func transidAfterShare(d sharedDest) uint64 {
	ii, items, err := btrfs.InodeExtents(d.vol.V.FS.Top(), d.vol.V.ID, d.key.Ino)
	if err != nil || ii.Generation != d.generation {
		return 0 // gone or replaced meanwhile: the scan will see it
	}
	// A write that landed in the same transaction as the share has the
	// same transid; it also moved the data, which the extent map shows.
	// Such a file keeps its newer transid unrecorded, so it is flagged.
	if !itemsPrint(items, d.key.Size).Equal(d.print) {
		return 0
	}
	return ii.Transid
}

type pass struct {
	db       *store.DB
	fsID     int64
	o        Options
	vols     map[int64]*Volume
	stats    Stats
	progress Progress
	shared   []sharedDest // destinations shared so far
	members  *store.MembersQuery
	swaps    map[[2]uint64]bool // (dev, ino) of active swap files
	top      *os.File           // the filesystem's top-level directory
	halted   Reason             // why the pass stopped early, if it did
	opened   int                // descriptors the windows in flight keep open
	left     sizesLeft          // the sizes no window has loaded yet
	loadMu   sync.Mutex         // guards left
	mu       sync.Mutex         // guards stats, files and instances during parallel work
	// the checksum geometry and type, asked once (see csumGeometry)
	geo      btrfs.CsumGeometry
	csumType uint16
	geoAsked sync.Once
	csums    csumCache // checksums fetched in the current generation
}

// file is one member of a size group, examined.
type file struct {
	h     *os.File // open from examination to sharing, when the budget allows
	size  uint64
	m     store.Member
	vol   *Volume
	nocow bool
	immut bool
	// unwritten: some extent is preallocated and not yet written, so a
	// write may land in place without changing the extent map's addresses
	unwritten bool
	print     ExtentPrint
	shared    uint64 // bytes on extents the kernel says are shared
	located   uint64 // bytes on located extents
	inline    bool
	inst      *instance // the instance it belongs to, once sorted
	// stillHolds: its stored fingerprint describes its data (see
	// pass.stillHolds)
	stillHolds bool
	skip       Reason // set when the file takes no part
	keepFlag   bool   // stays flagged: worth another look in a later run
	deferred   bool   // kept for a reason that can pass (Stats.Deferred)
	frozen     bool   // kept only because its volume is read-only
	// sharedExt are the extents FIEMAP calls shared (usually none): the
	// others are used by this file alone.
	sharedExt []btrfs.Extent
	// csumExt: the disk ranges of its data, in file order, when it may
	// have a csum print (see csumExtents)
	csumExt [][2]uint64
	// data: the file ranges its extents cover when it has holes, nil when
	// it has none (see dataRanges)
	data [][2]uint64
}

// key names the file's row: size is the group's, the size it is tracked
// with.
func (f *file) key() store.InodeKey {
	return store.InodeKey{Size: f.size, VolID: f.m.VolID, Ino: f.m.Ino}
}

// instance is a set of files that already share all their data.
type instance struct {
	files  []*file
	print  ExtentPrint
	hash   []byte // XXH3-128 then XXH3-64 sample, 24 bytes, a csum print (17), or nil
	sample uint64
	hasSmp bool
	rep    *file // the file read for the instance
	stored bool  // hash is the stored one, not read in this pass
	// suspect: the stored hash was contradicted by the kernel (it found a
	// destination different from its source); it is not kept
	suspect bool
	csum    bool // hash is a csum print (csumprint.go)
	noCsum  bool // its stored readMark says: read it, no csum print
}

type group struct {
	size      uint64
	members   int
	files     []*file
	instances []*instance
	plans     []*plan
	steps     []step // what execute does, in order
	done      bool   // nothing left to do after examination
	executed  bool   // its plans were carried out
	// cut: a halt (see pass.halt) left some of its destinations unasked or
	// refused; one that came while its own shares went through (another
	// lane's) does not cut it
	cut           bool
	alreadyShared bool // all members shared their extents already
	csum          bool // its instances are told apart by csum prints: none is read
	sets          int  // identical sets found
}

// open opens a member by file handle, read-only.
func (p *pass) open(f *file) (*os.File, error) {
	h, _, err := p.openStat(f)
	return h, err
}

// openStat is open that also returns the status the open checked the file
// with (examination needs its size and device).
func (p *pass) openStat(f *file) (*os.File, unix.Stat_t, error) {
	v := f.vol.V
	return btrfs.OpenByHandleStat(v.FS.Top(), v.ID, f.m.Ino, f.m.Generation)
}

// handle returns the member's open descriptor, or opens one that the
// caller closes with release.
func (p *pass) handle(f *file) (*os.File, error) {
	if f.h != nil {
		return f.h, nil
	}
	return p.open(f)
}

// handleLocked is handle for a caller holding p.mu: it lets go of the
// lock while it opens (a syscall that may wait on the device), so that
// the other groups' work goes on meanwhile.
func (p *pass) handleLocked(f *file) (*os.File, error) {
	if f.h != nil {
		return f.h, nil
	}
	p.mu.Unlock()
	defer p.mu.Lock()
	return p.open(f)
}

// release closes a descriptor from handle unless it is the member's own.
func release(f *file, h *os.File) {
	if h != f.h {
		h.Close()
	}
}

// maxOpen bounds the descriptors a window keeps open between its phases;
// beyond it, files are reopened by handle when needed (see openBudget).
var maxOpen = openBudget(btrfs.DescriptorLimit())

// planAll plans the sets of every group (source, destinations, what
// sharing frees), in parallel, then logs them as intents.
func (p *pass) planAll(ctx context.Context, groups []*group) error {
	err := parallelOn(ctx, metadataWorkers, len(groups), func(i int) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.plan(groups[i])
	})
	if err != nil {
		return err
	}
	return p.logIntents(ctx, groups)
}

// shareAll shares the planned sets. Groups are independent: they are
// shared in parallel; everything but the kernel's work runs under p.mu
// (see sharePlan).
func (p *pass) shareAll(ctx context.Context, groups []*group, b *store.Batch) error {
	// The prefetch runs beside the shares: each compare waits only for
	// its own pages, while the device works on the next files' too.
	prefetched := make(chan struct{})
	go func() { prefetchPlans(groups); close(prefetched) }()
	defer func() { <-prefetched }() // it uses the window's descriptors
	return p.parallel(ctx, len(groups), func(i int) {
		if ctx.Err() != nil {
			return
		}
		g := groups[i]
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.halted != "" && !g.done {
			return
		}
		p.execute(g, b)
		if g.cut {
			return // not done: counted in Stats.GroupsLeft
		}
		p.emit(GroupDone{Size: g.size, Members: len(g.files), AlreadyShared: g.alreadyShared, Sets: g.sets})
		p.progress.Group++
		p.progress.Size = g.size
		p.progress.BytesDone += int64(g.size) * int64(g.members)
		p.progress.BytesRead, p.progress.BytesDeduped = p.stats.BytesRead, p.stats.BytesDeduped
		p.emit(p.progress)
	})
}

// parallel runs fn(0..n-1) on up to IOThreads goroutines: for the work
// that reads files' data, which on a rotating disk only seeks more with
// more readers.
func (p *pass) parallel(ctx context.Context, n int, fn func(int)) error {
	return parallelOn(ctx, p.o.IOThreads, n, fn)
}

// metadataWorkers is how many goroutines do the work that reads only
// metadata (examining files, planning sets, reading transids back): small
// random reads of b-tree leaves, cold in a first run, which any device
// serves better with more of them queued (a disk orders them by
// position), and which mostly wait rather than compute.
const metadataWorkers = 8

// parallelOn runs fn(0..n-1) on up to workers goroutines, until ctx is
// done.
func parallelOn(ctx context.Context, workers, n int, fn func(int)) error {
	var eg errgroup.Group // no derived context: Wait would cancel it
	eg.SetLimit(max(workers, 1))
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		eg.Go(func() error { fn(i); return nil })
	}
	eg.Wait()
	return ctx.Err()
}
