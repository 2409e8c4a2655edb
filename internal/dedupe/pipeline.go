package dedupe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
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
	// snapshots; see the --defrag help).
	Defrag bool
	// IOThreads bounds how many files are read at once (default 1).
	IOThreads int
	// Window is how many size groups are handled per committed batch
	// (default 200).
	Window int
	// Notice receives one line per file skipped, with the reason.
	Notice func(string)
	// Progress is called after every size group.
	Progress func(Progress)
}

// Progress is the running state of a pass, for a status line.
type Progress struct {
	Group, Groups         int    // size groups done, and in all
	Size                  uint64 // size of the current group
	BytesDone, BytesTotal int64  // tracked bytes of the groups done, and in all
	BytesRead             int64
	BytesDeduped          int64
	Started               time.Time
}

// Stats say what a pass did. Tests read them to prove that nothing was read
// or asked of the kernel when nothing needed it.
type Stats struct {
	Groups        int // size groups with a flagged member
	AlreadyShared int // groups whose members already shared all data
	FilesSampled  int
	FilesHashed   int
	BytesRead     int64 // file data read for samples and hashes
	DedupeCalls   int   // FIDEDUPERANGE ioctls
	FilesShared   int   // destinations that now share a source's extents
	BytesDeduped  int64 // bytes of those destinations
	BytesFreed    int64 // estimated: exclusive extents of fully redirected copies
	Dropped       int   // tracked inodes that no longer exist
	Skipped       map[Reason]int
	Elapsed       time.Duration
	// Time spent examining members (FIEMAP), reading them, and sharing.
	ExamineTime, ReadTime, ShareTime time.Duration
}

// Add adds the counts and times of another pass (of another filesystem).
func (s *Stats) Add(o Stats) {
	s.Groups += o.Groups
	s.AlreadyShared += o.AlreadyShared
	s.FilesSampled += o.FilesSampled
	s.FilesHashed += o.FilesHashed
	s.BytesRead += o.BytesRead
	s.DedupeCalls += o.DedupeCalls
	s.FilesShared += o.FilesShared
	s.BytesDeduped += o.BytesDeduped
	s.BytesFreed += o.BytesFreed
	s.Dropped += o.Dropped
	s.ExamineTime += o.ExamineTime
	s.ReadTime += o.ReadTime
	s.ShareTime += o.ShareTime
	for r, n := range o.Skipped {
		if s.Skipped == nil {
			s.Skipped = map[Reason]int{}
		}
		s.Skipped[r] += n
	}
}

func (s *Stats) skip(r Reason) {
	if s.Skipped == nil {
		s.Skipped = map[Reason]int{}
	}
	s.Skipped[r]++
}

// More reasons a file is skipped by the pipeline.
const (
	ReasonChanged     Reason = "changed while being deduplicated (kept for the next run)"
	ReasonUnreadable  Reason = "cannot be read"
	ReasonNocowAlone  Reason = "NOCOW flag differs from its identical copies (the kernel refuses to share between them)"
	ReasonReadOnlyVol Reason = "in a read-only subvolume (name it or use --include-frozen to deduplicate inside it)"
)

