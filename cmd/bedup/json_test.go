package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/cli"
	"github.com/bedup/bedup/internal/jsonschema"
	"github.com/bedup/bedup/internal/testfs"
)

// schemas reads the schemas docs/json.md documents.
func schemas(t *testing.T) jsonschema.Set {
	t.Helper()
	b, err := os.ReadFile("../../docs/json.md")
	if err != nil {
		t.Fatal(err)
	}
	set, err := jsonschema.Extract(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// runBedup runs bedup in-process and returns stdout, stderr and the exit
// status.
func runBedup(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := exitCode(cli.Run(context.Background(), args, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb}))
	return out.String(), errb.String(), code
}

// checkLines validates every JSON Lines event of a streaming command
// against its schema (summary: summarySchema) and returns them decoded.
func checkLines(t *testing.T, set jsonschema.Set, summarySchema, out string) []map[string]any {
	t.Helper()
	var events []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		name := "event:" + v["type"].(string)
		if v["type"] == "summary" {
			name = summarySchema
		}
		if err := set.Validate(name, v); err != nil {
			t.Errorf("%s: %v\n%s", name, err, line)
		}
		events = append(events, v)
	}
	last := len(events) - 1
	if last > 0 && events[last]["type"] == "error" {
		last-- // a failed command's error follows its summary
	}
	if last < 0 || events[last]["type"] != "summary" {
		t.Errorf("the summary is not the last event (but for an error):\n%s", out)
	}
	return events
}

// checkDocument validates a one-document command's output.
func checkDocument(t *testing.T, set jsonschema.Set, command, out string) map[string]any {
	t.Helper()
	var v map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s --json: not one JSON document: %v\n%s", command, err, out)
	}
	if dec.More() {
		t.Fatalf("%s --json: more than one document:\n%s", command, out)
	}
	if err := set.Validate("document:"+command, v); err != nil {
		t.Errorf("%s --json: %v\n%s", command, err, out)
	}
	return v
}

// TestJSONOutput runs every command that prints results with --json and
// holds its output to docs/json.md; file names with a newline and with
// bytes that are not UTF-8 come back exactly.
func TestJSONOutput(t *testing.T) {
	set := schemas(t)
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "bedup.db")
	vol := fs.Subvolume(t, "vol")
	data := testfs.Bytes(7, 300<<10)
	names := []string{"plain", "new\nline", "bad\xff\xfename"}
	for _, n := range names {
		testfs.WriteFile(t, filepath.Join(vol, n), data)
	}
	testfs.WriteFile(t, filepath.Join(vol, "other"), testfs.Bytes(8, 200<<10))

	out, errOut, code := runBedup(t, "scan", "--json", "--db-path", db, vol)
	if code != 0 {
		t.Fatalf("scan: exit %d: %s", code, errOut)
	}
	checkLines(t, set, "event:summary", out)

	out, errOut, code = runBedup(t, "dedup", "--json", "-n", "--db-path", db, vol)
	if code != 0 {
		t.Fatalf("dedup -n: exit %d: %s", code, errOut)
	}
	checkLines(t, set, "event:summary", out)

	out, errOut, code = runBedup(t, "dedup", "--json", "-v", "--db-path", db, vol)
	if code != 0 {
		t.Fatalf("dedup: exit %d: %s", code, errOut)
	}
	seen := map[string]bool{}
	for _, e := range checkLines(t, set, "event:summary", out) {
		if e["type"] != "shared" {
			continue
		}
		files := append([]any{e["source"]}, e["destinations"].([]any)...)
		for _, f := range files {
			m := f.(map[string]any)
			p := m["path"].(string)
			if b, ok := m["path_bytes"].(string); ok {
				raw, err := base64.StdEncoding.DecodeString(b)
				if err != nil {
					t.Fatal(err)
				}
				p = string(raw)
			}
			seen[p] = true
		}
	}
	for _, n := range names {
		if !seen[filepath.Join(vol, n)] {
			t.Errorf("%q is not among the shared files: %v", filepath.Join(vol, n), seen)
		}
	}

	out, _, _ = runBedup(t, "dedup-files", "--json", filepath.Join(vol, "plain"), filepath.Join(vol, "new\nline"), filepath.Join(vol, "other"))
	checkLines(t, set, "event:files-summary", out)

	checkDocument(t, set, "show", mustRun(t, "show", "--json", "--db-path", db))
	checkDocument(t, set, "generation", mustRun(t, "generation", "--json", vol))
	doc := checkDocument(t, set, "size-lookup", mustRun(t, "size-lookup", "--json", "--db-path", db, "300K"))
	if n := len(doc["files"].([]any)); n != 3 {
		t.Errorf("size-lookup found %d files, want 3", n)
	}
	doc = checkDocument(t, set, "size-lookup", mustRun(t, "size-lookup", "--json", "--db-path", db, "1"))
	if n := len(doc["files"].([]any)); n != 0 {
		t.Errorf("size-lookup 1 found %d files, want 0", n)
	}
	checkDocument(t, set, "find-new", mustRun(t, "find-new", "--json", vol))
	checkDocument(t, set, "find-new", mustRun(t, "find-new", "--json", "--terse", vol))
	doc = checkDocument(t, set, "history", mustRun(t, "history", "--json", "--db-path", db))
	if n := len(doc["events"].([]any)); n != 1 {
		t.Errorf("history lists %d events, want 1", n)
	}

	// A failing streaming command ends with an error event.
	out, _, code = runBedup(t, "dedup-files", "--json", filepath.Join(vol, "plain"), filepath.Join(vol, "missing"))
	if code != 1 {
		t.Errorf("dedup-files of a missing file: exit %d, want 1", code)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(out), &ev); err != nil || set.Validate("event:error", ev) != nil {
		t.Errorf("dedup-files of a missing file printed %q, want one error event", out)
	}
}

// TestTextNames checks that names with a newline or bytes that are not
// UTF-8 print as one unambiguous line each in text.
func TestTextNames(t *testing.T) {
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "bedup.db")
	vol := fs.Subvolume(t, "vol")
	data := testfs.Bytes(9, 200<<10)
	testfs.WriteFile(t, filepath.Join(vol, "a\nb"), data)
	testfs.WriteFile(t, filepath.Join(vol, "c\xffd"), data)
	out := mustRun(t, "dedup", "-v", "--db-path", db, vol)
	want := []string{`"` + vol + `/a\nb"`, `"` + vol + `/c\xffd"`}
	found := false
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " <= ") {
			found = true
			if !(strings.Contains(l, want[0]) && strings.Contains(l, want[1])) {
				t.Errorf("share line %q does not name both files escaped (%s, %s)", l, want[0], want[1])
			}
		}
	}
	if !found {
		t.Errorf("no share line in:\n%s", out)
	}
	lookup := mustRun(t, "size-lookup", "--db-path", db, "200K")
	if lookup != want[0]+"\n"+want[1]+"\n" {
		t.Errorf("size-lookup printed %q, want %q", lookup, want[0]+"\n"+want[1]+"\n")
	}
	raw := mustRun(t, "size-lookup", "-0", "--db-path", db, "200K")
	if raw != vol+"/a\nb\x00"+vol+"/c\xffd\x00" {
		t.Errorf("size-lookup -0 printed %q", raw)
	}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runBedup(t, args...)
	if code != 0 {
		t.Fatalf("bedup %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}
