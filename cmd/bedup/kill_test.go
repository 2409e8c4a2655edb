package main

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/testfs"
)

// killSeed seeds the kill points (BEDUP_KILL_SEED overrides it, to replay
// or explore).
const killSeed = 20260417

// minKills is how many runs the suite kills at least.
const minKills = 30

// TestKillAnywhere kills dedup with SIGKILL at seeded pseudo-random points
// (after a window's reads, after its intents are logged, right after a
// FIDEDUPERANGE, after a window's commit), in windows of 2 size groups, on
// a corpus with a read-only snapshot, extended attributes, flags, hard
// links, sparse and preallocated files and odd names; a new batch of work
// is added before each kill. After each kill: every file is as it was (no
// byte, mode, owner, time, flag or attribute changed), no file is half
// shared, the database passes integrity_check; then a rerun shares every
// group and the history lists each file that received a source's extents
// exactly once. In the end a further run does nothing.
func TestKillAnywhere(t *testing.T) {
	seed := uint64(killSeed)
	if s := os.Getenv("BEDUP_KILL_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	fs := testfs.New(t, testfs.Options{SizeMiB: 1024})
	db := filepath.Join(t.TempDir(), "bedup.db")
	k := &killSuite{t: t, fs: fs, db: db, records: map[string]testfs.FileState{}}
	data := fs.Subvolume(t, "data")
	first := testfs.WriteCorpus(t, filepath.Join(data, "r0"), 0)
	// Deduplicated, then snapshotted: the snapshot pins the sources.
	if o := bedupWith(t, nil, "dedup", "--size-cutoff", "4K", "--db-path", db, fs.Mnt); o.code != 0 {
		t.Fatalf("first dedup: exit %d\n%s", o.code, o.stderr)
	}
	snap := fs.Snapshot(t, "data", "snap", true)
	for _, g := range first.Groups {
		for _, p := range g {
			g = append(g, filepath.Join(snap, strings.TrimPrefix(p, data)))
		}
		k.groups = append(k.groups, g)
	}
	k.record(k.groups...)

	points := []struct {
		at  dedupe.HookPoint
		max int // about how often a round reaches it
	}{{dedupe.HookRead, 8}, {dedupe.HookIntents, 8}, {dedupe.HookDedupe, 16}, {dedupe.HookCommit, 8}}
	kills, rounds, survived := 0, 0, 0
	var log []string
	for kills < minKills && rounds < 2*minKills {
		rounds++
		k.addWork(rounds, rng)
		p := points[rng.IntN(len(points))]
		n := 1 + rng.IntN(p.max)
		if k.round(p.at, n) {
			kills++
			log = append(log, string(p.at)+":"+strconv.Itoa(n))
		} else {
			survived++
			log = append(log, string(p.at)+":"+strconv.Itoa(n)+"(finished)")
		}
		if t.Failed() {
			t.Fatalf("round %d (seed %d, kill at %s:%d) failed", rounds, seed, p.at, n)
		}
	}
	idle(t, db, fs.Mnt)
	testfs.Unchanged(t, k.records)
	files := 0
	for _, g := range k.groups {
		files += len(g)
	}
	t.Logf("kill suite: seed %d, %d rounds, %d runs killed, %d finished before their kill point, %d files in %d groups, %d shares logged; points: %s",
		seed, rounds, kills, survived, files, len(k.groups), k.logged, strings.Join(log, " "))
	if kills < minKills {
		t.Errorf("only %d runs were killed", kills)
	}
}

// killSuite is the state of TestKillAnywhere.
type killSuite struct {
	t       *testing.T
	fs      *testfs.FS
	db      string
	groups  [][]string                  // identical files, to be shared
	records map[string]testfs.FileState // every file as written
	logged  int                         // destinations in the history
}

// record remembers the state of the files of groups.
func (k *killSuite) record(groups ...[]string) {
	k.fs.Sync(k.t)
	for _, g := range groups {
		for p, s := range testfs.States(k.t, g...) {
			k.records[p] = s
		}
	}
}

// addWork writes a new corpus, and copies of two files of the snapshot
// (new destinations for the copies the snapshot pins).
func (k *killSuite) addWork(round int, rng *rand.Rand) {
	dir := filepath.Join(k.fs.Mnt, "data", "r"+strconv.Itoa(round))
	c := testfs.WriteCorpus(k.t, dir, uint64(round)*7)
	plain := []int{0, 9, 10, 11, 12, 13} // groups of the snapshotted corpus without NOCOW files
	for i := range 2 {
		g := plain[rng.IntN(len(plain))]
		src := k.groups[g][len(k.groups[g])-1] // a snapshot copy
		b, err := os.ReadFile(src)
		if err != nil {
			k.t.Fatal(err)
		}
		p := testfs.WriteFile(k.t, filepath.Join(dir, "from-snap-"+strconv.Itoa(i)), b)
		k.groups[g] = append(k.groups[g], p)
		k.record([]string{p})
	}
	k.groups = append(k.groups, c.Groups...)
	k.record(c.Groups...)
}

// round runs dedup with a kill at the nth time it reaches point, checks
// what it left, reruns it and checks the result. It reports whether the
// run was killed.
func (k *killSuite) round(point dedupe.HookPoint, n int) bool {
	t := k.t
	before, maps := k.prints(), k.maps()
	since := k.lastEvent()
	args := []string{"dedup", "--size-cutoff", "4K", "--window", "2", "--db-path", k.db, k.fs.Mnt}
	o := bedupWith(t, hookEnv(point, n, "kill"), args...)
	if !o.killed && o.code != 0 {
		t.Fatalf("dedup to be killed at %s:%d: exit %d\n%s", point, n, o.code, o.stderr)
	}
	testfs.Unchanged(t, k.records)
	k.wholeOrUntouched(before, maps)
	checkIntegrity(t, k.db)
	if r := bedupWith(t, nil, args...); r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	allShared(t, k.groups)
	checkIntegrity(t, k.db)
	k.loggedOnce(before, since)
	return o.killed
}

// prints maps every file's identity to its extent print.
func (k *killSuite) prints() map[fileKey]string {
	m := map[fileKey]string{}
	for _, g := range k.groups {
		for _, p := range g {
			st, err := os.Stat(p)
			if err != nil {
				k.t.Fatal(err)
			}
			m[keyOf(k.t, p)] = string(dedupe.Print(testfs.Extents(k.t, p), uint64(st.Size())))
		}
	}
	return m
}

// wholeOrUntouched fails unless every file either has the extents it had
// before the run or has those of another member of its group: sharing is
// all or nothing per file, but for the kernel's own interruption: a
// SIGKILL that lands during a share (the next window shares while the
// previous one commits, so a kill at a commit can) stops the remapping
// between two extents, and the file then maps each of its blocks either
// where it did or where a copy does. Its bytes are the same either way
// (checked by the caller), and the rerun completes the share.
func (k *killSuite) wholeOrUntouched(before map[fileKey]string, maps map[fileKey][]btrfs.Extent) {
	now := k.prints()
	for _, g := range k.groups {
		members := map[string]bool{}
		for _, p := range g {
			members[before[keyOf(k.t, p)]] = true
		}
		for _, p := range g {
			if pr := now[keyOf(k.t, p)]; pr != before[keyOf(k.t, p)] && !members[pr] && !k.mixOf(p, g, maps) {
				k.t.Errorf("%q is half shared: its extents are neither its own nor a copy's", p)
			}
		}
	}
}

// maps returns every file's extent map.
func (k *killSuite) maps() map[fileKey][]btrfs.Extent {
	m := map[fileKey][]btrfs.Extent{}
	for _, g := range k.groups {
		for _, p := range g {
			m[keyOf(k.t, p)] = testfs.Extents(k.t, p)
		}
	}
	return m
}

// mixOf reports whether each 4 KiB block of p is now where it was, or
// where a member of its group had that block, before the run.
func (k *killSuite) mixOf(p string, group []string, before map[fileKey][]btrfs.Extent) bool {
	st, err := os.Stat(p)
	if err != nil {
		k.t.Fatal(err)
	}
	now := testfs.Extents(k.t, p)
	for pos := uint64(0); pos < uint64(st.Size()); pos += 4096 {
		here, at := false, blockAt(now, pos)
		for _, q := range group {
			if blockAt(before[keyOf(k.t, q)], pos) == at {
				here = true
				break
			}
		}
		if !here {
			return false
		}
	}
	return true
}

// blockAt returns the disk address of the block at file offset pos (0 in
// a hole).
func blockAt(m []btrfs.Extent, pos uint64) uint64 {
	for _, e := range m {
		if e.Logical <= pos && pos < e.Logical+e.Length {
			return e.Physical + pos - e.Logical
		}
	}
	return 0
}

// lastEvent returns the id of the history event recorded last. History
// lists events by the time of their share, and a share an interrupted run
// left to the next one is recorded then, at its own (earlier) time: the
// last recorded is the highest id, not the last listed.
func (k *killSuite) lastEvent() int64 {
	d := openDB(k.t, k.db)
	defer d.Close()
	h, err := d.History(context.Background(), time.Time{}, "")
	if err != nil {
		k.t.Fatal(err)
	}
	var last int64
	for _, e := range h {
		last = max(last, e.ID)
	}
	return last
}

// loggedOnce checks the history events after since: their destinations
// are exactly the files whose extents changed, each once.
func (k *killSuite) loggedOnce(before map[fileKey]string, since int64) {
	d := openDB(k.t, k.db)
	defer d.Close()
	h, err := d.History(context.Background(), time.Time{}, "")
	if err != nil {
		k.t.Fatal(err)
	}
	dests := map[fileKey]int{}
	for _, e := range h {
		if e.ID <= since {
			continue
		}
		for _, f := range e.Files[1:] {
			dests[fileKey{f.RootID, f.Ino}]++
			k.logged++
		}
	}
	for key, pr := range k.prints() {
		changed := pr != before[key]
		if changed && dests[key] != 1 || !changed && dests[key] != 0 {
			k.t.Errorf("inode %d of subvolume %d: extents changed %v, logged as a destination %d times", key.ino, key.root, changed, dests[key])
		}
	}
}
