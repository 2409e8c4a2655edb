package run

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
)

// passRecorder is a WatchReporter that keeps the notices and calls onPass
// at the end of each pass, when the watch holds nothing open.
type passRecorder struct {
	notices []Notice
	onPass  func(WatchPass)
}

func (r *passRecorder) Notice(n Notice)                         { r.notices = append(r.notices, n) }
func (r *passRecorder) VolumeScanned(VolumeScan)                {}
func (r *passRecorder) ScanProgress(VolumeScan)                 {}
func (r *passRecorder) DedupeEvent(FilesystemRef, dedupe.Event) {}
func (r *passRecorder) Pass(p WatchPass)                        { r.onPass(p) }

// codes lists the codes of the notices recorded since from.
func (r *passRecorder) codes(from int) []NoticeCode {
	var out []NoticeCode
	for _, n := range r.notices[from:] {
		out = append(out, n.Code)
	}
	return out
}

// watchOptions watches filters with a 1 ms interval and the database db.
func watchOptions(db string, filters ...string) WatchOptions {
	return WatchOptions{
		DedupOptions: DedupOptions{TrackOptions: TrackOptions{Filters: filters, SizeCutoff: 64 << 10}},
		Interval:     time.Millisecond,
		OpenDB:       func(ctx context.Context) (*store.DB, error) { return store.Open(ctx, db, store.Options{}) },
	}
}

// writePair writes two identical files and one of its own below dir.
func writePair(t *testing.T, dir string, seed uint64) (a, b string) {
	t.Helper()
	data := testfs.Bytes(seed, 256<<10)
	a = testfs.WriteFile(t, filepath.Join(dir, "a"), data)
	b = testfs.WriteFile(t, filepath.Join(dir, "b"), data)
	testfs.WriteFile(t, filepath.Join(dir, "c"), testfs.Bytes(seed+1<<32, 256<<10))
	return a, b
}

// TestWatchMemory runs 100 passes 1 ms apart, each with a few new files to
// scan and share, and compares the heap in use (after a collection) and
// the peak resident set after pass 10 and after pass 100: a watch's memory
// must not grow with the passes.
func TestWatchMemory(t *testing.T) {
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "db.sqlite")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const bound = 8 << 20
	var heap, peak [2]uint64
	shared := 0
	rep := &passRecorder{onPass: func(p WatchPass) {
		shared += p.Total.FilesShared
		if p.Number == 10 || p.Number == 100 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			i := p.Number / 100
			heap[i], peak[i] = ms.HeapInuse, uint64(testfs.PeakRSS())
		}
		if p.Number == 100 {
			cancel()
			return
		}
		writePair(t, fs.Path(fmt.Sprintf("d%03d", p.Number)), uint64(p.Number))
	}}
	err := Watch(ctx, watchOptions(db, fs.Mnt), rep)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("watch: %v, want it cancelled after pass 100", err)
	}
	if shared != 99 {
		t.Errorf("%d files shared in 100 passes, want 99 (one per pass after the first)", shared)
	}
	t.Logf("heap in use: %.1f MiB after pass 10, %.1f MiB after pass 100", mib(heap[0]), mib(heap[1]))
	t.Logf("peak RSS: %.1f MiB after pass 10, %.1f MiB after pass 100", mib(peak[0]), mib(peak[1]))
	if heap[1] > heap[0]+bound {
		t.Errorf("heap in use grew by %.1f MiB from pass 10 to pass 100", mib(heap[1]-heap[0]))
	}
	if peak[1] > peak[0]+bound {
		t.Errorf("peak RSS grew by %.1f MiB from pass 10 to pass 100", mib(peak[1]-peak[0]))
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// TestWatchUnmount watches two filesystems and unmounts one between
// passes, which works because the watch holds nothing open then: the next
// pass reports it gone and goes on with the other one, and once it is
// mounted again it is reported back and deduplicated again.
func TestWatchUnmount(t *testing.T) {
	fsA, fsB := testfs.New(t), testfs.New(t)
	db := filepath.Join(t.TempDir(), "db.sqlite")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mountedB := true
	steps := []struct {
		between func()       // after pass n, before pass n+1
		want    []NoticeCode // the notices of pass n+1
		vols    int          // the volumes pass n+1 scans
	}{
		{func() { fsB.Unmount(t); mountedB = false }, []NoticeCode{NoticeGone}, 1},
		{nil, nil, 1}, // told once
		{func() { fsB.Mount(t); mountedB = true }, []NoticeCode{NoticeBack}, 2},
	}
	var pairs [][2]string
	rep := &passRecorder{}
	seen := 0
	rep.onPass = func(p WatchPass) {
		if n := p.Number - 2; n >= 0 {
			if got := rep.codes(seen); fmt.Sprint(got) != fmt.Sprint(steps[n].want) {
				t.Errorf("pass %d: notices %v, want %v", p.Number, got, steps[n].want)
			}
			if p.Volumes != steps[n].vols {
				t.Errorf("pass %d scanned %d volumes, want %d", p.Number, p.Volumes, steps[n].vols)
			}
		}
		seen = len(rep.notices)
		if p.Number > len(steps) {
			cancel()
			return
		}
		if f := steps[p.Number-1].between; f != nil {
			f()
		}
		// Work for the next pass on what is mounted.
		for _, fs := range []*testfs.FS{fsA, fsB} {
			if fs != fsB || mountedB {
				a, b := writePair(t, fs.Path(fmt.Sprintf("p%d", p.Number)), uint64(p.Number))
				pairs = append(pairs, [2]string{a, b})
			}
		}
	}
	err := Watch(ctx, watchOptions(db, fsA.Mnt, fsB.Mnt), rep)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("watch: %v, want it cancelled", err)
	}
	for _, n := range rep.notices {
		if n.Code == NoticeGone && (n.Subject != fsB.Mnt || n.Err == nil) {
			t.Errorf("gone notice %+v: want the filter %s and why", n, fsB.Mnt)
		}
	}
	for _, p := range pairs {
		if !testfs.Shares(t, p[0], p[1]) {
			t.Errorf("%s does not share %s's data", p[1], p[0])
		}
	}
	if len(pairs) != 4 {
		t.Errorf("%d pairs written, want 4", len(pairs))
	}
}