// Run deduplicates the flagged size groups of one filesystem's volumes
// (or of one volume), largest sizes first, committing per window. A volume
// restricted to directories (V.Dirs) takes part with the files below them
// only: the others are neither sources nor destinations.
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
	}
	defer func() { p.stats.Elapsed = time.Since(start) }()
	scope, err := db.NewScope(ctx, ids, dirs)
	if err != nil {
		return p.stats, err
	}
	defer scope.Close()
	total, err := db.CountFlaggedSizes(ctx, scope)
	if err != nil {
		return p.stats, err
	}
	p.swaps = activeSwapFiles()
	if p.members, err = db.PrepareMembers(ctx, scope); err != nil {
		return p.stats, err
	}
	defer p.members.Close()
	p.progress.Groups, p.progress.Started = total, start
	if p.progress.BytesTotal, err = db.FlaggedBytes(ctx, scope); err != nil {
		return p.stats, err
	}
	// Window N's results are committed while window N+1 is examined, read
	// and shared: only loading a window and committing one use the
	// database, and they take turns.
	groups, err := p.load(ctx, scope, ^uint64(0))
	if err != nil {
		return p.stats, err
	}
	var pending chan error
	wait := func() error {
		if pending == nil {
			return nil
		}
		err := <-pending
		pending = nil
		return err
	}
	for len(groups) > 0 {
		batch := db.NewBatch()
		werr := p.window(ctx, groups, batch)
		if err := wait(); err != nil {
			return p.stats, err
		}
		if werr != nil {
			// Record what was done, then stop.
			if err := batch.Commit(ctx); err != nil {
				return p.stats, err
			}
			p.recordTransids(ctx)
			return p.stats, werr
		}
		if len(p.shared) >= sharedBatch {
			if err := p.collectTransids(batch); err != nil {
				batch.Commit(ctx)
				return p.stats, err
			}
		}
		next, err := p.load(ctx, scope, groups[len(groups)-1].size)
		if err != nil {
			batch.Commit(ctx)
			return p.stats, err
		}
		pending = make(chan error, 1)
		go func(b *store.Batch, done chan<- error) { done <- b.Commit(ctx) }(batch, pending)
		groups = next
	}
	if err := wait(); err != nil {
		return p.stats, err
	}
	return p.stats, p.recordTransids(ctx)
}

