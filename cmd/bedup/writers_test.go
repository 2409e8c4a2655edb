package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/testfs"
)

// writer changes one file of the target over and over, each cycle leaving
// it holding one of two contents that stable files of the target also
// hold, and remembers what it wrote last.
type writer struct {
	kind   string
	path   string
	a, b   []byte
	last   []byte
	cycles int
	cycle  func(w *writer, data []byte) error // one full rewrite
}

// writerKinds are the ways a file is changed under bedup's feet.
var writerKinds = []struct {
	kind  string
	cycle func(w *writer, data []byte) error
}{
	{"overwrite", func(w *writer, data []byte) error { return writeFileAt(w.path, data, 0, 0) }},
	{"append", func(w *writer, data []byte) error {
		if err := os.Truncate(w.path, 0); err != nil {
			return err
		}
		f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		for q := len(data) / 4; len(data) > 0; data = data[min(q, len(data)):] {
			if _, err := f.Write(data[:min(q, len(data))]); err != nil {
				return err
			}
		}
		return nil
	}},
	{"truncate", func(w *writer, data []byte) error {
		if err := os.Truncate(w.path, int64(len(data)/2)); err != nil {
			return err
		}
		return writeFileAt(w.path, data, 0, 0)
	}},
	{"rename", func(w *writer, data []byte) error {
		// A new name (within the target), then new bytes.
		next, ok := strings.CutSuffix(w.path, "-renamed")
		if !ok {
			next = w.path + "-renamed"
		}
		if err := os.Rename(w.path, next); err != nil {
			return err
		}
		w.path = next
		return writeFileAt(w.path, data, 0, 0)
	}},
	{"recreate", func(w *writer, data []byte) error {
		if err := os.Remove(w.path); err != nil {
			return err
		}
		return writeFileAt(w.path, data, 0, os.O_CREATE|os.O_EXCL)
	}},
	{"mmap", func(w *writer, data []byte) error {
		f, err := os.OpenFile(w.path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		m, err := unix.Mmap(int(f.Fd()), 0, len(data), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return err
		}
		defer unix.Munmap(m)
		copy(m, data)
		return unix.Msync(m, unix.MS_SYNC)
	}},
}

// writeFileAt writes data at off into path (opened with extra flags).
func writeFileAt(path string, data []byte, off int64, flags int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|flags, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, off); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// TestConcurrentWriters runs dedup over and over on a directory while
// writers of every kind (overwrite, append, truncate, rename,
// delete-and-recreate, mmap writes) change its files between copies of
// the contents of stable files. Every file ends holding its writer's last
// bytes; bedup opens no file outside the directory (fanotify: decoys of
// the same sizes and contents lie next to it and in another subvolume);
// once the writers stop, a run shares every copy.
func TestConcurrentWriters(t *testing.T) {
	fs := testfs.New(t)
	wf := newWriterFixture(t, fs)
	records := testfs.States(t, append(slices.Clone(wf.stable), wf.outside...)...)
	watch := testfs.WatchOpens(t, fs.Mnt)
	db := filepath.Join(t.TempDir(), "bedup.db")
	args := []string{"dedup", "--size-cutoff", "4K", "--db-path", db, wf.target}
	var pids []int
	run := func() (code int, stdout, stderr string) {
		cmd, out, errb := bedupProcess(args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, cmd.Process.Pid)
		cmd.Wait()
		return cmd.ProcessState.ExitCode(), out.String(), errb.String()
	}

	stop := wf.start(t)
	codes := map[int]int{}
	const runs = 16
	for range runs {
		code, stdout, stderr := run()
		codes[code]++
		if code != 0 && code != 3 {
			t.Errorf("dedup during the writes: exit %d\n%s\n%s", code, stderr, stdout)
		}
	}
	stop()
	writes := ""
	var groups [][]string
	for i, w := range wf.writers {
		got, err := os.ReadFile(w.path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, w.last) {
			t.Errorf("%s: the file does not hold its writer's last bytes", w.path)
		}
		writes += fmt.Sprintf(" %s %d", w.kind, w.cycles)
		twin := wf.stable[2*i] // a
		if !bytes.Equal(w.last, w.a) {
			twin = wf.stable[2*i+1] // b
		}
		groups = append(groups, []string{twin, w.path})
	}
	testfs.Unchanged(t, records)

	code, stdout, stderr := run()
	if code != 0 {
		t.Errorf("final run: exit %d\n%s", code, stderr)
	}
	allShared(t, groups)
	if t.Failed() {
		t.Logf("final run:\n%s\n%s", stdout, stderr)
	}
	opened := wf.checkOpens(t, fs, watch, pids)
	t.Logf("concurrent writers: %d runs during the writes (exit statuses %v) and a final one, writer cycles:%s; %d files opened by bedup, none outside the target",
		runs, codes, writes, opened)
}

// writerFixture is a target directory with a writer per kind and stable
// copies of what the writers write, and decoys outside it.
type writerFixture struct {
	target  string
	writers []*writer
	stable  []string // per writer: a copy of its contents a, then of b
	outside []string // copies of the stable files outside the target
}

func newWriterFixture(t *testing.T, fs *testfs.FS) *writerFixture {
	sv := fs.Subvolume(t, "sv")
	other := fs.Subvolume(t, "other")
	wf := &writerFixture{target: filepath.Join(sv, "target")}
	for k, wk := range writerKinds {
		size := 64<<10 + k*8<<10 + 123
		w := &writer{kind: wk.kind, cycle: wk.cycle,
			a: testfs.Bytes(uint64(k)*2+500, size), b: testfs.Bytes(uint64(k)*2+501, size)}
		w.path = testfs.WriteFile(t, filepath.Join(wf.target, "w", wk.kind), w.a)
		w.last = w.a
		for i, data := range [][]byte{w.a, w.b} {
			name := wk.kind + "-" + "ab"[i:i+1]
			wf.stable = append(wf.stable, testfs.WriteFile(t, filepath.Join(wf.target, "stable", name), data))
			wf.outside = append(wf.outside, testfs.WriteFile(t, filepath.Join(sv, "outside", name), data),
				testfs.WriteFile(t, filepath.Join(other, name), data))
		}
		wf.writers = append(wf.writers, w)
	}
	fs.Sync(t)
	return wf
}

// start sets the writers going; the function it returns stops them and
// waits until each has finished its cycle.
func (wf *writerFixture) start(t *testing.T) func() {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range wf.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				data := [][]byte{w.b, w.a}[i%2]
				if err := w.cycle(w, data); err != nil {
					t.Errorf("%s writer: %v", w.kind, err)
					return
				}
				w.last = data
				w.cycles++
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return func() {
		close(stop)
		wg.Wait()
	}
}

// checkOpens fails t if a bedup process opened a decoy, or if the watch
// saw none of them open a stable file; it returns how many files they
// opened.
func (wf *writerFixture) checkOpens(t *testing.T, fs *testfs.FS, watch *testfs.OpenWatch, pids []int) int {
	watch.Sync(t, fs.Mnt)
	decoys := map[testfs.FileID]string{}
	for _, p := range wf.outside {
		decoys[testfs.ID(t, p)] = p
	}
	inside := map[testfs.FileID]bool{}
	for _, p := range wf.stable {
		inside[testfs.ID(t, p)] = true
	}
	opened, openedInside := 0, 0
	for _, pid := range pids {
		for id := range watch.Opened(pid) {
			opened++
			if inside[id] {
				openedInside++
			}
			if p, ok := decoys[id]; ok {
				t.Errorf("bedup (pid %d) opened %s, outside its target", pid, p)
			}
		}
	}
	if openedInside == 0 {
		t.Error("fanotify saw bedup open none of the stable files: the watch does not work")
	}
	return opened
}
