package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bedup/bedup/internal/testfs"
)

// readmeSnippet extracts the shell block under the README's heading.
func readmeSnippet(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)## " + regexp.QuoteMeta(heading) + "\n.*?```sh\n(.*?)```")
	m := re.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("README.md has no sh block under %q", heading)
	}
	return m[1]
}

// TestReadmeScratchExample runs the README's scratch example as pasted
// (paths moved into a temporary directory, `go run ./cmd/bedup` replaced
// by this binary): written and deduplicated at once, it frees ~100 MiB.
func TestReadmeScratchExample(t *testing.T) {
	testfs.Require(t)
	snippet := readmeSnippet(t, "Try it on a scratch filesystem")
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for from, to := range map[string]string{
		"/tmp/scratch.img":   filepath.Join(dir, "scratch.img"),
		"/mnt/scratch":       filepath.Join(dir, "mnt"),
		"go run ./cmd/bedup": "BEDUP_RUN_MAIN=1 " + exe,
	} {
		if !strings.Contains(snippet, from) {
			t.Fatalf("the README snippet no longer contains %q:\n%s", from, snippet)
		}
		snippet = strings.ReplaceAll(snippet, from, to)
	}
	t.Cleanup(func() { exec.Command("umount", filepath.Join(dir, "mnt")).Run() })
	cmd := exec.Command("bash", "-e", "-c", snippet)
	cmd.Env = append(os.Environ(), "BEDUP_DB="+filepath.Join(dir, "bedup.db"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README snippet failed: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^bytes freed: (\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no summary in:\n%s", out)
	}
	freed, _ := strconv.ParseInt(string(m[1]), 10, 64)
	if freed < 99<<20 {
		t.Errorf("the README example freed %d bytes, want ~100 MiB:\n%s", freed, out)
	}
}

// TestDedupSeesFreshWrites: files written 0.1 s before dedup, not yet
// committed, are shared by that run.
func TestDedupSeesFreshWrites(t *testing.T) {
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "bedup.db")
	data := testfs.Bytes(3, 4<<20)
	for _, n := range []string{"a", "b"} {
		if err := os.WriteFile(fs.Path(n), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	out := mustRun(t, "dedup", "--db-path", db, fs.Mnt)
	if !testfs.Shares(t, fs.Path("a"), fs.Path("b")) {
		t.Errorf("fresh files not shared:\n%s", out)
	}
}

// TestUnattendedAndUnprivileged: with no environment at all (no HOME, no
// PATH) a root run works on the default database; an unprivileged user
// gets one line saying bedup needs root, and exit 1.
func TestUnattendedAndUnprivileged(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(4, 1<<20)
	testfs.WriteFile(t, fs.Path("a"), data)
	testfs.WriteFile(t, fs.Path("b"), data)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The default database is /var/lib/bedup/bedup.db: give this run a
	// private, empty one there.
	if err := os.MkdirAll("/var/lib/bedup", 0o755); err != nil {
		t.Fatal(err)
	}
	script := `mount -t tmpfs none /var/lib/bedup && exec env -i BEDUP_RUN_MAIN=1 "$0" dedup "$1"`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, exe, fs.Mnt)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("env -i bedup dedup: %v\n%s%s", err, out, stderr.String())
	}
	if !testfs.Shares(t, fs.Path("a"), fs.Path("b")) {
		t.Errorf("env -i bedup dedup shared nothing:\n%s%s", out, stderr.String())
	}

	// A copy of the binary that user may run.
	pub, err := os.MkdirTemp("", "bedup-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(pub)
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(pub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pub, "bedup"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "BEDUP_RUN_MAIN=1", filepath.Join(pub, "bedup"), "dedup", fs.Mnt)
	stderr.Reset()
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	line := strings.TrimSuffix(stderr.String(), "\n")
	if code != 1 || len(out) != 0 || strings.Contains(line, "\n") || !strings.Contains(line, "root") || !strings.Contains(line, "CAP_SYS_ADMIN") {
		t.Errorf("as nobody: exit %d, stdout %q, stderr %q; want exit 1 and one line saying bedup needs root", code, out, stderr.String())
	}
}
