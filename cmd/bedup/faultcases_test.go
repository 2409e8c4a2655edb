package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/testfs"
)

// faultCase is a fault that strikes a dedup run: the run must say so
// cleanly, change no file's content or metadata, keep what it could not
// do, and the run after the fault is repaired must share everything.
type faultCase struct {
	name string
	// prepare writes the files on fs and arranges the fault.
	prepare func(t *testing.T, fs *testfs.FS) faultSetup
	code    int    // exit status of the first run
	notice  string // a line the first run's stderr must hold exactly once
	lines   int    // at most this many lines on stderr
}

// faultSetup is what a fault case prepared.
type faultSetup struct {
	groups    [][]string // identical files, to be shared in the end
	env, args []string   // the first run's extra environment and arguments
	repair    func()     // undoes the fault (nil: nothing to undo)
	db        string     // the database, when it must be on the filesystem
	unread    string     // a file whose state cannot be read (EIO)
	// noHistory: the history holds shares the groups do not show (into a
	// subvolume deleted since).
	noHistory bool
}

// TestFaults runs each fault case: an unreadable block (EIO), a read-only
// remount mid-run, a subvolume deleted mid-run, a full filesystem, and a
// btrfs send using a read-only snapshot bedup writes into (EAGAIN).
func TestFaults(t *testing.T) {
	for _, c := range faultCases() {
		t.Run(c.name, func(t *testing.T) {
			fs := testfs.New(t, testfs.Options{SizeMiB: 300})
			s := c.prepare(t, fs)
			db := s.db
			if db == "" {
				db = filepath.Join(t.TempDir(), "bedup.db")
			}
			var files []string
			for _, g := range s.groups {
				for _, p := range g {
					if p != s.unread {
						files = append(files, p)
					}
				}
			}
			fs.Sync(t)
			before := testfs.States(t, files...)
			wantDests := destinations(t, s.groups)
			o := bedupWith(t, s.env, append([]string{"dedup", "--size-cutoff", "4K", "--db-path", db}, append(s.args, fs.Mnt)...)...)
			lines := strings.Split(strings.TrimSpace(o.stderr), "\n")
			n := 0
			for _, l := range lines {
				if regexp.MustCompile(c.notice).MatchString(l) {
					n++
				}
			}
			if o.code != c.code || n != 1 || len(lines) > c.lines {
				t.Errorf("first run: exit %d (want %d), %d lines matching %q (want 1), %d stderr lines (want at most %d):\n%s\n%s",
					o.code, c.code, n, c.notice, len(lines), c.lines, o.stderr, o.stdout)
			}
			t.Logf("fault %s: first run exit %d, stderr:\n%s", c.name, o.code, o.stderr)
			testfs.Unchanged(t, before)
			checkIntegrity(t, db)
			if s.repair != nil {
				s.repair()
			}
			o = bedupWith(t, nil, append([]string{"dedup", "--db-path", db}, append(s.args, fs.Mnt)...)...)
			if o.code != 0 {
				t.Errorf("after the repair: exit %d\n%s", o.code, o.stderr)
			}
			allShared(t, s.groups)
			idle(t, db, fs.Mnt)
			if !s.noHistory {
				checkHistory(t, db, wantDests)
			}
		})
	}
}

// destinations counts the files that sharing each group makes receive a
// source's extents: all the inodes but those of one instance (inodes
// already sharing one extent map) per group. The source may be any
// instance, so the instances of a group must be alike in size.
func destinations(t *testing.T, groups [][]string) int {
	t.Helper()
	n := 0
	for _, g := range groups {
		byMap := map[string]map[fileKey]bool{}
		for _, p := range g {
			m := fmt.Sprint(testfs.Extents(t, p))
			if byMap[m] == nil {
				byMap[m] = map[fileKey]bool{}
			}
			byMap[m][keyOf(t, p)] = true
		}
		most := 0
		for _, inodes := range byMap {
			n += len(inodes)
			most = max(most, len(inodes))
		}
		n -= most
	}
	return n
}

