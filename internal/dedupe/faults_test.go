package dedupe

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/scan"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
)

// rescan commits the filesystem and scans every volume of the env again,
// as the next run would before its pass.
func (e *env) rescan(t *testing.T) {
	t.Helper()
	e.fs.Sync(t)
	for _, v := range e.vols {
		if _, err := scan.Volume(context.Background(), e.db, v.V, scan.Options{}); err != nil {
			t.Fatal(err)
		}
	}
}

// flagged lists the names (relative to the mount) of the flagged inodes
// among files.
func (e *env) flagged(t *testing.T, files ...string) []string {
	t.Helper()
	byIno := map[uint64]string{}
	for _, p := range files {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		byIno[st.Sys().(*syscall.Stat_t).Ino] = e.rel(p)
	}
	var out []string
	for _, v := range e.vols {
		rows, err := e.db.Inodes(context.Background(), v.StoreID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if name, ok := byIno[r.Ino]; ok && r.Flagged {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// once returns a TestHook that calls fn the first time a pass reaches
// point (hooks are called from several goroutines: TestHook itself must
// not change while a pass runs).
func once(point HookPoint, fn func()) func(HookPoint) {
	var o sync.Once
	return func(at HookPoint) {
		if at == point {
			o.Do(fn)
		}
	}
}

// A file with a block whose checksum fails (reads give EIO) is named once
// with the reason, counted, and kept for the next run, which tries it
// again: nothing is dropped silently. (The first pass matches the copies
// by their csum prints without reading them; the kernel's compare meets
// the bad block, and reading both sides finds a.)
func TestUnreadableBlockIsKept(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(1, 1<<20)
	a := testfs.WriteFile(t, fs.Path("a"), data)
	b := testfs.WriteFile(t, fs.Path("b"), data)
	// Not a sample block: the samples match, the full hash fails.
	fs.CorruptBlock(t, a, 512<<10)
	e := newEnv(t, fs, "")
	for pass := 1; pass <= 3; pass++ {
		st, events := e.run(t, Options{ResolvePaths: true})
		skips := of[Skipped](events)
		if len(skips) != 1 || skips[0].Reason != ReasonIO || e.rel(skips[0].File.Path) != "a" || !errors.Is(skips[0].Err, unix.EIO) {
			t.Errorf("pass %d: skips %+v, want a once, io-error", pass, skips)
		}
		if st.Skipped[ReasonIO] != 1 || st.Deferred != 1 || st.FilesShared != 0 {
			t.Errorf("pass %d: stats %+v", pass, st)
		}
		if got := e.flagged(t, a, b); !slices.Equal(got, []string{"a"}) {
			t.Errorf("pass %d: flagged %q, want a kept", pass, got)
		}
	}
	if testfs.Shares(t, a, b) {
		t.Error("the unreadable file was shared")
	}
}

// A NOCOW file, or a file with preallocated extents, is written in place:
// its extent map keeps its addresses while its data changes, so a
// fingerprint stored with that map must not be reused once the file
// changed: it is read again and shared with its new twin.
func TestInPlaceWritesAreReadAgain(t *testing.T) {
	const size, half = 1 << 20, 512 << 10
	x, y := testfs.Bytes(1, size), testfs.Bytes(2, size)
	for _, c := range []struct {
		name string
		// a and b differ in their second half; then b's second half is
		// written over a's, in place.
		a, b func(t testing.TB, path string) string
	}{
		{"nocow",
			func(t testing.TB, p string) string {
				return testfs.WriteNocow(t, p, append(y[:half:half], x[half:]...))
			},
			func(t testing.TB, p string) string { return testfs.WriteNocow(t, p, y) }},
		{"prealloc", // a's second half stays unwritten (zeros) until b's bytes land in it
			func(t testing.TB, p string) string {
				testfs.Run(t, "fallocate", "-l", "1M", p)
				return writeAt(t, p, 0, y[:half])
			},
			func(t testing.TB, p string) string { return testfs.WriteFile(t, p, y) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := testfs.New(t)
			a, b := c.a(t, fs.Path("a")), c.b(t, fs.Path("b"))
			e := newEnv(t, fs, "")
			if st, _ := e.run(t, Options{}); st.FilesSampled+st.FilesCsumPrinted != 2 || st.FilesShared != 0 {
				t.Fatalf("first pass: %+v", st)
			}
			before := addressOf(testfs.Extents(t, a), half)
			writeAt(t, a, half, y[half:])
			if after := addressOf(testfs.Extents(t, a), half); after != before {
				t.Fatalf("the write moved the data: from %d to %d", before, after)
			}
			e.rescan(t)
			st, _ := e.run(t, Options{})
			// A fresh fingerprint: read, or a csum print (a's extent is
			// written now, so it may have one).
			if st.BytesRead == 0 && st.FilesCsumPrinted == 0 || st.FilesShared != 1 || !testfs.Shares(t, a, b) {
				t.Errorf("after writing b's bytes over a in place: %+v, shared %v", st, testfs.Shares(t, a, b))
			}
		})
	}
}

// addressOf returns the disk address of byte off of a file (0 in a hole).
func addressOf(ext []btrfs.Extent, off uint64) uint64 {
	for _, e := range ext {
		if e.Logical <= off && off < e.Logical+e.Length {
			return e.Physical + off - e.Logical
		}
	}
	return 0
}

// writeAt writes data at off in the file at path without truncating it
// (dd conv=notrunc), and syncs it.
func writeAt(t testing.TB, path string, off int64, data []byte) string {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	return path
}

// A filesystem remounted read-only during a pass halts it with one
// Halted event (not one notice per file); every file not shared stays
// flagged, and once it is writable again the next pass shares the rest.
// Remounted after the first share, the kernel's refusals of the other
// shares count as deferred files; remounted before any (once the first
// window is read), the pass sees it before sharing and tries nothing.
func TestReadOnlyRemountHalts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hook  HookPoint
		first int // files shared before the remount, in the window it hit
	}{
		{"while sharing", HookDedupe, 1},
		{"before sharing", HookRead, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := testfs.New(t)
			var a, b []string
			for i := range 30 {
				data := testfs.Bytes(uint64(i), 128<<10+i)
				a = append(a, testfs.WriteFile(t, fs.Path("a", string(rune('A'+i))), data))
				b = append(b, testfs.WriteFile(t, fs.Path("b", string(rune('A'+i))), data))
			}
			e := newEnv(t, fs, "")
			TestHook = once(tc.hook, func() { fs.Remount(t, "ro") })
			defer func() { TestHook = nil }()
			st, events := e.run(t, Options{Window: 10})
			fs.Remount(t, "rw")
			halts := of[Halted](events)
			if len(halts) != 1 || halts[0].Reason != ReasonReadOnlyFS || len(of[Skipped](events)) != 0 {
				t.Errorf("events %s", dump(events))
			}
			// Each window shared at the time may have had a share in the
			// kernel when the remount came. The lane that meets the
			// read-only filesystem first halts the pass: by a refusal of
			// the kernel (a skip), or, if its window had not begun sharing,
			// by looking first (none); every other lane then stops asking.
			// A group whose shares all went through is done either way.
			shared := st.FilesShared
			if shared < tc.first || shared > tc.first*windowSharers || st.Halted != ReasonReadOnlyFS ||
				st.GroupsLeft != 30-shared || tc.first == 0 && st.Skipped[ReasonReadOnlyFS] != 0 ||
				st.Deferred != st.Skipped[ReasonReadOnlyFS] {
				t.Errorf("stats %+v", st)
			}
			all := append(slices.Clone(a), b...)
			if got := e.flagged(t, all...); len(got) != len(all)-2*shared {
				t.Errorf("flagged after the halt: %d of %d files", len(got), len(all))
			}
			st, _ = e.run(t, Options{Window: 10})
			if st.FilesShared != 30-shared || st.Halted != "" || st.Deferred != 0 {
				t.Errorf("after remounting read-write: %+v", st)
			}
			for i := range a {
				if !testfs.Shares(t, a[i], b[i]) {
					t.Errorf("%s not shared with %s", b[i], a[i])
				}
			}
		})
	}
}

// A run that dies after a share and before its window's results are
// committed still gets that share into the dedup history: the next pass
// finds the intent the window logged and records what FIEMAP shows shared.
func TestSharesBeforeACrashAreLogged(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(1, 1<<20)
	a := testfs.WriteFile(t, fs.Path("a"), data)
	b := testfs.WriteFile(t, fs.Path("b"), data)
	c := testfs.WriteFile(t, fs.Path("c"), testfs.Bytes(2, 300<<10))
	d := copyOf(t, c, fs.Path("d"))
	e := newEnv(t, fs, "")
	// One window shared at a time, so that the other is not in the kernel
	// already when the crash comes.
	defer func(n int) { windowSharers = n }(windowSharers)
	windowSharers = 1
	// "Die" after the first share: the database goes away before the
	// window's results can be committed, and nothing else is done (the
	// next window, prepared meanwhile, is not shared).
	ctx, die := context.WithCancel(context.Background())
	defer die()
	TestHook = once(HookDedupe, func() { die(); e.db.Close() })
	defer func() { TestHook = nil }()
	_, err := Run(ctx, e.db, e.fsID, e.vols, Options{Window: 1})
	if err == nil {
		t.Fatal("the pass went on without its database")
	}
	e.open(t)
	// Windows are prepared two at a time: either may be shared first.
	if testfs.Shares(t, a, b) == testfs.Shares(t, c, d) {
		t.Fatal("the crash did not come right after the first share")
	}
	if tot := totals(t, e.db, e.fsID); tot.Events != 0 {
		t.Fatalf("logged before the rerun: %+v", tot)
	}
	st, _ := e.run(t, Options{})
	if st.FilesShared != 1 || !testfs.Shares(t, a, b) || !testfs.Shares(t, c, d) {
		t.Errorf("rerun: %+v", st)
	}
	tot := totals(t, e.db, e.fsID)
	if tot.Events != 2 || tot.Files != 2 || tot.BytesDeduplicated != 1<<20+300<<10 || tot.BytesFreed != 1<<20+300<<10 {
		t.Errorf("logged %+v: want both shares, each once, with what they freed", tot)
	}
	if n := pendingIntents(t, e); n != 0 {
		t.Errorf("%d intents left", n)
	}
}

func totals(t *testing.T, db *store.DB, fsID int64) store.DedupTotals {
	t.Helper()
	tot, err := db.Totals(context.Background(), fsID)
	if err != nil {
		t.Fatal(err)
	}
	return tot
}

func pendingIntents(t *testing.T, e *env) int {
	t.Helper()
	p, err := e.db.PendingIntents(context.Background(), e.fsID)
	if err != nil {
		t.Fatal(err)
	}
	return len(p)
}

// The reasons that can pass keep a file for the next run; the others are
// remembered until the file changes.
func TestTransientReasons(t *testing.T) {
	kept := map[Reason]bool{ReasonChanged: true, ReasonUnreadable: true, ReasonBusy: true, ReasonReadOnlyFS: true,
		ReasonNoSpace: true, ReasonIO: true, ReasonRefused: true}
	for _, r := range Reasons() {
		if r.Transient() != kept[r] {
			t.Errorf("%s: Transient() = %v", r, r.Transient())
		}
	}
	if reasonGone.Transient() {
		t.Error("a deleted file is kept")
	}
	for _, c := range []struct {
		err  error
		want Reason
	}{
		{unix.EIO, ReasonIO}, {unix.ENOSPC, ReasonNoSpace}, {unix.EROFS, ReasonReadOnlyFS}, {unix.EAGAIN, ReasonBusy},
		{errors.New("anything else"), ReasonUnreadable},
	} {
		if got := readFailure(c.err); got != c.want {
			t.Errorf("readFailure(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}

// A copy-on-write file rewritten until its data lands on the address its
// old extent had (Btrfs hands freed addresses out again) has the extent
// map its stored fingerprint was taken with, and other bytes: the
// fingerprint must not be reused (the extent items' generations say the
// data is newer), or the file is never shared with its new twin.
func TestReusedAddressIsReadAgain(t *testing.T) {
	// A small filesystem with large files: the allocator comes back to
	// the start of the data block group after a few rewrites.
	fs := testfs.New(t, testfs.Options{SizeMiB: 128})
	const size = 2<<20 + 123
	a, b := testfs.Bytes(1, size), testfs.Bytes(2, size)
	x := testfs.WriteFile(t, fs.Path("x"), a)
	y := testfs.WriteFile(t, fs.Path("y"), b)
	e := newEnv(t, fs, "")
	if st, _ := e.run(t, Options{}); st.FilesShared != 0 || st.FilesSampled+st.FilesCsumPrinted != 2 {
		t.Fatalf("first pass: %+v", st)
	}
	old := addressOf(testfs.Extents(t, x), 0)
	tries := 0
	for ; tries < 100; tries++ {
		testfs.WriteFile(t, x, b)
		fs.Sync(t)
		if addressOf(testfs.Extents(t, x), 0) == old {
			break
		}
	}
	if tries == 100 {
		t.Fatalf("x's old address %d never came back", old)
	}
	t.Logf("x holds y's bytes at its old address after %d rewrites", tries+1)
	e.rescan(t)
	st, _ := e.run(t, Options{})
	if st.BytesRead == 0 && st.FilesCsumPrinted == 0 || st.FilesShared != 1 || !testfs.Shares(t, x, y) {
		t.Errorf("second pass: %+v", st)
	}
}

// A change that writes no data (chmod, an extended attribute) flags a file
// but leaves its extent items as they were: its stored fingerprint is
// reused, nothing is read.
func TestMetadataChangeNeedsNoRead(t *testing.T) {
	for _, opts := range []string{"", testfs.Compressed} {
		t.Run("mount "+opts, func(t *testing.T) { metadataChange(t, opts) })
	}
}

func metadataChange(t *testing.T, mountOpts string) {
	fs := testfs.New(t, testfs.Options{MountOpts: mountOpts})
	x := testfs.WriteFile(t, fs.Path("x"), testfs.Text(1, 300<<10))
	testfs.WriteFile(t, fs.Path("y"), testfs.Text(2, 300<<10))
	e := newEnv(t, fs, "")
	if st, _ := e.run(t, Options{}); st.FilesSampled+st.FilesCsumPrinted != 2 {
		t.Fatalf("first pass: %+v", st)
	}
	if err := os.Chmod(x, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(x, "user.note", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	e.rescan(t)
	if got := e.flagged(t, x); len(got) != 1 {
		t.Fatalf("the chmod did not flag x: %q", got)
	}
	if st, _ := e.run(t, Options{}); st.Groups != 1 || st.BytesRead != 0 || st.FilesCsumPrinted != 0 {
		t.Errorf("after a chmod: %+v", st)
	}
}

// A reason that cannot pass (immutable, NOCOW on the other side of all its
// copies) is said once and remembered: the next runs neither retry nor
// name the file again, until the file changes.
func TestLastingReasonsAreRemembered(t *testing.T) {
	for _, c := range []struct {
		reason Reason
		// pin: another such file comes first and pins the set as its
		// source (an immutable file is never written, so it is the source,
		// and a second one is the skip).
		pin  bool
		make func(t *testing.T, path string, data []byte) string
		undo func(t *testing.T, path string, data []byte)
	}{
		{ReasonImmutable, true,
			func(t *testing.T, p string, data []byte) string {
				testfs.WriteFile(t, p, data)
				testfs.AddFlags(t, p, btrfs.FlagImmutable)
				return p
			},
			func(t *testing.T, p string, _ []byte) {
				f, err := os.Open(p)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				flags, err := btrfs.GetFlags(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := btrfs.SetFlags(f, flags&^btrfs.FlagImmutable); err != nil {
					t.Fatal(err)
				}
			}},
		{ReasonNocowAlone, false,
			func(t *testing.T, p string, data []byte) string { return testfs.WriteNocow(t, p, data) },
			func(t *testing.T, p string, data []byte) {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				testfs.WriteFile(t, p, data)
			}},
	} {
		t.Run(string(c.reason), func(t *testing.T) {
			fs := testfs.New(t)
			data := testfs.Bytes(1, 200<<10)
			if c.pin {
				c.make(t, fs.Path("pin"), data) // the first inode
			}
			a := testfs.WriteFile(t, fs.Path("a"), data)
			b := testfs.WriteFile(t, fs.Path("b"), data)
			z := c.make(t, fs.Path("z"), data) // the last inode: never the source
			e := newEnv(t, fs, "")
			st, events := e.run(t, Options{})
			if skips := of[Skipped](events); len(skips) != 1 || skips[0].Reason != c.reason || st.Deferred != 0 || !testfs.Shares(t, a, b) {
				t.Fatalf("first pass: %+v, skips %+v", st, skips)
			}
			if got := e.flagged(t, a, b, z); len(got) != 0 {
				t.Errorf("flagged after the first pass: %q", got)
			}
			e.rescan(t)
			if st, events := e.run(t, Options{}); st.Groups != 0 || len(events) != 0 {
				t.Errorf("second pass: %+v, %s", st, dump(events))
			}
			c.undo(t, z, data)
			e.rescan(t)
			if st, _ := e.run(t, Options{}); st.FilesShared != 1 || !testfs.Shares(t, a, z) {
				t.Errorf("after the file changed: %+v", st)
			}
		})
	}
}