// load reads the next window: up to Window size groups below `below`,
// largest first, with their members.
func (p *pass) load(ctx context.Context, scope *store.Scope, below uint64) ([]*group, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sizes, err := p.db.FlaggedSizes(ctx, scope, below, p.o.Window)
	if err != nil {
		return nil, err
	}
	groups := make([]*group, 0, len(sizes))
	for _, size := range sizes {
		members, err := p.members.Members(ctx, size)
		if err != nil {
			return nil, err
		}
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
	b := p.db.NewBatch()
	if err := p.collectTransids(b); err != nil {
		return err
	}
	return b.Commit(ctx)
}

// collectTransids adds to b the transid each shared destination has after
// the share, once it is committed, so that the next scan does not flag it
// again: bedup's own dedupe is not a change of content.
func (p *pass) collectTransids(b *store.Batch) error {
	if len(p.shared) == 0 {
		return nil
	}
	synced := map[*volume.Filesystem]bool{}
	for _, f := range p.shared {
		fs := f.vol.V.FS
		if !synced[fs] {
			if err := btrfs.Syncfs(fs.Top()); err != nil {
				return err
			}
			synced[fs] = true
		}
		ii, err := btrfs.InodeItemOf(fs.Top(), f.vol.V.ID, f.m.Ino)
		if err != nil || ii.Generation != f.m.Generation {
			continue // gone or replaced meanwhile: the scan will see it
		}
		// A write that landed in the same transaction as the share has the
		// same transid; it also moved the data, which the extent map shows.
		// Such a file keeps its newer transid unrecorded, so it is flagged.
		h, err := p.open(f)
		if err != nil {
			continue
		}
		ext, err := btrfs.Fiemap(h)
		h.Close()
		if err != nil || !Print(ext, f.size).Equal(f.print) {
			continue
		}
		b.SetTransid(f.m.VolID, f.m.Ino, ii.Transid)
	}
	p.shared = nil
	return nil
}

// testHookBeforeShare, when set by a test, runs between hashing and
// sharing: the window where another process may change a file.
var testHookBeforeShare func()

type pass struct {
	db       *store.DB
	fsID     int64
	o        Options
	vols     map[int64]*Volume
	stats    Stats
	progress Progress
	shared   []*file // destinations shared so far
	members  *store.MembersQuery
	swaps    map[[2]uint64]bool // (dev, ino) of active swap files
	opened   int                // descriptors the window keeps open
	mu       sync.Mutex         // guards stats, files and instances during parallel work
}

// file is one member of a size group, examined.
type file struct {
	h        *os.File // open from examination to sharing, when the budget allows
	size     uint64
	m        store.Member
	vol      *Volume
	nocow    bool
	immut    bool
	print    ExtentPrint
	shared   uint64 // bytes on extents the kernel says are shared
	located  uint64 // bytes on located extents
	inline   bool
	skip     Reason // set when the file takes no part
	keepFlag bool   // skipped for a reason worth retrying
}

// instance is a set of files that already share all their data.
type instance struct {
	files  []*file
	print  ExtentPrint
	hash   []byte // XXH3-128 then XXH3-64 sample, 24 bytes, or nil
	sample uint64
	hasSmp bool
	rep    *file // the file read for the instance
	failed bool
}

type group struct {
	size      uint64
	members   int
	files     []*file
	instances []*instance
	done      bool // nothing left to do after examination
}

func (p *pass) notice(f *file, r Reason, err error) {
	p.stats.skip(r)
	if p.o.Notice == nil {
		return
	}
	msg := fmt.Sprintf("%s: %s", p.name(f), r)
	if err != nil {
		msg += fmt.Sprintf(" (%v)", err)
	}
	p.o.Notice(msg)
}

// name gives a file's path for messages (resolved only when needed).
func (p *pass) name(f *file) string {
	v := f.vol.V
	h, err := p.handle(f)
	if err == nil {
		defer release(f, h)
		if paths, _, err := btrfs.InoPaths(h, f.m.Ino); err == nil && len(paths) > 0 {
			return path.Join(v.Desc, paths[0])
		}
	}
	return fmt.Sprintf("%s/<inode %d>", v.Desc, f.m.Ino)
}

// open opens a member by file handle, read-only.
func (p *pass) open(f *file) (*os.File, error) {
	v := f.vol.V
	return btrfs.OpenByHandle(v.FS.Top(), v.ID, f.m.Ino, f.m.Generation)
}

// handle returns the member's open descriptor, or opens one that the
// caller closes with release.
func (p *pass) handle(f *file) (*os.File, error) {
	if f.h != nil {
		return f.h, nil
	}
	return p.open(f)
}

// release closes a descriptor from handle unless it is the member's own.
func release(f *file, h *os.File) {
	if h != f.h {
		h.Close()
	}
}

// maxOpen bounds the descriptors a window keeps open between its phases;
// beyond it, files are reopened by handle when needed.
const maxOpen = 4096

func gone(err error) bool {
	return errors.Is(err, unix.ESTALE) || errors.Is(err, unix.ENOENT) || errors.Is(err, btrfs.ErrNotRegular) || errors.Is(err, unix.EISDIR)
}

// window handles the size groups of one window: examine every member
// (metadata only), read what must be read, then share group by group. The
// examination and the reads use up to IOThreads workers.
func (p *pass) window(ctx context.Context, groups []*group, b *store.Batch) error {
	defer func() {
		for _, g := range groups {
			for _, f := range g.files {
				if f.h != nil {
					f.h.Close()
					f.h = nil
				}
			}
		}
		p.opened = 0
	}()
	var all []*file
	for _, g := range groups {
		p.stats.Groups++
		all = append(all, g.files...)
	}
	t0 := time.Now()
	if err := p.parallel(ctx, len(all), func(i int) { p.examineFile(all[i], b) }); err != nil {
		return err
	}
	for _, g := range groups {
		p.instances(g, b)
	}
	t1 := time.Now()
	p.stats.ExamineTime += t1.Sub(t0)
	if err := p.readAll(ctx, groups); err != nil {
		return err
	}
	if testHookBeforeShare != nil {
		testHookBeforeShare()
	}
	t2 := time.Now()
	p.stats.ReadTime += t2.Sub(t1)
	defer func() { p.stats.ShareTime += time.Since(t2) }()
	// Groups are independent: share them in parallel. Everything but the
	// kernel's compare-and-share runs under p.mu (see shareSet).
	return p.parallel(ctx, len(groups), func(i int) {
		if ctx.Err() != nil {
			return
		}
		g := groups[i]
		p.mu.Lock()
		defer p.mu.Unlock()
		p.share(g, b)
		p.progress.Group++
		p.progress.Size = g.size
		p.progress.BytesDone += int64(g.size) * int64(g.members)
		if p.o.Progress != nil {
			p.progress.BytesRead, p.progress.BytesDeduped = p.stats.BytesRead, p.stats.BytesDeduped
			p.o.Progress(p.progress)
		}
	})
}

// parallel runs fn(0..n-1) on up to IOThreads goroutines.
func (p *pass) parallel(ctx context.Context, n int, fn func(int)) error {
	var eg errgroup.Group // no derived context: Wait would cancel it
	eg.SetLimit(p.o.IOThreads)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		eg.Go(func() error { fn(i); return nil })
	}
	eg.Wait()
	return ctx.Err()
}