// checkHistory asserts that the dedup history lists want destinations.
func checkHistory(t *testing.T, db string, want int) {
	t.Helper()
	d := openDB(t, db)
	defer d.Close()
	h, err := d.History(context.Background(), time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, e := range h {
		got += len(e.Files) - 1
	}
	if got != want {
		t.Errorf("history lists %d destinations, want %d", got, want)
	}
}

func faultCases() []faultCase {
	return []faultCase{
		{name: "io-error", code: 3, lines: 3, notice: `^bedup: .*/a/0: I/O error \(kept for the next run\) \(read: .*input/output error\)$`,
			prepare: func(t *testing.T, fs *testfs.FS) faultSetup {
				g := pairs(t, fs.Mnt, 3, 1<<20)
				fs.CorruptBlock(t, g[0][0], 512<<10)
				return faultSetup{groups: g, unread: g[0][0], repair: func() {
					// Rewritten with the same bytes: new extents, good checksums.
					testfs.WriteFile(t, g[0][0], testfs.Bytes(1000, 1<<20))
				}}
			}},
		{name: "read-only-remount", code: 3, lines: 3, notice: `^bedup: .*: read-only filesystem, retry later \((fideduperange: )?read-only file system\): stopped deduplicating it; what is left is kept for the next run$`,
			prepare: func(t *testing.T, fs *testfs.FS) faultSetup {
				return faultSetup{groups: pairs(t, fs.Mnt, 300, 4096), args: []string{"--window", "100"},
					env:    hookEnv(dedupe.HookRead, 2, testfs.RemountCommand(fs.Mnt, "ro")),
					repair: func() { fs.Remount(t, "rw") }}
			}},
		{name: "subvolume-deleted", code: 0, lines: 2, notice: `^bedup: .*/gone: the subvolume was deleted during the run; its files are forgotten$`,
			prepare: func(t *testing.T, fs *testfs.FS) faultSetup {
				gone := fs.Subvolume(t, "gone")
				pairs(t, gone, 20, 12288)
				return faultSetup{groups: pairs(t, fs.Subvolume(t, "keep"), 20, 8192), args: []string{"--window", "10"},
					env: hookEnv(dedupe.HookRead, 1, "btrfs -q subvolume delete "+gone), noHistory: true}
			}},
		{name: "no-space", code: 1, lines: 2, notice: `^bedup: dedup: (record dedup results: )?no space left on device$`,
			prepare: func(t *testing.T, fs *testfs.FS) faultSetup {
				// The database's filesystem fills up after the second
				// window's shares: the commit of their results cannot be
				// written. It is a small tmpfs of its own, so that the
				// space the shares free on the Btrfs (which its commits
				// release when a writer needs it) cannot make room.
				dir := smallTmpfs(t, 16)
				fill := filepath.Join(dir, "filler")
				return faultSetup{groups: pairs(t, fs.Mnt, 30, 64<<10), db: filepath.Join(dir, "bedup.db"), args: []string{"--window", "10"},
					env: hookEnv(dedupe.HookDedupe, 20, "dd if=/dev/zero of="+fill+" bs=4K status=none 2>/dev/null; true"),
					repair: func() {
						if err := os.Remove(fill); err != nil {
							t.Fatal(err)
						}
					}}
			}},
		{name: "no-space-btrfs", code: 1, lines: 2, notice: `^bedup: dedup: (log intents|record dedup results): (sqlite3: disk I/O error|no space left on device)$`,
			prepare: func(t *testing.T, fs *testfs.FS) faultSetup {
				// The database is on the Btrfs, which fills up after the
				// one window's reads, before it logs its intents: no share
				// has freed anything yet, so that write fails (its -shm
				// file, mapped, must not make it a SIGBUS: see store.Open).
				fill := fs.Path("filler")
				return faultSetup{groups: pairs(t, fs.Mnt, 30, 64<<10), db: fs.Path("bedup.db"), args: []string{"--window", "100"},
					env: hookEnv(dedupe.HookRead, 1, "sync; dd if=/dev/zero of="+fill+" bs=1M status=none 2>/dev/null; dd if=/dev/zero of="+fill+"-2 bs=4K status=none 2>/dev/null; sync; true"),
					repair: func() {
						for _, p := range []string{fill, fill + "-2"} {
							if err := os.Remove(p); err != nil {
								t.Fatal(err)
							}
						}
						fs.Sync(t)
					}}
			}},
		{name: "send-busy", code: 3, lines: 3, notice: `^bedup: .*/snap/f: busy \(a btrfs send is using its subvolume\), retry later \(fideduperange: resource temporarily unavailable\)$`,
			prepare: prepareSend},
	}
}

// prepareSend makes a read-only snapshot whose file f is alone on its
// extents, and two reflinked copies of it elsewhere (the source, being
// shared already), then starts a btrfs send of the snapshot that stalls on
// a full pipe: sharing into the snapshot is refused with EAGAIN until the
// send is let go (the repair).
func prepareSend(t *testing.T, fs *testfs.FS) faultSetup {
	data := testfs.Bytes(7, 4<<20)
	sv := fs.Subvolume(t, "sv")
	testfs.WriteFile(t, filepath.Join(sv, "f"), data)
	snap := fs.Snapshot(t, "sv", "snap", true)
	if err := os.Remove(filepath.Join(sv, "f")); err != nil {
		t.Fatal(err)
	}
	c1 := testfs.WriteFile(t, fs.Path("c1"), data)
	testfs.Run(t, "cp", "--reflink=always", c1, fs.Path("c2"))
	fs.Sync(t)
	send := exec.Command("btrfs", "send", "-q", snap)
	pipe, err := send.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := send.Start(); err != nil {
		t.Fatal(err)
	}
	stream := bufio.NewReader(pipe)
	if _, err := stream.Peek(1); err != nil { // the send is under way
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			io.Copy(io.Discard, stream)
			if err := send.Wait(); err != nil {
				t.Errorf("btrfs send: %v", err)
			}
		}
	}
	t.Cleanup(release)
	return faultSetup{groups: [][]string{{c1, fs.Path("c2"), filepath.Join(snap, "f")}}, args: []string{"--include-frozen"}, repair: release}
}

