package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
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
	size   int
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
	sv := fs.Subvolume(t, "sv")
	other := fs.Subvolume(t, "other")
	target := filepath.Join(sv, "target")
	var writers []*writer
	var stable, outside []string
	for k, wk := range writerKinds {
		size := 64<<10 + k*8<<10 + 123
		w := &writer{kind: wk.kind, size: size, cycle: wk.cycle,
			a: testfs.Bytes(uint64(k)*2+500, size), b: testfs.Bytes(uint64(k)*2+501, size)}
		w.path = testfs.WriteFile(t, filepath.Join(target, "w", wk.kind), w.a)
		w.last = w.a
		for i, data := range [][]byte{w.a, w.b} {
			name := "ab"[i : i+1]
			stable = append(stable, testfs.WriteFile(t, filepath.Join(target, "stable", wk.kind+"-"+name), data))
			outside = append(outside, testfs.WriteFile(t, filepath.Join(sv, "outside", wk.kind+"-"+name), data),
				testfs.WriteFile(t, filepath.Join(other, wk.kind+"-"+name), data))
		}
		writers = append(writers, w)
	}
	fs.Sync(t)
	records := testfs.States(t, append(stable, outside...)...)
	watch := testfs.WatchOpens(t, fs.Mnt)
	db := filepath.Join(t.TempDir(), "bedup.db")
	args := []string{"dedup", "--size-cutoff", "4K", "--db-path", db, target}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range writers {
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
	codes := map[int]int{}
	const runs = 16
	for range runs {
		code, stdout, stderr := run()
		codes[code]++
		if code != 0 && code != 3 {
			t.Errorf("dedup during the writes: exit %d\n%s\n%s", code, stderr, stdout)
		}
	}
	close(stop)
	wg.Wait()

	writes := ""
	for _, w := range writers {
		got, err := os.ReadFile(w.path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, w.last) {
			t.Errorf("%s: the file does not hold its writer's last bytes", w.path)
		}
		writes += fmt.Sprintf(" %s %d", w.kind, w.cycles)
	}
	testfs.Unchanged(t, records)

	code, stdout, stderr := run()
	if code != 0 {
		t.Errorf("final run: exit %d\n%s", code, stderr)
	}
	var groups [][]string
	for i, w := range writers {
		twin := stable[2*i+map[bool]int{true: 0, false: 1}[bytes.Equal(w.last, w.a)]]
		other := stable[2*i+map[bool]int{true: 1, false: 0}[bytes.Equal(w.last, w.a)]]
		groups = append(groups, []string{twin, w.path}, []string{other})
	}
	allShared(t, groups)
	if t.Failed() {
		t.Logf("final run:\n%s\n%s", stdout, stderr)
	}

	watch.Sync(t, fs.Mnt)
	decoys := map[testfs.FileID]string{}
	for _, p := range outside {
		decoys[testfs.ID(t, p)] = p
	}
	inside := map[testfs.FileID]bool{}
	for _, p := range stable {
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
	t.Logf("concurrent writers: %d runs during the writes (exit statuses %v) and a final one, writer cycles:%s; %d files opened by bedup, none outside the target",
		runs, codes, writes, opened)
}