// examineFile opens one member for its metadata (size, flags, extent
// map), keeping the descriptor while the window's budget allows.
func (p *pass) examineFile(f *file, b *store.Batch) {
	h, err := p.open(f)
	p.mu.Lock()
	defer p.mu.Unlock()
	if gone(err) {
		b.Drop(f.m.VolID, f.m.Ino)
		p.stats.Dropped++
		f.skip = reasonGone
		return
	}
	if err != nil {
		f.skip, f.keepFlag = ReasonUnreadable, true
		p.notice(f, ReasonUnreadable, err)
		return
	}
	p.mu.Unlock()
	err = p.describe(f, h)
	p.mu.Lock()
	if err != nil {
		f.skip, f.keepFlag = ReasonUnreadable, true
		p.notice(f, ReasonUnreadable, err)
	}
	if f.skip == ReasonSwapfile {
		p.notice(f, ReasonSwapfile, nil)
	}
	if f.skip == "" && !f.inline && p.opened < maxOpen {
		f.h = h
		p.opened++
	} else {
		h.Close()
	}
}

// activeSwapFiles lists the swap files in use (/proc/swaps), which the
// kernel refuses to share into.
func activeSwapFiles() map[[2]uint64]bool {
	b, err := os.ReadFile("/proc/swaps")
	if err != nil {
		return nil
	}
	m := map[[2]uint64]bool{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[1] != "file" {
			continue
		}
		// /proc/swaps escapes spaces in paths as \040.
		name := strings.ReplaceAll(fields[0], "\\040", " ")
		if fi, err := os.Stat(name); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				m[[2]uint64{st.Dev, st.Ino}] = true
			}
		}
	}
	return m
}

// reasonGone marks a member whose inode no longer exists (its row is
// dropped; it is no skip worth counting).
const reasonGone Reason = "gone"

// instances sorts a group's examined members into instances: files with
// the same extent print share their data. A group left with fewer than two
// instances needs no read and no ioctl.
func (p *pass) instances(g *group, b *store.Batch) {
	var files []*file
	for _, f := range g.files {
		if f.skip != reasonGone {
			files = append(files, f)
		}
	}
	g.files = files
	byPrint := map[string]*instance{}
	for _, f := range g.files {
		if f.skip != "" || f.inline {
			continue
		}
		key := string(f.print)
		in := byPrint[key]
		if in == nil || f.print == nil {
			in = &instance{print: f.print}
			if f.print != nil {
				byPrint[key] = in
			}
			g.instances = append(g.instances, in)
		}
		in.files = append(in.files, f)
		// A fingerprint stored with the same extent map still holds.
		if !in.hasSmp && f.print.Equal(ExtentPrint(f.m.Extents)) {
			switch len(f.m.Hash) {
			case 24:
				in.hash = f.m.Hash
				fallthrough
			case 8:
				in.sample, in.hasSmp = binary.LittleEndian.Uint64(f.m.Hash[len(f.m.Hash)-8:]), true
			}
		}
	}
	if len(g.instances) < 2 {
		if len(g.instances) == 1 && len(g.files) > 1 {
			p.stats.AlreadyShared++
		}
		g.done = true
		p.finish(g, b)
	}
}

