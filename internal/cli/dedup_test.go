package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/testfs"
	"github.com/bedup/bedup/internal/ui"
)

// summary runs bedup dedup --json and returns the total's numbers under
// the text summary's names, and the notices as the text printer words
// them ("bedup: PATH: REASON").
func summary(t *testing.T, args ...string) (map[string]int64, string) {
	t.Helper()
	out, stderr, err := bedup(t, append([]string{"dedup", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("dedup %v: %v\n%s", args, err, stderr)
	}
	var notices strings.Builder
	notices.WriteString(stderr)
	m := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct {
			Type, Code, Subject, Reason string
			File                        struct{ Path string }
			Total                       map[string]any
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("dedup --json printed %q: %v", line, err)
		}
		switch ev.Type {
		case "notice":
			fmt.Fprintf(&notices, "bedup: %s %s\n", ev.Code, ev.Subject)
		case "skipped":
			fmt.Fprintf(&notices, "bedup: %s: %s\n", ev.File.Path, ui.ReasonText(dedupe.Reason(ev.Reason)))
		case "summary":
			for text, key := range map[string]string{
				"size groups examined": "size_groups", "files shared": "files_shared", "bytes deduplicated": "bytes_deduplicated",
				"bytes freed": "bytes_freed", "data read": "bytes_read", "dedupe calls": "dedupe_calls", "files skipped": "files_skipped",
			} {
				m[text] = int64(ev.Total[key].(float64))
			}
		}
	}
	return m, notices.String()
}

func alloc(size int) int64 { return int64((size + 4095) &^ 4095) }

// copyFile writes a real (unshared) copy of src at dst.
func copyFile(t *testing.T, src, dst string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return testfs.WriteFile(t, dst, b)
}

func allFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestDedupCorpus(t *testing.T) {
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "db.sqlite")
	sv1, sv2 := fs.Subvolume(t, "sv1"), fs.Subvolume(t, "sv2")
	sizeA, sizeB, sizeD := 1<<20+5, 300<<10, 200<<10+17
	a1 := testfs.WriteFile(t, sv1+"/a1", testfs.Bytes(1, sizeA))
	a2 := copyFile(t, a1, sv1+"/dir/a2")
	a3 := copyFile(t, a1, sv2+"/a3")
	notA := testfs.WriteFile(t, sv1+"/not-a", append(testfs.Bytes(1, sizeA-1), 'z'))
	b1 := testfs.WriteFile(t, sv1+"/b1", testfs.Bytes(2, sizeB))
	copyFile(t, b1, sv2+"/b2")
	fs.Snapshot(t, "sv2", "snap", true)
	snapB := fs.Path("snap/b2")
	os.Remove(sv2 + "/b2")
	b3 := copyFile(t, b1, sv2+"/b3")
	h := testfs.WriteFile(t, sv1+"/h", testfs.Bytes(4, sizeD))
	for i := range 3 {
		os.Link(h, fmt.Sprintf("%s/h-link%d", sv1, i))
	}
	d := copyFile(t, h, sv2+"/d")
	small1 := testfs.WriteFile(t, sv1+"/small", testfs.Bytes(5, 3000))
	small2 := copyFile(t, small1, sv2+"/small")
	fs.Sync(t)
	files := allFiles(t, fs.Mnt)
	before := testfs.States(t, files...)
	snapExt := testfs.Extents(t, snapB)
	used := fs.DataUsed(t)

	sum, stderr := summary(t, "--db-path", db, "--size-cutoff", "4K", fs.Mnt)
	for _, pair := range [][2]string{{a1, a2}, {a1, a3}, {snapB, b1}, {snapB, b3}, {h, d}} {
		if !testfs.Shares(t, pair[0], pair[1]) {
			t.Errorf("%s does not share %s's extents", pair[1], pair[0])
		}
	}
	for _, pair := range [][2]string{{a1, notA}, {small1, small2}} {
		if testfs.Shares(t, pair[0], pair[1]) {
			t.Errorf("%s shares %s's extents", pair[1], pair[0])
		}
	}
	// Its extents stay where they were (only their SHARED flag changes).
	if got := testfs.Extents(t, snapB); !slices.EqualFunc(got, snapExt, func(a, b btrfs.Extent) bool {
		return a.Logical == b.Logical && a.Physical == b.Physical && a.Length == b.Length
	}) {
		t.Errorf("the read-only snapshot's copy moved:\n%+v\n%+v", snapExt, got)
	}
	ideal := 2*alloc(sizeA) + 2*alloc(sizeB) + alloc(sizeD)
	freed := int64(used) - int64(fs.DataUsed(t))
	// not-a differs from a1 in its last byte only: the partial-file pass
	// shares all but its last block from a1 and rewrites that block, so
	// its own extent is freed too.
	partial := alloc(sizeA) - 4096
	if want := ideal + partial; freed < want*99/100 || freed > want*101/100 {
		t.Errorf("freed %d bytes, the corpus could free %d", freed, want)
	}
	if sum["bytes freed"] != ideal {
		t.Errorf("estimated freed %d, want %d", sum["bytes freed"], ideal)
	}
	if sum["files shared"] != 5 {
		t.Errorf("files shared %d, want 5 (hard links count once)", sum["files shared"])
	}
	testfs.Unchanged(t, before)
	if strings.Contains(stderr, "bedup: ") && !strings.Contains(stderr, "sources-only") {
		t.Errorf("unexpected notices: %s", stderr)
	}

	// Nothing changed: nothing is read and nothing is asked of the kernel.
	sum, _ = summary(t, "--db-path", db, fs.Mnt)
	if sum["data read"] != 0 || sum["dedupe calls"] != 0 || sum["size groups examined"] != 0 {
		t.Errorf("second run: %v", sum)
	}
	// One file rewritten (same content, new extents): only its group.
	os.Remove(a3)
	copyFile(t, a1, a3)
	fs.Sync(t)
	sum, _ = summary(t, "--db-path", db, fs.Mnt)
	if sum["size groups examined"] != 1 || sum["files shared"] != 1 || sum["data read"] > int64(sizeA)+3*4096*3 {
		t.Errorf("after rewriting one file: %v", sum)
	}
	if !testfs.Shares(t, a1, a3) {
		t.Error("the rewritten file was not shared again")
	}
}

