package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
)

// TestHistory: after two runs, history lists exactly the files shared, by
// path, and a deleted one as gone.
func TestHistory(t *testing.T) {
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "bedup.db")
	a, b := testfs.Bytes(1, 1<<20), testfs.Bytes(2, 2<<20)
	testfs.WriteFile(t, fs.Path("a1"), a)
	testfs.WriteFile(t, fs.Path("a2"), a)
	testfs.WriteFile(t, fs.Path("lonely"), testfs.Bytes(3, 1<<20))
	mustRun(t, "dedup", "--db-path", db, fs.Mnt)
	testfs.WriteFile(t, fs.Path("b1"), b)
	testfs.WriteFile(t, fs.Path("b2"), b)
	mustRun(t, "dedup", "--db-path", db, fs.Mnt)
	if err := os.Remove(fs.Path("b2")); err != nil {
		t.Fatal(err)
	}

	var doc struct {
		Events []struct {
			Size        int64
			BytesShared int64 `json:"bytes_shared"`
			Files       []struct {
				Path   string
				Gone   bool
				Source bool
			}
		}
		Total struct {
			Events, Files int
		}
	}
	if err := json.Unmarshal([]byte(mustRun(t, "history", "--json", "--db-path", db)), &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range doc.Events {
		var names []string
		for _, f := range e.Files {
			n := strings.TrimPrefix(f.Path, fs.Mnt+"/")
			if f.Gone {
				n = "(gone)"
			}
			names = append(names, n)
		}
		sort.Strings(names)
		got = append(got, strings.Join(names, ","))
	}
	want := []string{"a1,a2", "(gone),b1"}
	if strings.Join(got, " ") != strings.Join(want, " ") || doc.Total.Events != 2 || doc.Total.Files != 2 {
		t.Errorf("history: %v (totals %+v), want %v", got, doc.Total, want)
	}
	text := mustRun(t, "history", "--db-path", db)
	for _, w := range []string{fs.Path("a1"), fs.Path("b1"), "(gone)", "total: 2 events, 2 files deduplicated"} {
		if !strings.Contains(text, w) {
			t.Errorf("history text lacks %q:\n%s", w, text)
		}
	}
	if out := mustRun(t, "history", "--since", "1h", "--db-path", db, fs.Mnt); !strings.Contains(out, "total: 2 events") {
		t.Errorf("history --since 1h MNT:\n%s", out)
	}
	if out := mustRun(t, "history", "--since", "2099-01-01", "--db-path", db); !strings.Contains(out, "total: 0 events") {
		t.Errorf("history --since 2099-01-01:\n%s", out)
	}
}

// TestDryRun: a dry run lists what it would share and changes nothing:
// every extent map and the database's flags are the same afterwards, and
// the real run then shares exactly the listed files.
func TestDryRun(t *testing.T) {
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "bedup.db")
	vol := fs.Subvolume(t, "vol")
	for i, seed := range []uint64{1, 1, 1, 2, 2, 3} {
		testfs.WriteFile(t, filepath.Join(vol, "f"+string(rune('a'+i))), testfs.Bytes(seed, 512<<10))
	}
	mustRun(t, "scan", "--db-path", db, vol)
	files, _ := filepath.Glob(filepath.Join(vol, "f*"))
	extents := func() string {
		var b strings.Builder
		for _, f := range files {
			for _, e := range testfs.Extents(t, f) {
				b.WriteString(f + ":" + strings.TrimSpace(strings.ReplaceAll(jsonString(e), "\n", "")) + "\n")
			}
		}
		return b.String()
	}
	flags := func() string {
		d, err := store.Open(t.Context(), db, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		var b strings.Builder
		fss, _ := d.Filesystems(t.Context())
		for _, f := range fss {
			vols, _ := d.Volumes(t.Context(), f.ID)
			for _, v := range vols {
				inodes, _ := d.Inodes(t.Context(), v.ID)
				b.WriteString(jsonString(inodes))
			}
		}
		return b.String()
	}
	beforeExtents, beforeFlags := extents(), flags()
	dry := mustRun(t, "dedup", "-n", "--db-path", db, vol)
	if extents() != beforeExtents {
		t.Errorf("the dry run changed extent maps")
	}
	if flags() != beforeFlags {
		t.Errorf("the dry run changed the database's inode rows")
	}
	if n := strings.Count(mustRun(t, "history", "--json", "--db-path", db), `"size"`); n != 0 {
		t.Errorf("the dry run logged %d dedup events", n)
	}
	real := mustRun(t, "dedup", "-v", "--db-path", db, vol)
	shareLines := func(out string) []string {
		var l []string
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, " <= ") {
				l = append(l, strings.TrimSuffix(line, " (dry run)"))
			}
		}
		sort.Strings(l)
		return l
	}
	d, r := shareLines(dry), shareLines(real)
	if len(d) != 3 || strings.Join(d, "\n") != strings.Join(r, "\n") {
		t.Errorf("the dry run listed\n%s\nthe real run shared\n%s", strings.Join(d, "\n"), strings.Join(r, "\n"))
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
