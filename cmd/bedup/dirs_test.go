package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/testfs"
)

// TestDirectoryTargets: two plain directories in two subvolumes, one of
// them named by a relative path, are deduplicated together; an identical
// file outside them keeps its extents; an unchanged rerun examines
// nothing, reads nothing and makes no dedupe call.
func TestDirectoryTargets(t *testing.T) {
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "bedup.db")
	sv1, sv2 := fs.Subvolume(t, "sv1"), fs.Subvolume(t, "sv2")
	data := testfs.Bytes(5, 1<<20)
	in1 := testfs.WriteFile(t, filepath.Join(sv1, "photos", "a"), data)
	in2 := testfs.WriteFile(t, filepath.Join(sv2, "backup", "deep", "a"), data)
	out1 := testfs.WriteFile(t, filepath.Join(sv1, "elsewhere"), data)
	out2 := testfs.WriteFile(t, filepath.Join(sv2, "a"), data)
	fs.Sync(t)
	before := testfs.States(t, out1, out2)
	beforeExtents := [][]any{{testfs.Extents(t, out1)}, {testfs.Extents(t, out2)}}

	t.Chdir(sv1)
	total := func(out string) map[string]float64 {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var ev struct{ Total map[string]any }
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ev); err != nil {
			t.Fatal(err)
		}
		m := map[string]float64{}
		for k, v := range ev.Total {
			if f, ok := v.(float64); ok {
				m[k] = f
			}
		}
		return m
	}
	sum := total(mustRun(t, "dedup", "--json", "--size-cutoff", "4K", "--db-path", db, "photos", filepath.Join(sv2, "backup")))
	if sum["files_shared"] != 1 || !testfs.Shares(t, in1, in2) {
		t.Errorf("the two directories were not shared together: %v", sum)
	}
	testfs.Unchanged(t, before)
	after := [][]any{{testfs.Extents(t, out1)}, {testfs.Extents(t, out2)}}
	if jsonString(after) != jsonString(beforeExtents) || testfs.Shares(t, in1, out1) || testfs.Shares(t, in1, out2) {
		t.Errorf("files outside the directories were touched")
	}
	sum = total(mustRun(t, "dedup", "--json", "--db-path", db, "./photos", filepath.Join(sv2, "backup")))
	if sum["size_groups"] != 0 || sum["bytes_read"] != 0 || sum["dedupe_calls"] != 0 {
		t.Errorf("an unchanged rerun did work: %v", sum)
	}
}
