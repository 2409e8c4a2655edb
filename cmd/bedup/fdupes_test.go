package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/cli"
	"github.com/bedup/bedup/internal/testfs"
)

// pipeline runs a shell pipeline in which "bedup" is this test binary
// run as bedup, and returns its stdout, stderr and exit status.
func pipeline(t *testing.T, script string) (string, string, int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-o", "pipefail", "-c", "bedup() { BEDUP_RUN_MAIN=1 "+exe+` "$@"; }; `+script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s\n%s%s(exit %d)", script, out.String(), errb.String(), code)
	return out.String(), errb.String(), code
}

// lines returns the lines of s, sorted.
func sortedLines(s string) []string {
	l := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	sort.Strings(l)
	return l
}

// TestFdupesPipeline: what the real jdupes -r prints, piped into
// dedup-files --fdupes, makes every group share one copy's extents (names
// with spaces included) and changes nothing else; jdupes -S and -0 output
// then finds everything already shared.
func TestFdupesPipeline(t *testing.T) {
	testfs.RequireCommand(t, "jdupes", "jdupes")
	fs := testfs.New(t)
	tree := fs.Path("tree")
	groups := [][]string{
		{"a one", "dir with space/a two", "sub/a3"},
		{"b1", "sub/deeper/b 2"},
		{"c1", "c2", "c3", "c4"},
	}
	sizes := []int{1<<20 + 3, 300 << 10, 128<<10 + 1}
	var all []string
	for i, g := range groups {
		for j, n := range g {
			g[j] = filepath.Join(tree, n)
			testfs.WriteFile(t, g[j], testfs.Bytes(uint64(i+1), sizes[i]))
			all = append(all, g[j])
		}
	}
	all = append(all, testfs.WriteFile(t, filepath.Join(tree, "unique"), testfs.Bytes(9, 200<<10)))
	before := testfs.States(t, all...)

	out, errOut, code := pipeline(t, "jdupes -r "+tree+" | bedup dedup-files --fdupes")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	// Equal copies rank by (subvolume, inode): each group's first file,
	// written first, is its source.
	var want []string
	for i, g := range groups {
		for _, d := range g[1:] {
			want = append(want, fmt.Sprintf("shared: %s (%d bytes)", d, sizes[i]))
			if !testfs.Shares(t, g[0], d) {
				t.Errorf("%s does not share the extents of %s", d, g[0])
			}
		}
	}
	sort.Strings(want)
	if got := sortedLines(out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stdout:\n%s\nwant (in any order):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	testfs.Unchanged(t, before)

	for _, script := range []string{
		"jdupes -r -S " + tree + " | bedup dedup-files --fdupes",
		"jdupes -r -0 " + tree + " | bedup dedup-files --fdupes -0",
		"jdupes -r -S -0 " + tree + " | bedup dedup-files --fdupes --null",
	} {
		out, errOut, code := pipeline(t, script)
		if code != 0 || errOut != "" || strings.Count(out, "already shared: ") != len(want) || strings.Count(out, "\n") != len(want) {
			t.Errorf("%s: exit %d, stderr %q, stdout:\n%s\nwant %d already shared lines", script, code, errOut, out, len(want))
		}
	}
	testfs.Unchanged(t, before)
}

// runBedupIn runs bedup in-process with stdin and returns stdout, stderr
// and the exit status.
func runBedupIn(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := exitCode(cli.Run(context.Background(), args, cli.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb}))
	t.Logf("bedup %s\n%s%s(exit %d)", strings.Join(args, " "), out.String(), errb.String(), code)
	return out.String(), errb.String(), code
}

// TestFdupesSnapshotSource: in a group holding a file and its copy in a
// read-only snapshot, the snapshot's copy is the source (its extents are
// as shared as the original's, and it is read-only): the other copies
// take its extents and the snapshot is not written. The JSON output
// follows docs/json.md and names each group and its source.
func TestFdupesSnapshotSource(t *testing.T) {
	set := schemas(t)
	fs := testfs.New(t)
	fs.Subvolume(t, "sv")
	data := testfs.Bytes(3, 1<<20)
	c1 := testfs.WriteFile(t, fs.Path("c1"), data)
	orig := testfs.WriteFile(t, fs.Path("sv/f"), data)
	snap := fs.Snapshot(t, "sv", "snap", true) + "/f"
	c2 := testfs.WriteFile(t, fs.Path("c 2"), data)
	lone := testfs.WriteFile(t, fs.Path("lone"), data)
	fs.Sync(t)
	snapExt := testfs.Extents(t, snap)
	before := testfs.States(t, c1, orig, snap, c2, lone)

	in := strings.Join([]string{c1, orig, snap, c2}, "\n") + "\n\n" + lone + "\n"
	out, errOut, code := runBedupIn(t, in, "dedup-files", "--fdupes", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	outcome := map[string]string{}
	for _, e := range checkLines(t, set, "event:fdupes-summary", out) {
		switch e["type"] {
		case "file":
			p := e["file"].(map[string]any)["path"].(string)
			outcome[p] = e["outcome"].(string)
			if e["group"] != 1.0 || e["source"].(map[string]any)["path"] != snap {
				t.Errorf("%s: group %v, source %v; want group 1 and source %s", p, e["group"], e["source"], snap)
			}
		case "summary":
			if e["groups"] != 2.0 || e["destinations"] != 3.0 || e["not_shared"] != 0.0 || e["bytes_shared"] != float64(2*len(data)) {
				t.Errorf("summary %v", e)
			}
		}
	}
	want := map[string]string{c1: "shared", orig: "already shared", c2: "shared"}
	if fmt.Sprint(outcome) != fmt.Sprint(want) {
		t.Errorf("outcomes %v, want %v", outcome, want)
	}
	for _, f := range []string{c1, orig, c2} {
		if !testfs.Shares(t, snap, f) {
			t.Errorf("%s does not share the snapshot's extents", f)
		}
	}
	fs.Sync(t)
	if got := testfs.Extents(t, snap); fmt.Sprint(got) != fmt.Sprint(snapExt) {
		t.Errorf("the snapshot's extents moved:\n%v\n%v", snapExt, got)
	}
	testfs.Unchanged(t, before)
}
