package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bedup/bedup/internal/testfs"
)

// blockedInWrite reports whether a thread of process pid waits in the
// kernel to write to a full pipe.
func blockedInWrite(pid int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
	for _, t := range tasks {
		if b, err := os.ReadFile(t); err == nil && strings.Contains(string(b), "pipe_write") {
			return true
		}
	}
	return false
}

// TestSIGTERMWithStdoutBlocked: a bedup whose standard output is a pipe
// nobody reads ends on one SIGTERM, with exit 130 and one line (its write
// was stuck in the kernel, where the signal never reached it: only a
// second signal, or SIGKILL, ended it). The waits are hang guards, not
// timings.
func TestSIGTERMWithStdoutBlocked(t *testing.T) {
	fs := testfs.New(t)
	vol := fs.Subvolume(t, "vol")
	for i := range 2000 {
		if err := os.WriteFile(filepath.Join(vol, fmt.Sprintf("file-with-a-long-enough-name-%04d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs.Sync(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() // open and never read: writes block once the pipe is full
	cmd, _, errb := bedupProcess("find-new", vol)
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for deadline := time.Now().Add(time.Minute); !blockedInWrite(cmd.Process.Pid); time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("find-new ended before its output filled the pipe: %v, %s", err, errb)
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("find-new never blocked writing to the pipe")
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatal("one SIGTERM did not stop a bedup blocked writing its output")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 || errb.String() != "bedup: terminated\n" {
		t.Errorf("after SIGTERM: %v, stderr %q; want exit 130 and one line", err, errb)
	}
}
