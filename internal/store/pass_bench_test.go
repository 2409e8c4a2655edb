package store

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// passFiles is the number of files of BenchmarkPass: by default the
// many-small bench corpus's 200,000; BEDUP_BENCH_FILES overrides it.
func passFiles() int {
	if n, err := strconv.Atoi(os.Getenv("BEDUP_BENCH_FILES")); err == nil && n > 0 {
		return n
	}
	return 200000
}

// BenchmarkPass runs what a first `bedup dedup --size-cutoff 1` over the
// many-small corpus asks of the store, without a filesystem: two
// subvolumes of small files in a directory tree, one size group for
// about every 4.8 files, scanned, then deduplicated window by window (200
// size groups each): the groups' members loaded, an intent logged per
// group, then every member's result, an event sharing half of the group
// into its first file and the intent done committed; every 16384 shared
// files their transids too. Each phase reports SQLite's counters and Go's
// allocations per file (see sqlStats); profile it with -cpuprofile.
// The windows are loaded a size group at a time (Members) or at once
// (MembersOf).
func BenchmarkPass(b *testing.B) {
	for _, load := range []string{"members", "membersOf"} {
		b.Run("load="+load, func(b *testing.B) {
			for range b.N {
				benchPass(b, passFiles(), load == "membersOf")
			}
		})
	}
}

// BenchmarkPassScan is the scan of BenchmarkPass alone (for larger
// corpora: BEDUP_BENCH_FILES=1000000).
func BenchmarkPassScan(b *testing.B) {
	for range b.N {
		b.StopTimer()
		c := newPassCorpus(passFiles())
		d := openTemp(b)
		_, vols := passVolumes(b, d)
		s := watchSQL(b, d)
		before := s.snap()
		b.StartTimer()
		for _, v := range vols {
			c.scan(b, d, v)
		}
		b.StopTimer()
		s.snap().sub(before).report(b, "scan", passFiles())
		b.StartTimer()
	}
}

// passVolumes makes the filesystem and the two volumes of a pass.
func passVolumes(b *testing.B, d *DB) (fsID int64, vols []int64) {
	ctx := context.Background()
	fs, err := d.EnsureFilesystem(ctx, "u", "")
	if err != nil {
		b.Fatal(err)
	}
	for _, root := range []uint64{5, 256} {
		v, err := d.EnsureVolume(ctx, fs.ID, root, 1)
		if err != nil {
			b.Fatal(err)
		}
		vols = append(vols, v.ID)
	}
	return fs.ID, vols
}

// passCorpus is the synthetic corpus: file i of each volume has inode
// firstFile+i, directory firstDir+i/filesPerDir and size sizes[group[i]].
type passCorpus struct {
	files int   // per volume
	group []int // per file index
	sizes []uint64
}

const (
	passDirsFirst = 257
	passPerDir    = 100
)

func newPassCorpus(files int) *passCorpus {
	r := rand.New(rand.NewPCG(1, 2))
	c := &passCorpus{files: files / 2}
	groups := max(1, files*10/48)
	perm := r.Perm(65536 - 4096)
	for g := range groups {
		c.sizes = append(c.sizes, 4096+uint64(perm[g%len(perm)]))
	}
	for range c.files {
		c.group = append(c.group, r.IntN(groups))
	}
	return c
}

func (c *passCorpus) dirs() int { return (c.files + passPerDir - 1) / passPerDir }

func (c *passCorpus) ino(i int) uint64 { return uint64(passDirsFirst + c.dirs() + i) }

