package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/cli"
	"github.com/bedup/bedup/internal/testfs"
)

// bedupIn runs the CLI in-process with stdin and returns stdout, stderr
// and the error.
func bedupIn(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := cli.Run(context.Background(), args, cli.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	t.Logf("bedup %s\n%s%s", strings.Join(args, " "), out.String(), errb.String())
	return out.String(), errb.String(), err
}

// A hand-written group whose members differ (same size, other bytes) is
// reported "differs" per file, and nothing changes: the kernel's compare
// is the only proof of equality.
func TestFdupesDiffers(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(1, 1<<20)
	x := testfs.WriteFile(t, fs.Path("x"), data)
	other := slices.Clone(data)
	other[len(other)/2] ^= 1
	y := testfs.WriteFile(t, fs.Path("y"), other)
	other = slices.Clone(data)
	other[len(other)-1] ^= 1
	z := testfs.WriteFile(t, fs.Path("z"), other)
	fs.Sync(t)
	ext := map[string]string{}
	for _, p := range []string{x, y, z} {
		ext[p] = fmt.Sprint(testfs.Extents(t, p))
	}
	before := testfs.States(t, x, y, z)

	out, stderr, err := bedupIn(t, x+"\n"+y+"\n"+z+"\n", "dedup-files", "--fdupes")
	if err == nil || cli.IsUsage(err) {
		t.Fatalf("err = %v, want a plain failure", err)
	}
	// Equal ranks: the first written, x, is the source.
	if want := "differs: " + y + "\ndiffers: " + z + "\n"; out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	if want := "bedup: dedup-files: 2 of 2 destinations do not share their group's data\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
	for p, e := range ext {
		if got := fmt.Sprint(testfs.Extents(t, p)); got != e {
			t.Errorf("extents of %s changed:\n%s\n%s", p, e, got)
		}
	}
	testfs.Unchanged(t, before)
}

// Members that are missing, not regular files or on another filesystem
// are skipped with their reason; a path named twice is the same file; the
// rest of the group is shared, and the exit status says not all were.
func TestFdupesSkippedMembers(t *testing.T) {
	fs := testfs.New(t)
	other := testfs.New(t, testfs.Options{SizeMiB: 200})
	data := testfs.Bytes(2, 300<<10)
	a := testfs.WriteFile(t, fs.Path("a"), data)
	b := testfs.WriteFile(t, fs.Path("b b"), data)
	elsewhere := testfs.WriteFile(t, other.Path("a"), data)
	shm, err := os.MkdirTemp("/dev/shm", "bedup-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	tmpfs := testfs.WriteFile(t, shm+"/a", data)
	dir := fs.Path("dir")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	before := testfs.States(t, a, b, elsewhere)

	in := strings.Join([]string{elsewhere, a, fs.Path("missing"), dir, b, tmpfs, a, fs.Path("a/below")}, "\n")
	out, _, err := bedupIn(t, in, "dedup-files", "--fdupes")
	if err == nil || cli.IsUsage(err) {
		t.Fatalf("err = %v, want a plain failure", err)
	}
	want := strings.Join([]string{
		"skipped: " + elsewhere + " (on another filesystem)",
		"skipped: " + fs.Path("missing") + " (no such file)",
		"skipped: " + dir + " (not a regular file)",
		fmt.Sprintf("shared: %s (%d bytes)", b, len(data)),
		"skipped: " + tmpfs + " (on another filesystem: not on a Btrfs filesystem)",
		"already shared: " + a,
		"skipped: " + fs.Path("a/below") + " (no such file)",
	}, "\n") + "\n"
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	if !testfs.Shares(t, a, b) {
		t.Error("the group's identical members were not shared")
	}
	testfs.Unchanged(t, before)
}

// Without groups there is nothing to do; usage errors and input that no
// fdupes-style tool prints stop before anything is done.
func TestFdupesInput(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(3, 200<<10)
	a := testfs.WriteFile(t, fs.Path("a"), data)
	b := testfs.WriteFile(t, fs.Path("b"), data)
	if out, _, err := bedupIn(t, "\n\n", "dedup-files", "--fdupes"); err != nil || out != "" {
		t.Errorf("empty input: %q, %v", out, err)
	}
	for _, args := range [][]string{
		{"dedup-files", "--fdupes", a},
		{"dedup-files", "--fdupes", "--defrag"},
		{"dedup-files", "-0", a, b},
	} {
		if out, _, err := bedupIn(t, a+"\n"+b+"\n", args...); !cli.IsUsage(err) || out != "" {
			t.Errorf("%v: %q, %v; want a usage error and no output", args, out, err)
		}
	}
	// jdupes -0 output read without -0: the first group is shared before
	// the NUL byte is met.
	c := testfs.WriteFile(t, fs.Path("c"), data)
	out, stderr, err := bedupIn(t, a+"\n"+b+"\n\n"+a+"\x00"+c+"\x00", "dedup-files", "--fdupes")
	if err == nil || cli.IsUsage(err) || !strings.Contains(stderr, "standard input: line 4: holds a NUL byte") {
		t.Errorf("NUL without -0: %v, stderr %q", err, stderr)
	}
	if out != fmt.Sprintf("shared: %s (%d bytes)\n", b, len(data)) || testfs.Shares(t, a, c) {
		t.Errorf("NUL without -0: stdout %q; c shared: %v", out, testfs.Shares(t, a, c))
	}
}