// describe fills a file's facts from its open descriptor.
func (p *pass) describe(f *file, h *os.File) error {
	size := f.size
	st, err := btrfs.Fstat(h)
	if err != nil {
		return err
	}
	if uint64(st.Size) != size {
		f.skip, f.keepFlag = ReasonChanged, true
		return nil
	}
	if p.swaps[[2]uint64{st.Dev, st.Ino}] {
		f.skip = ReasonSwapfile // the kernel would answer ETXTBSY
		return nil
	}
	flags, err := btrfs.GetFlags(h)
	if err != nil {
		return err
	}
	f.nocow, f.immut = flags&btrfs.FlagNocow != 0, flags&btrfs.FlagImmutable != 0
	ext, err := btrfs.Fiemap(h)
	if err != nil {
		return err
	}
	f.inline = btrfs.HasInline(ext)
	f.print = Print(ext, size)
	for _, e := range ext {
		if e.Located() {
			f.located += e.Length
			if e.Shared() {
				f.shared += e.Length
			}
		}
	}
	return nil
}

// finish records the outcome of a group whose files were not shared:
// flags cleared (unless worth retrying), hashes and prints kept.
func (p *pass) finish(g *group, b *store.Batch) {
	for _, in := range g.instances {
		stored := in.hash
		if stored == nil && in.hasSmp {
			stored = binary.LittleEndian.AppendUint64(nil, in.sample)
		}
		for _, f := range in.files {
			if !f.m.Flagged && bytes.Equal(f.m.Hash, stored) && bytes.Equal(f.m.Extents, f.print) {
				continue
			}
			b.SetResult(f.m.VolID, f.m.Ino, stored, f.print, f.keepFlag)
		}
	}
	for _, f := range g.files {
		if (f.skip != "" || f.inline) && f.m.Flagged != f.keepFlag {
			b.SetFlag(f.m.VolID, f.m.Ino, f.keepFlag)
		}
	}
}

type readJob struct {
	in     *instance
	size   uint64
	sample bool
}

// smallFile is the size up to which one sequential read of the whole file
// (giving the sample and the full hash at once) costs no more than the
// three scattered sample reads.
const smallFile = 64 << 10

// readAll computes what the window's groups need: a sample of each
// instance without a stored one (the full hash at once for small files),
// then the full hash of those whose sample matches another instance's.
func (p *pass) readAll(ctx context.Context, groups []*group) error {
	var jobs []readJob
	for _, g := range groups {
		if g.done {
			continue
		}
		for _, in := range g.instances {
			if !in.hasSmp {
				jobs = append(jobs, readJob{in: in, size: g.size, sample: g.size > smallFile})
			}
		}
	}
	if err := p.parallel(ctx, len(jobs), func(i int) { p.read(jobs[i]) }); err != nil {
		return err
	}
	jobs = jobs[:0]
	for _, g := range groups {
		if g.done {
			continue
		}
		count := map[uint64]int{}
		for _, in := range g.instances {
			if in.hasSmp {
				count[in.sample]++
			}
		}
		for _, in := range g.instances {
			if in.hash == nil && in.hasSmp && count[in.sample] > 1 {
				jobs = append(jobs, readJob{in: in, size: g.size})
			}
		}
	}
	return p.parallel(ctx, len(jobs), func(i int) { p.read(jobs[i]) })
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, readBuf); return &b }}

