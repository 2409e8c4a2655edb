package testfs

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FileID names a file by its device (on Btrfs, one per subvolume) and
// inode number.
type FileID struct{ Dev, Ino uint64 }

// ID returns the FileID of the file at path.
func ID(t testing.TB, path string) FileID {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return FileID{st.Dev, st.Ino}
}

// OpenWatch records which process opened which file on a filesystem,
// through fanotify (FAN_OPEN on the whole filesystem: opens by path and by
// file handle alike, in every subvolume). Directories are not reported.
type OpenWatch struct {
	f      *os.File
	mu     sync.Mutex
	opened map[int]map[FileID]bool // by process id
	err    error
	done   chan struct{}
}

// WatchOpens starts recording the opens on the filesystem mounted at mnt,
// until Stop or the end of t.
func WatchOpens(t testing.TB, mnt string) *OpenWatch {
	t.Helper()
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK|unix.FAN_UNLIMITED_QUEUE,
		unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		t.Fatalf("fanotify_init: %v", err)
	}
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, unix.FAN_OPEN, unix.AT_FDCWD, mnt); err != nil {
		unix.Close(fd)
		t.Fatalf("fanotify_mark %s: %v", mnt, err)
	}
	w := &OpenWatch{f: os.NewFile(uintptr(fd), "fanotify"), opened: map[int]map[FileID]bool{}, done: make(chan struct{})}
	go w.read()
	t.Cleanup(func() {
		if err := w.Stop(); err != nil {
			t.Error(err)
		}
	})
	return w
}

// read records events until the watch is closed.
func (w *OpenWatch) read() {
	defer close(w.done)
	buf := make([]byte, 64<<10)
	size := int(unsafe.Sizeof(unix.FanotifyEventMetadata{}))
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
			return
		}
		for off := 0; off+size <= n; {
			m := (*unix.FanotifyEventMetadata)(unsafe.Pointer(&buf[off]))
			if m.Fd >= 0 {
				var st unix.Stat_t
				if unix.Fstat(int(m.Fd), &st) == nil {
					w.mu.Lock()
					if w.opened[int(m.Pid)] == nil {
						w.opened[int(m.Pid)] = map[FileID]bool{}
					}
					w.opened[int(m.Pid)][FileID{st.Dev, st.Ino}] = true
					w.mu.Unlock()
				}
				unix.Close(int(m.Fd))
			} else if m.Mask&unix.FAN_Q_OVERFLOW != 0 {
				w.mu.Lock()
				w.err = errors.New("fanotify: events lost (queue overflow)")
				w.mu.Unlock()
			}
			off += int(m.Event_len)
		}
	}
}

// Sync waits until every open made before it is recorded: it opens a file
// of its own in dir (on the watched filesystem) and waits for that open's
// event, which the queue delivers after all earlier ones.
func (w *OpenWatch) Sync(t testing.TB, dir string) {
	t.Helper()
	f, err := os.CreateTemp(dir, ".openwatch-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	id := ID(t, f.Name())
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if w.Opened(os.Getpid())[id] {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("fanotify: the marker's open never arrived")
		}
	}
}

// Opened returns the files process pid opened so far.
func (w *OpenWatch) Opened(pid int) map[FileID]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[FileID]bool{}
	for id := range w.opened[pid] {
		out[id] = true
	}
	return out
}

// Stop ends the watch (once) and returns the first error met reading.
func (w *OpenWatch) Stop() error {
	w.f.Close()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