func TestDedupIntoReadOnlySnapshot(t *testing.T) {
	for _, how := range []string{"--include-frozen", "vol:"} {
		t.Run(how, func(t *testing.T) {
			fs := testfs.New(t)
			db := filepath.Join(t.TempDir(), "db.sqlite")
			sv := fs.Subvolume(t, "sv")
			e1 := testfs.WriteFile(t, sv+"/e1", testfs.Bytes(1, 500000))
			copyFile(t, e1, sv+"/e2")
			fs.Snapshot(t, "sv", "snap", true)
			os.Remove(e1)
			os.Remove(sv + "/e2")
			s1, s2 := fs.Path("snap/e1"), fs.Path("snap/e2")
			fs.Sync(t)
			before := testfs.States(t, s1, s2)

			// By default the snapshot is only a source: its two copies stay.
			summary(t, "--db-path", db, fs.Mnt)
			if testfs.Shares(t, s1, s2) {
				t.Fatal("shared inside a read-only snapshot nobody named")
			}
			args := []string{"--db-path", db, "--include-frozen", fs.Mnt}
			if how == "vol:" {
				args = []string{"--db-path", db, "vol:" + fs.Path("snap")}
			}
			sum, _ := summary(t, args...)
			if !testfs.Shares(t, s1, s2) || sum["files shared"] != 1 {
				t.Errorf("%s: copies in the snapshot not shared: %v", how, sum)
			}
			testfs.Unchanged(t, before)
		})
	}
}

func TestDedupNoCrossvol(t *testing.T) {
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "db.sqlite")
	sv1, sv2 := fs.Subvolume(t, "sv1"), fs.Subvolume(t, "sv2")
	x1 := testfs.WriteFile(t, sv1+"/x1", testfs.Bytes(1, 400000))
	x2 := copyFile(t, x1, sv1+"/x2")
	x3 := copyFile(t, x1, sv2+"/x3")
	x4 := copyFile(t, x1, sv2+"/x4")
	fs.Sync(t)
	summary(t, "--db-path", db, "--no-crossvol", fs.Mnt)
	if !testfs.Shares(t, x1, x2) || !testfs.Shares(t, x3, x4) {
		t.Error("copies within one subvolume not shared")
	}
	if testfs.Shares(t, x1, x3) || testfs.Shares(t, x3, x1) {
		t.Error("shared across subvolumes with --no-crossvol")
	}
}