// TestDeferredJSON: a run that halts on a read-only remount and kept files
// for the next run prints schema-valid JSON Lines (one "halted" event, no
// per-file "skipped" ones) ending with its summary, which counts them; the
// exit status is 3 and standard error has the one line that says why.
func TestDeferredJSON(t *testing.T) {
	fs := testfs.New(t)
	pairs(t, fs.Mnt, 30, 4096)
	db := filepath.Join(t.TempDir(), "bedup.db")
	o := bedupWith(t, hookEnv(dedupe.HookRead, 2, testfs.RemountCommand(fs.Mnt, "ro")),
		"dedup", "--json", "--size-cutoff", "4K", "--window", "10", "--db-path", db, fs.Mnt)
	fs.Remount(t, "rw")
	halted, skipped := 0, 0
	for _, e := range checkLines(t, schemas(t), "event:summary", o.stdout) {
		switch e["type"] {
		case "halted":
			halted++
			if e["reason"] != "read-only" {
				t.Errorf("halted event %v", e)
			}
		case "skipped":
			skipped++
		}
	}
	tot := summaryTotal(t, o.stdout)
	// Groups are shared in parallel: more than one share may meet EROFS
	// before the pass halts; they are counted, not named. The remount
	// comes while the second window is prepared, which two preparers may
	// do before, while or after the first window's shares: the pass meets
	// it either in a refused share or in its check before a window's
	// shares (then no file is deferred, only groups). Every group not left
	// had its pair shared.
	left := tot.SizeGroupsLeft
	if o.code != 3 || halted != 1 || skipped != 0 || left < 1 || left > 30 || tot.FilesShared != 30-left ||
		tot.Halted == nil || *tot.Halted != "read-only" || tot.Skipped["read-only"] != tot.FilesDeferred {
		t.Errorf("exit %d, %d halted, %d skipped, total %+v\n%s", o.code, halted, skipped, tot, o.stdout)
	}
	want := fmt.Sprintf("bedup: dedup: stopped early: %d file", tot.FilesDeferred)
	if tot.FilesDeferred == 0 {
		want = fmt.Sprintf("bedup: dedup: stopped early: %d size groups", left)
	}
	if !strings.HasPrefix(o.stderr, want) || !strings.HasSuffix(o.stderr, fmt.Sprintf(" %d size groups deferred to the next run\n", left)) {
		t.Errorf("stderr %q", o.stderr)
	}
}

// smallTmpfs mounts a tmpfs of mib MiB on a temporary directory for the
// rest of the test, and returns the directory.
func smallTmpfs(t *testing.T, mib int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", mib), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount tmpfs: %v: %s", err, out)
		}
	})
	return dir
}