// read samples or hashes one instance through one of its files.
func (p *pass) read(j readJob) {
	in := j.in
	for _, f := range in.files {
		h, err := p.handle(f)
		if err != nil {
			continue
		}
		if j.sample {
			s, err := Sample(h, j.size)
			release(f, h)
			if err != nil {
				continue
			}
			p.mu.Lock()
			in.sample, in.hasSmp = s, true
			p.stats.FilesSampled++
			p.stats.BytesRead += min(int64(j.size), 3*sampleSize)
			p.mu.Unlock()
			return
		}
		bp := bufPool.Get().(*[]byte)
		sum, smp, n, err := Hash(h, j.size, *bp)
		bufPool.Put(bp)
		release(f, h)
		p.mu.Lock()
		p.stats.BytesRead += n
		p.mu.Unlock()
		if err != nil || uint64(n) != j.size {
			continue
		}
		hash := make([]byte, 24)
		copy(hash, sum[:])
		binary.LittleEndian.PutUint64(hash[16:], smp)
		p.mu.Lock()
		in.hash, in.rep = hash, f
		in.sample, in.hasSmp = smp, true
		p.stats.FilesHashed++
		p.mu.Unlock()
		return
	}
	p.mu.Lock()
	in.failed = true
	p.mu.Unlock()
}

// share makes the identical instances of a group share one source's
// extents.
func (p *pass) share(g *group, b *store.Batch) {
	if g.done {
		return
	}
	// Identical instances, by hash and by NOCOW class: the kernel refuses
	// to share between files whose data checksumming differs.
	type key struct {
		hash  string
		nocow bool
	}
	sets := map[key][]*instance{}
	hashes := map[string]map[bool]bool{}
	for _, in := range g.instances {
		if in.hash == nil {
			continue
		}
		nocow := in.files[0].nocow
		k := key{string(in.hash[:16]), nocow}
		sets[k] = append(sets[k], in)
		if hashes[k.hash] == nil {
			hashes[k.hash] = map[bool]bool{}
		}
		hashes[k.hash][nocow] = true
	}
	keys := make([]key, 0, len(sets))
	for k := range sets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].hash != keys[j].hash {
			return keys[i].hash < keys[j].hash
		}
		return !keys[i].nocow
	})
	for _, k := range keys {
		set := sets[k]
		if len(hashes[k.hash]) > 1 && len(set) == 1 {
			// Its identical copies are on the other side of the NOCOW line.
			for _, f := range set[0].files {
				if f.vol.Writable {
					p.notice(f, ReasonNocowAlone, nil)
				}
			}
		}
		if len(set) < 2 {
			continue
		}
		p.shareSet(g.size, set, b)
	}
	p.finish(g, b)
}

// source picks the instance to share from: the one whose extents are most
// shared already (pinned by snapshots: sharing from it frees everything
// else), then one that cannot be written anyway, then the one with the
// fewest allocated bytes (a sparse copy), then the lowest (subvolume,
// inode) as in the original.
func source(set []*instance) *instance {
	best := set[0]
	score := func(in *instance) (uint64, bool, uint64, uint64, uint64) {
		var shared uint64
		writable := false
		for _, f := range in.files {
			shared = max(shared, f.shared)
			writable = writable || f.vol.Writable
		}
		f := in.files[0]
		return shared, !writable, f.located, f.vol.V.ID, f.m.Ino
	}
	for _, in := range set[1:] {
		s1, r1, l1, v1, i1 := score(in)
		s2, r2, l2, v2, i2 := score(best)
		switch {
		case s1 != s2:
			if s1 > s2 {
				best = in
			}
		case r1 != r2:
			if r1 {
				best = in
			}
		case l1 != l2:
			if l1 < l2 {
				best = in
			}
		case v1 != v2:
			if v1 < v2 {
				best = in
			}
		case i1 < i2:
			best = in
		}
	}
	return best
}