// scan records a volume as a first scan does: directories, then files
// with their parents.
func (c *passCorpus) scan(b *testing.B, d *DB, volID int64) {
	w := d.NewScanWriter(context.Background(), volID)
	w.Fresh()
	for i := range c.dirs() {
		if err := w.SetDirParents(uint64(passDirsFirst+i), []uint64{256}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range c.files {
		ino := c.ino(i)
		if err := w.Upsert(InodeRow{Ino: ino, Size: c.sizes[c.group[i]], Generation: 7, Transid: 9}); err != nil {
			b.Fatal(err)
		}
		if err := w.SetParents(ino, []uint64{uint64(passDirsFirst + i/passPerDir)}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Finish(10, 1); err != nil {
		b.Fatal(err)
	}
}

// passPhases accumulates the counters of each phase of a pass.
type passPhases struct {
	s                      *sqlStats
	load, intents, commits sqlCounts
}

func (p *passPhases) measure(into *sqlCounts, f func()) {
	before := p.s.snap()
	f()
	d := p.s.snap().sub(before)
	into.runs += d.runs
	into.rows += d.rows
	into.steps += d.steps
	into.hits += d.hits
	into.misses += d.misses
	into.writes += d.writes
	into.spills += d.spills
	into.mallocs += d.mallocs
	if into.byStmt == nil {
		into.byStmt = map[string]stmtStats{}
	}
	for k, e := range d.byStmt {
		o := into.byStmt[k]
		into.byStmt[k] = stmtStats{o.runs + e.runs, o.rows + e.rows, o.steps + e.steps}
	}
}

func benchPass(b *testing.B, files int, membersOf bool) {
	b.StopTimer()
	c := newPassCorpus(files)
	d := openTemp(b)
	fsID, vols := passVolumes(b, d)
	s := watchSQL(b, d)
	b.StartTimer()
	before := s.snap()
	for _, v := range vols {
		c.scan(b, d, v)
	}
	scan := s.snap().sub(before)
	p := &passPhases{s: s}
	runPass(b, d, fsID, vols, p, membersOf)
	b.StopTimer()
	scan.report(b, "scan", files)
	p.load.report(b, "load", files)
	p.intents.report(b, "intents", files)
	p.commits.report(b, "commit", files)
	b.StartTimer()
}

// runPass deduplicates the scanned corpus window by window.
func runPass(b *testing.B, d *DB, fsID int64, vols []int64, p *passPhases, membersOf bool) {
	ctx := context.Background()
	scope := Volumes(vols)
	q, err := d.PrepareMembers(ctx, scope)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	var shared []sharedFile
	commit := func(batch *Batch) {
		p.measure(&p.commits, func() {
			if err := batch.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
	for below := ^uint64(0); ; {
		var groups []sizeGroup
		p.measure(&p.load, func() { groups, below = loadWindow(b, d, q, scope, below, membersOf) })
		if len(groups) == 0 {
			break
		}
		var ids []int64
		p.measure(&p.intents, func() {
			if ids, err = d.LogIntents(ctx, windowIntents(fsID, groups)); err != nil {
				b.Fatal(err)
			}
		})
		batch := d.NewBatch()
		shared = windowResults(batch, fsID, groups, ids, shared)
		if len(shared) >= 16384 {
			shared = sharedTransids(batch, shared)
		}
		commit(batch)
	}
	batch := d.NewBatch()
	sharedTransids(batch, shared)
	commit(batch)
}

// windowIntents plans a share per group: its even members into the
// first.
func windowIntents(fsID int64, groups []sizeGroup) []Intent {
	var intents []Intent
	for _, sg := range groups {
		g := sg.members
		in := Intent{FSID: fsID, Size: 4096, Freed: 4096}
		for i := 0; i < len(g); i += 2 {
			in.Inodes = append(in.Inodes, IntentInode{VolID: g[i].VolID, Ino: g[i].Ino, Generation: g[i].Generation})
		}
		intents = append(intents, in)
	}
	return intents
}

// windowResults records a window's results in batch: every member's
// fingerprint, the flag cleared, each group's event and done intent. It
// returns shared with the window's destinations added.
func windowResults(batch *Batch, fsID int64, groups []sizeGroup, ids []int64, shared []sharedFile) []sharedFile {
	hash := make([]byte, 24)
	for gi, g := range groups {
		var event []EventInode
		for i, m := range g.members {
			binary.LittleEndian.PutUint64(hash, m.Ino)
			k := InodeKey{Size: g.size, VolID: m.VolID, Ino: m.Ino}
			batch.SetResult(k, append([]byte(nil), hash...), []byte("extents-16-bytes"), m.Transid, false)
			if i%2 == 0 {
				event = append(event, EventInode{VolID: m.VolID, Ino: m.Ino})
				if i > 0 {
					shared = append(shared, sharedFile{k, m.Transid})
				}
			}
		}
		if len(event) > 1 {
			batch.Event(fsID, 4096, 4096, event)
		}
		batch.IntentDone(ids[gi])
	}
	return shared
}

// sharedTransids records the transids of the shared files, as a share
// bumped them, and returns shared emptied.
func sharedTransids(batch *Batch, shared []sharedFile) []sharedFile {
	for _, f := range shared {
		batch.SetTransid(f.key, f.transid+1)
	}
	return shared[:0]
}

// loadWindow loads the next window's size groups below `below`.
// sizeGroup is a size group as a window loads it.
type sizeGroup struct {
	size    uint64
	members []Member
}

// sharedFile is a destination shared in the pass, with its transid before.
type sharedFile struct {
	key     InodeKey
	transid uint64
}

func loadWindow(b *testing.B, d *DB, q *MembersQuery, scope *Scope, below uint64, membersOf bool) ([]sizeGroup, uint64) {
	ctx := context.Background()
	sizes, err := d.FlaggedSizesBetween(ctx, scope, 0, below, 200, true)
	if err != nil {
		b.Fatal(err)
	}
	if len(sizes) == 0 {
		return nil, 0
	}
	var groups []sizeGroup
	if membersOf {
		m, err := q.MembersOf(ctx, sizes)
		if err != nil {
			b.Fatal(err)
		}
		for _, size := range sizes {
			groups = append(groups, sizeGroup{size, m[size]})
		}
		return groups, sizes[len(sizes)-1]
	}
	for _, size := range sizes {
		m, err := q.Members(ctx, size)
		if err != nil {
			b.Fatal(err)
		}
		groups = append(groups, sizeGroup{size, m})
	}
	return groups, sizes[len(sizes)-1]
}