func TestDedupManyHardLinksNocow(t *testing.T) {
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "db.sqlite")
	data := testfs.Bytes(9, 8192+3)
	var many []string
	for i := range 2000 {
		many = append(many, testfs.WriteFile(t, fs.Path(fmt.Sprintf("many/%04d", i)), data))
	}
	mixed := testfs.Bytes(10, 256<<10)
	n1 := testfs.WriteNocow(t, fs.Path("mix/nocow1"), mixed)
	n2 := testfs.WriteNocow(t, fs.Path("mix/nocow2"), mixed)
	c1 := testfs.WriteFile(t, fs.Path("mix/cow1"), mixed)
	c2 := testfs.WriteFile(t, fs.Path("mix/cow2"), mixed)
	lone := testfs.Bytes(11, 128<<10+1)
	ln := testfs.WriteNocow(t, fs.Path("mix/nocow-lone"), lone)
	lc := testfs.WriteFile(t, fs.Path("mix/cow-lone"), lone)
	lc2 := testfs.WriteFile(t, fs.Path("mix/cow-lone2"), lone)
	fs.Sync(t)
	sum, stderr := summary(t, "--db-path", db, "--size-cutoff", "4K", fs.Mnt)
	for _, p := range many[1:] {
		if !testfs.Shares(t, many[0], p) {
			t.Fatalf("%s not shared (group of 2000)", p)
		}
	}
	if !testfs.Shares(t, n1, n2) || !testfs.Shares(t, c1, c2) || !testfs.Shares(t, lc, lc2) {
		t.Error("NOCOW files among themselves, or normal ones among themselves, not shared")
	}
	if testfs.Shares(t, c1, n1) || testfs.Shares(t, n1, c1) || testfs.Shares(t, lc, ln) {
		t.Error("NOCOW and normal files shared")
	}
	if !strings.Contains(stderr, "nocow-lone: NOCOW flag differs from its identical copies") {
		t.Errorf("no notice for the NOCOW file whose copies are normal:\n%s", stderr)
	}
	if sum["files shared"] != 1999+1+1+1 {
		t.Errorf("files shared %d", sum["files shared"])
	}
	// 2000 destinations, 127 per call.
	if sum["dedupe calls"] > 16+3 {
		t.Errorf("dedupe calls %d", sum["dedupe calls"])
	}
}

func TestDedupSmallSparseZeroEmpty(t *testing.T) {
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "db.sqlite")
	tiny := testfs.Bytes(1, 700)
	testfs.WriteFile(t, fs.Path("tiny1"), tiny)
	testfs.WriteFile(t, fs.Path("tiny2"), tiny)
	testfs.WriteFile(t, fs.Path("empty1"), nil)
	testfs.WriteFile(t, fs.Path("empty2"), nil)
	holes := []string{fs.Path("holes1"), fs.Path("holes2")}
	for _, p := range holes {
		testfs.WriteFile(t, p, nil)
		os.Truncate(p, 64<<20)
	}
	z1 := testfs.WriteFile(t, fs.Path("zeros1"), make([]byte, 1<<20))
	z2 := testfs.WriteFile(t, fs.Path("zeros2"), make([]byte, 1<<20))
	fs.Sync(t)
	before := testfs.States(t, allFiles(t, fs.Mnt)...)
	sum, stderr := summary(t, "--db-path", db, "--size-cutoff", "1", fs.Mnt)
	// Only the zero-filled pair needs the kernel: inline and hole-only
	// files have nothing to share, empty ones are below any cutoff.
	if sum["dedupe calls"] != 1 || sum["files shared"] != 1 {
		t.Errorf("summary %v", sum)
	}
	if !testfs.Shares(t, z1, z2) {
		t.Error("zero-filled copies not shared")
	}
	if stderr != "" {
		t.Errorf("notices: %s", stderr)
	}
	testfs.Unchanged(t, before)
}

// An active swap file is skipped up front with its reason (the kernel
// would refuse it with ETXTBSY); the run goes on.
func TestDedupSwapfile(t *testing.T) {
	fs := testfs.New(t)
	db := filepath.Join(t.TempDir(), "db.sqlite")
	swap := fs.Path("swapfile")
	testfs.Run(t, "btrfs", "filesystem", "mkswapfile", "--size", "32m", swap)
	data, err := os.ReadFile(swap)
	if err != nil {
		t.Fatal(err)
	}
	twin := testfs.WriteNocow(t, fs.Path("twin"), data)
	other := testfs.WriteNocow(t, fs.Path("twin2"), data)
	testfs.Run(t, "swapon", swap)
	defer testfs.Run(t, "swapoff", swap)
	fs.Sync(t)
	before := testfs.States(t, swap, twin)
	sum, stderr := summary(t, "--db-path", db, "--size-cutoff", "1M", fs.Mnt)
	if !strings.Contains(stderr, "/swapfile: active swap file") {
		t.Errorf("no notice for the swap file:\n%s", stderr)
	}
	if !testfs.Shares(t, twin, other) || sum["files shared"] != 1 {
		t.Errorf("the other copies were not shared: %v", sum)
	}
	if testfs.Shares(t, twin, swap) || testfs.Shares(t, swap, twin) {
		t.Error("the active swap file shares extents")
	}
	testfs.Unchanged(t, before)
}
