package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/cli"
	"github.com/bedup/bedup/internal/testfs"
)

// bedup runs the CLI in-process and returns stdout, stderr and the error.
func bedup(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := cli.Run(context.Background(), args, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	t.Logf("bedup %s\n%s%s", strings.Join(args, " "), out.String(), errb.String())
	return out.String(), errb.String(), err
}

func TestDedupFilesShares(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(1, 10<<20+123)
	src := testfs.WriteFile(t, fs.Path("src"), data)
	d1 := testfs.WriteFile(t, fs.Path("dir/d1"), data)
	d2 := testfs.WriteFile(t, fs.Path("d2"), data)
	if err := btrfs.SetXattr(d1, "user.note", []byte("keep me")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d2, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d2, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	before := testfs.States(t, src, d1, d2)
	used := fs.DataUsed(t)

	out, _, err := bedup(t, "dedup-files", src, d1, d2)
	if err != nil {
		t.Fatalf("dedup-files: %v", err)
	}
	want := fmt.Sprintf("shared: %s (%d bytes)\nshared: %s (%d bytes)\n", d1, len(data), d2, len(data))
	if out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	for _, d := range []string{d1, d2} {
		if !testfs.Shares(t, src, d) {
			t.Errorf("%s does not share every extent of src (tail included)", d)
		}
	}
	// The last extent covers the unaligned tail and is the source's.
	se, de := testfs.Extents(t, src), testfs.Extents(t, d2)
	if last := de[len(de)-1]; last.Logical+last.Length < uint64(len(data)) || last.Physical != se[len(se)-1].Physical {
		t.Errorf("tail extent %+v not the source's %+v", last, se[len(se)-1])
	}
	freed := int64(used) - int64(fs.DataUsed(t))
	if want := int64(2 * len(data)); freed < want-(1<<20) || freed > want+(1<<20) {
		t.Errorf("data usage dropped by %d bytes, want about %d", freed, want)
	}
	testfs.Unchanged(t, before)

	// A second run finds them already shared and asks nothing of the kernel.
	out, _, err = bedup(t, "dedup-files", src, d1, d2)
	if err != nil || out != fmt.Sprintf("already shared: %s\nalready shared: %s\n", d1, d2) {
		t.Errorf("second run: %q, %v", out, err)
	}
	testfs.Unchanged(t, before)
}

func TestDedupFilesDiffers(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(2, 1<<20+77)
	src := testfs.WriteFile(t, fs.Path("src"), data)
	same := testfs.WriteFile(t, fs.Path("same"), data)
	bad := slices.Clone(data)
	bad[len(bad)-1] ^= 0xff
	diff := testfs.WriteFile(t, fs.Path("diff"), bad)
	short := testfs.WriteFile(t, fs.Path("short"), data[:len(data)-1])
	fs.Sync(t)
	ext := testfs.Extents(t, diff)
	before := testfs.States(t, src, same, diff, short)

	out, stderr, err := bedup(t, "dedup-files", src, diff, same, short)
	if err == nil || cli.IsUsage(err) {
		t.Fatalf("err = %v, want a plain failure", err)
	}
	want := fmt.Sprintf("differs: %s\nshared: %s (%d bytes)\ndiffers: %s\n", diff, same, len(data), short)
	if out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	if n := strings.Count(stderr, "\n"); n != 1 || !strings.HasPrefix(stderr, "bedup: dedup-files: 2 of 3 destinations") {
		t.Errorf("stderr = %q", stderr)
	}
	if got := testfs.Extents(t, diff); !slices.Equal(got, ext) {
		t.Errorf("extents of the differing file changed:\n%+v\n%+v", ext, got)
	}
	if !testfs.Shares(t, src, same) {
		t.Error("the identical destination was not shared")
	}
	testfs.Unchanged(t, before)
}

func TestDedupFilesReadOnlyAndRunning(t *testing.T) {
	fs := testfs.New(t)
	exe, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	sub := fs.Subvolume(t, "sub")
	src := testfs.WriteFile(t, filepath.Join(sub, "sleep-src"), prog)
	running := testfs.WriteFile(t, filepath.Join(sub, "sleep-run"), prog)
	os.Chmod(running, 0o755)
	data := testfs.Bytes(3, 300<<10+1)
	testfs.WriteFile(t, filepath.Join(sub, "snapped"), data)
	snap := fs.Snapshot(t, "sub", "snap", true)
	rosnap := filepath.Join(snap, "snapped")
	src2 := testfs.WriteFile(t, fs.Path("src2"), data)

	cmd := exec.Command(running, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	// The kernel refuses write opens of a running executable.
	if f, err := os.OpenFile(running, os.O_WRONLY, 0); err == nil {
		f.Close()
		t.Fatal("running executable opened for writing: the test proves nothing")
	}
	before := testfs.States(t, src, running, src2, rosnap)

	if _, _, err := bedup(t, "dedup-files", src, running); err != nil {
		t.Errorf("running executable: %v", err)
	}
	if !testfs.Shares(t, src, running) {
		t.Error("running executable not shared")
	}
	if _, _, err := bedup(t, "dedup-files", src2, rosnap); err != nil {
		t.Errorf("read-only snapshot: %v", err)
	}
	if !testfs.Shares(t, src2, rosnap) {
		t.Error("file in read-only snapshot not shared")
	}
	testfs.Unchanged(t, before)
}

func TestDedupFilesFlags(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(4, 512<<10+9)
	src := testfs.WriteFile(t, fs.Path("src"), data)
	nocow := testfs.WriteNocow(t, fs.Path("nocow"), data)
	immutable := testfs.WriteFile(t, fs.Path("immutable"), data)
	appendOnly := testfs.WriteFile(t, fs.Path("append"), data)
	fs.Sync(t)
	testfs.AddFlags(t, immutable, btrfs.FlagImmutable)
	testfs.AddFlags(t, appendOnly, btrfs.FlagAppend)
	ext := map[string][]btrfs.Extent{nocow: testfs.Extents(t, nocow), immutable: testfs.Extents(t, immutable)}
	before := testfs.States(t, src, nocow, immutable, appendOnly)

	out, _, err := bedup(t, "dedup-files", src, nocow, immutable, appendOnly)
	if err == nil || cli.IsUsage(err) {
		t.Fatalf("err = %v, want a failure", err)
	}
	want := fmt.Sprintf("skipped: %s (NOCOW flag differs from the source (the kernel refuses to share between them))\n"+
		"skipped: %s (immutable file)\nshared: %s (%d bytes)\n", nocow, immutable, appendOnly, len(data))
	if out != want {
		t.Errorf("stdout = %q\nwant %q", out, want)
	}
	for p, e := range ext {
		if got := testfs.Extents(t, p); !slices.Equal(got, e) {
			t.Errorf("extents of skipped %s changed", p)
		}
	}
	if !testfs.Shares(t, src, appendOnly) {
		t.Error("append-only file not shared")
	}
	testfs.Unchanged(t, before)
}

func TestDedupFilesManyDestinations(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(5, 64<<10+3)
	src := testfs.WriteFile(t, fs.Path("src"), data)
	args := []string{"dedup-files", src}
	for i := range 300 {
		args = append(args, testfs.WriteFile(t, fs.Path(fmt.Sprintf("d/%03d", i)), data))
	}
	out, _, err := bedup(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "shared: "); n != 300 {
		t.Errorf("%d destinations shared, want 300", n)
	}
	for _, d := range args[2:] {
		if !testfs.Shares(t, src, d) {
			t.Fatalf("%s not shared", d)
		}
	}
}

func TestDedupFilesRefuses(t *testing.T) {
	fs := testfs.New(t)
	other := testfs.New(t)
	data := testfs.Bytes(6, 200<<10)
	src := testfs.WriteFile(t, fs.Path("src"), data)
	dst := testfs.WriteFile(t, fs.Path("dst"), data)
	far := testfs.WriteFile(t, other.Path("far"), data)
	link := fs.Path("hardlink")
	if err := os.Link(src, link); err != nil {
		t.Fatal(err)
	}
	host := filepath.Join(t.TempDir(), "host")
	if err := os.WriteFile(host, data, 0o644); err != nil {
		t.Fatal(err)
	}
	before := testfs.States(t, src, dst, far)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{src, dst, far}, far + ": on another filesystem than " + src},
		{[]string{src, dst, src}, src + ": is the source file " + src + " itself"},
		{[]string{src, link}, link + ": is the source file " + src + " itself"},
		{[]string{src, dst, dst}, dst + ": names the same file as " + dst},
		{[]string{src, fs.Mnt}, fs.Mnt + ": is a directory"},
		{[]string{src, fs.Path("missing")}, fs.Path("missing") + ": no such file or directory"},
		{[]string{host, dst}, host + ": not on a Btrfs filesystem"},
	} {
		out, stderr, err := bedup(t, append([]string{"dedup-files"}, c.args...)...)
		if err == nil || cli.IsUsage(err) || out != "" || stderr != "bedup: dedup-files: "+c.want+"\n" {
			t.Errorf("dedup-files %v: err %v, stdout %q, stderr %q; want %q", c.args, err, out, stderr, c.want)
		}
	}
	if testfs.Shares(t, src, dst) {
		t.Error("a refused run shared something")
	}
	testfs.Unchanged(t, before)
}

func TestDedupFilesInlineSparseEmpty(t *testing.T) {
	fs := testfs.New(t)
	small := testfs.Bytes(7, 120)
	a := testfs.WriteFile(t, fs.Path("a"), small)
	b := testfs.WriteFile(t, fs.Path("b"), small)
	e1 := testfs.WriteFile(t, fs.Path("e1"), nil)
	e2 := testfs.WriteFile(t, fs.Path("e2"), nil)
	s1, s2 := fs.Path("s1"), fs.Path("s2")
	for _, p := range []string{s1, s2} {
		testfs.WriteFile(t, p, nil)
		if err := os.Truncate(p, 10<<20); err != nil {
			t.Fatal(err)
		}
	}
	zeros := testfs.WriteFile(t, fs.Path("zeros"), make([]byte, 10<<20))
	fs.Sync(t)
	before := testfs.States(t, a, b, e1, e2, s1, s2, zeros)
	used := fs.DataUsed(t)

	for _, c := range []struct{ args, want string }{
		{a + " " + b, "inline: " + b + "\n"},
		{e1 + " " + e2, "empty: " + e2 + "\n"},
		{s1 + " " + s2, "already shared: " + s2 + "\n"},
		// Sharing a sparse source into real zeros leaves holes: space back.
		{s1 + " " + zeros, fmt.Sprintf("shared: %s (%d bytes)\n", zeros, 10<<20)},
		{s1 + " " + zeros, "already shared: " + zeros + "\n"},
	} {
		out, _, err := bedup(t, append([]string{"dedup-files"}, strings.Fields(c.args)...)...)
		if err != nil || out != c.want {
			t.Errorf("dedup-files %s: %q, %v; want %q", c.args, out, err, c.want)
		}
	}
	if n := len(testfs.Extents(t, zeros)); n != 0 {
		t.Errorf("zero-filled file still has %d extents after sharing a sparse file's holes", n)
	}
	if freed := int64(used) - int64(fs.DataUsed(t)); freed < 9<<20 {
		t.Errorf("freed %d bytes, want about 10 MiB", freed)
	}
	testfs.Unchanged(t, before)
}
