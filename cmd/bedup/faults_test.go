package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
)

// Fault injection for bedup processes started by the tests (the test
// binary run as bedup, see bedupProcess): BEDUP_TEST_HOOK_AT=POINT:N picks
// the Nth time a pass reaches a dedupe.HookPoint ("read", "intents",
// "dedupe", "commit"), and BEDUP_TEST_HOOK_DO says what happens there:
// "kill" (SIGKILL to itself: nothing after that point runs) or a shell
// command, run to its end before the pass goes on.
const (
	hookAtEnv = "BEDUP_TEST_HOOK_AT"
	hookDoEnv = "BEDUP_TEST_HOOK_DO"
)

// installFaultHook sets dedupe.TestHook from the environment, if asked.
func installFaultHook() {
	point, nth, ok := strings.Cut(os.Getenv(hookAtEnv), ":")
	n, err := strconv.ParseInt(nth, 10, 64)
	if !ok || err != nil {
		return
	}
	do := os.Getenv(hookDoEnv)
	var seen atomic.Int64
	dedupe.TestHook = func(at dedupe.HookPoint) {
		if string(at) != point || seen.Add(1) != n {
			return
		}
		if do == "kill" {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
		if out, err := exec.Command("sh", "-c", do).CombinedOutput(); err != nil {
			os.Stderr.WriteString("test hook: " + do + ": " + err.Error() + ": " + string(out) + "\n")
		}
	}
}

// outcome is how a bedup process ended.
type outcome struct {
	stdout, stderr string
	code           int  // exit status (-1 when killed)
	killed         bool // by SIGKILL
}

// bedupWith runs bedup in its own process with extra environment
// variables.
func bedupWith(t *testing.T, env []string, args ...string) outcome {
	t.Helper()
	cmd, out, errb := bedupProcess(args...)
	cmd.Env = append(cmd.Env, env...)
	err := cmd.Run()
	o := outcome{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		o.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			o.killed = true
		}
	default:
		t.Fatal(err)
	}
	return o
}

// hookEnv is the environment that makes a bedup process do `do` at the
// nth time it reaches point.
func hookEnv(point dedupe.HookPoint, n int, do string) []string {
	return []string{hookAtEnv + "=" + string(point) + ":" + strconv.Itoa(n), hookDoEnv + "=" + do}
}

// jsonTotal is the total of a dedup --json run's summary.
type jsonTotal struct {
	SizeGroups     int            `json:"size_groups"`
	FilesShared    int            `json:"files_shared"`
	BytesRead      int64          `json:"bytes_read"`
	DedupeCalls    int            `json:"dedupe_calls"`
	FilesSkipped   int            `json:"files_skipped"`
	Skipped        map[string]int `json:"skipped"`
	FilesDeferred  int            `json:"files_deferred"`
	SizeGroupsLeft int            `json:"size_groups_left"`
	Halted         *string        `json:"halted"`
}

// summaryTotal finds the summary line of JSON Lines output.
func summaryTotal(t *testing.T, stdout string) jsonTotal {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var s struct {
		Type  string
		Total jsonTotal
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil || s.Type != "summary" {
		t.Fatalf("no summary at the end of the output (%v):\n%s", err, stdout)
	}
	return s.Total
}

// fileKey names a file as the dedup history does.
type fileKey struct{ root, ino uint64 }

// keyOf returns the subvolume id and inode number of the file at path.
func keyOf(t *testing.T, path string) fileKey {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := btrfs.GetSubvolInfo(f)
	if err != nil {
		t.Fatal(err)
	}
	st, err := btrfs.Fstat(f)
	if err != nil {
		t.Fatal(err)
	}
	return fileKey{info.ID, st.Ino}
}

// openDB opens a database no bedup is using (to check it).
func openDB(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// checkIntegrity fails t unless SQLite's integrity_check says ok.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db := openDB(t, path)
	defer db.Close()
	if s, err := db.IntegrityCheck(context.Background()); err != nil || s != "ok" {
		t.Errorf("integrity check: %q, %v", s, err)
	}
}

// allShared fails t for every file of a group that does not share the
// first one's extents.
func allShared(t *testing.T, groups [][]string) {
	t.Helper()
	for _, g := range groups {
		for _, p := range g[1:] {
			if !testfs.Shares(t, g[0], p) {
				t.Errorf("%q does not share %q's extents", p, g[0])
			}
		}
	}
}

// idle asserts that a further dedup run has nothing to do.
func idle(t *testing.T, db, target string) {
	t.Helper()
	o := bedupWith(t, nil, "dedup", "--json", "--db-path", db, target)
	tot := summaryTotal(t, o.stdout)
	if o.code != 0 || tot.SizeGroups != 0 || tot.BytesRead != 0 || tot.DedupeCalls != 0 {
		t.Errorf("a further run did work: exit %d, %+v\n%s", o.code, tot, o.stderr)
	}
}

// pairs writes n pairs of identical files under dir, each pair its own
// size, and returns them.
func pairs(t *testing.T, dir string, n, size int) [][]string {
	t.Helper()
	var out [][]string
	for i := range n {
		data := testfs.Bytes(uint64(i)+1000, size+i)
		a := testfs.WriteFile(t, filepath.Join(dir, "a", strconv.Itoa(i)), data)
		b := testfs.WriteFile(t, filepath.Join(dir, "b", strconv.Itoa(i)), data)
		out = append(out, []string{a, b})
	}
	return out
}