// shareSet shares one source instance into every writable file of the
// other instances of an identical set, and logs the event. It is called
// with p.mu held and releases it only around the ioctls.
func (p *pass) shareSet(size uint64, set []*instance, b *store.Batch) {
	src := source(set)
	rep := src.rep
	if rep == nil {
		rep = src.files[0]
	}
	sf, err := p.handle(rep)
	if err != nil {
		for _, in := range set {
			for _, f := range in.files {
				f.keepFlag = true
			}
		}
		p.notice(rep, ReasonUnreadable, err)
		return
	}
	defer release(rep, sf)
	if p.o.Defrag && rep.vol.Writable {
		p.mu.Unlock()
		err := btrfs.Defrag(sf)
		p.mu.Lock()
		if err != nil {
			p.notice(rep, ReasonRefused, err)
		} else if ext, err := btrfs.Fiemap(sf); err == nil {
			src.print = Print(ext, size)
			for _, f := range src.files {
				f.print = src.print
			}
		}
	}
	type dest struct {
		f  *file
		in *instance
	}
	var dests []dest
	for _, in := range set {
		if in == src {
			continue
		}
		for _, f := range in.files {
			switch {
			case !f.vol.Writable:
				// Kept flagged: a later run that may write into its
				// subvolume (named, or --include-frozen) takes it up.
				p.stats.skip(ReasonReadOnlyVol)
				f.keepFlag = true
			case f.immut:
				p.notice(f, ReasonImmutable, nil)
			default:
				dests = append(dests, dest{f, in})
			}
		}
	}
	event := []store.EventInode{{VolID: rep.m.VolID, Ino: rep.m.Ino}}
	ok := map[*file]bool{}
	for len(dests) > 0 {
		batch := dests[:min(len(dests), btrfs.MaxDedupeDests)]
		dests = dests[len(batch):]
		var open []btrfs.DedupeDest
		var which []dest
		for _, d := range batch {
			h, err := p.handle(d.f)
			if err != nil {
				d.f.keepFlag = !gone(err)
				p.notice(d.f, ReasonUnreadable, err)
				continue
			}
			open = append(open, btrfs.DedupeDest{File: h})
			which = append(which, d)
		}
		p.mu.Unlock() // the long part: the kernel reads and compares
		res := btrfs.Dedupe(sf, 0, size, open)
		p.mu.Lock()
		calls := 0
		for i, r := range res {
			d := which[i]
			release(d.f, open[i].File)
			calls = max(calls, r.Calls) // one ioctl per chunk serves the whole batch
			switch r.Status {
			case btrfs.DedupeSame:
				ok[d.f] = true
				p.shared = append(p.shared, d.f)
				p.stats.FilesShared++
				p.stats.BytesDeduped += int64(size)
				event = append(event, store.EventInode{VolID: d.f.m.VolID, Ino: d.f.m.Ino})
			case btrfs.DedupeDiffers:
				d.f.keepFlag = true
				p.notice(d.f, ReasonChanged, nil)
			default:
				reason := reasonFor(r.Err)
				d.f.keepFlag = reason == ReasonBusy || reason == ReasonIO || reason == ReasonRefused
				p.notice(d.f, reason, r.Err)
			}
		}
		p.stats.DedupeCalls += calls
	}
	var freed uint64
	for _, in := range set {
		if in == src {
			continue
		}
		all := true
		for _, f := range in.files {
			if ok[f] {
				f.print = src.print // it now holds the source's extents
			} else {
				all = false
			}
		}
		// The old extents are free only when no file of the instance still
		// uses them, and only the part nobody else (a snapshot) shares.
		if all {
			freed += in.files[0].located - min(in.files[0].located, in.files[0].shared)
			in.print, in.hash = src.print, src.hash
		}
	}
	p.stats.BytesFreed += int64(freed)
	if len(event) > 1 {
		b.Event(p.fsID, size, freed, event)
	}
}