// TestWatchSkipsLockedPass holds the database between pass 1 and pass 3:
// pass 2 is skipped with a notice, not the end of the watch, and pass 3
// deduplicates what pass 2 could not.
func TestWatchSkipsLockedPass(t *testing.T) {
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "db.sqlite")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var held *store.DB
	var a, b string
	rep := &passRecorder{}
	rep.onPass = func(p WatchPass) {
		switch p.Number {
		case 1:
			var err error
			if held, err = store.Open(ctx, db, store.Options{}); err != nil {
				t.Fatal(err)
			}
			a, b = writePair(t, fs.Path("d"), 1)
		case 2:
			if got := rep.codes(0); len(got) != 1 || got[0] != NoticePassSkipped || !errors.Is(rep.notices[0].Err, store.ErrLocked) {
				t.Errorf("pass 2 with the database held: notices %+v, want one pass-skipped for the lock", rep.notices)
			}
			if p.Volumes != 0 || p.Total.FilesShared != 0 {
				t.Errorf("the skipped pass reports %+v", p.Summary)
			}
			held.Close()
		case 3:
			if p.Total.FilesShared != 1 {
				t.Errorf("pass 3 shared %d files, want 1", p.Total.FilesShared)
			}
			cancel()
		}
	}
	if err := Watch(ctx, watchOptions(db, fs.Mnt), rep); !errors.Is(err, context.Canceled) {
		t.Fatalf("watch: %v, want it cancelled", err)
	}
	if !testfs.Shares(t, a, b) {
		t.Error("the files written while the database was held were not shared")
	}
}

// TestWatchFilesystems follows a watch without filters through passes
// that find different filesystems: one that leaves is told gone once, and
// back once when it returns; new ones need no notice.
func TestWatchFilesystems(t *testing.T) {
	passes := []struct {
		mounted []string
		want    []string // code:name
	}{
		{[]string{"a", "b"}, nil},
		{[]string{"a"}, []string{"gone:b"}},
		{[]string{"a"}, nil},
		{[]string{"a", "b", "c"}, []string{"back:b"}},
		{nil, []string{"gone:a", "gone:b", "gone:c"}},
		{[]string{"c"}, []string{"back:c"}},
	}
	rep := &passRecorder{}
	w := &watcher{rep: &repeatFilter{WatchReporter: rep, last: map[noticeKey]bool{}, now: map[noticeKey]bool{}},
		home: map[string]string{}, known: map[string]string{}, gone: map[string]bool{}}
	for i, p := range passes {
		now := map[string]string{}
		for _, u := range p.mounted {
			now[u] = u
		}
		rep.notices = nil
		w.present(now)
		var got []string
		for _, n := range rep.notices {
			got = append(got, fmt.Sprintf("%s:%s", n.Code, n.Subject))
		}
		slices.Sort(got)
		if fmt.Sprint(got) != fmt.Sprint(p.want) {
			t.Errorf("pass %d with %v mounted: notices %v, want %v", i+1, p.mounted, got, p.want)
		}
	}
}

// TestRepeatFilter: a state notice is passed on when the previous pass
// did not give it; an event notice every time.
func TestRepeatFilter(t *testing.T) {
	ro := Notice{Code: NoticeNotReadWrite, Subject: "/mnt/ro"}
	src := Notice{Code: NoticeSourcesOnly, Subject: "data", Count: 2}
	src3 := Notice{Code: NoticeSourcesOnly, Subject: "data", Count: 3}
	file := Notice{Code: NoticeFileError, Subject: "/mnt/x", Err: errors.New("EIO")}
	passes := []struct {
		given, want []Notice
	}{
		{[]Notice{ro, src, file}, []Notice{ro, src, file}},
		{[]Notice{ro, src, file}, []Notice{file}},
		{[]Notice{src3}, []Notice{src3}},
		{[]Notice{ro, src3}, []Notice{ro}},
		{nil, nil},
		{[]Notice{ro}, []Notice{ro}},
	}
	rep := &passRecorder{}
	r := &repeatFilter{WatchReporter: rep, last: map[noticeKey]bool{}, now: map[noticeKey]bool{}}
	for i, p := range passes {
		rep.notices = nil
		for _, n := range p.given {
			r.Notice(n)
		}
		r.endPass()
		if fmt.Sprint(rep.notices) != fmt.Sprint(p.want) {
			t.Errorf("pass %d: passed on %v, want %v", i+1, rep.notices, p.want)
		}
	}
}
