package testfs

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
)

// FlagNodump is FS_NODUMP_FL (chattr +d).
const FlagNodump = 0x00000040

// Corpus is a tree of duplicate files written for fault tests.
type Corpus struct {
	// Groups are paths with identical content, one size per group. Every
	// name of a hard-linked file is listed.
	Groups [][]string
	// Files lists every path of every group.
	Files []string
}

// WriteCorpus writes under dir a tree of duplicates with everything that
// deduplication must leave as it was, in 14 size groups (sizes from 8 KiB
// to about 260 KiB, most not block-aligned, shifted by seed so that corpora
// of different seeds rarely share a size): plain copies, a file with
// extended attributes, append-only and nodump files (their flags are
// cleared when t ends), a NOCOW pair, hard links, a sparse file and a dense
// copy, a preallocated file written in part and its dense copy, and names
// with a newline, a backslash, bytes that are not UTF-8, a leading dash and
// a leading space; the file with attributes also has another owner, mode
// and modification time. The same seed writes the same bytes.
func WriteCorpus(t testing.TB, dir string, seed uint64) Corpus {
	t.Helper()
	var c Corpus
	shift := int(seed%61) * 24
	size := func(i int) int { return 8<<10 + i*19<<10 + shift + 7*i }
	data := func(i int) []byte { return Bytes(seed<<8|uint64(i), size(i)) }
	path := func(name string) string { return filepath.Join(dir, name) }
	add := func(paths ...string) {
		c.Groups = append(c.Groups, paths)
		c.Files = append(c.Files, paths...)
	}
	copies := func(i int, names ...string) {
		var paths []string
		for _, n := range names {
			paths = append(paths, WriteFile(t, path(n), data(i)))
		}
		add(paths...)
	}

	copies(0, "plain-1", "plain-2", "plain-3")
	x := WriteFile(t, path("xattr"), data(1))
	for k, v := range map[string]string{"user.bedup.seed": strconv.FormatUint(seed, 10), "user.bedup.empty": ""} {
		if err := unix.Setxattr(x, k, []byte(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	// Another owner, another mode, an old modification time.
	if err := os.Chown(x, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(x, 0o640); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
	if err := os.Chtimes(x, old, old); err != nil {
		t.Fatal(err)
	}
	add(x, WriteFile(t, path("xattr-copy"), data(1)))
	a := WriteFile(t, path("append-only"), data(2))
	AddFlags(t, a, btrfs.FlagAppend)
	add(WriteFile(t, path("append-only-copy"), data(2)), a)
	nd := WriteFile(t, path("nodump"), data(3))
	AddFlags(t, nd, FlagNodump)
	add(WriteFile(t, path("nodump-copy"), data(3)), nd)
	add(WriteNocow(t, path("nocow-1"), data(4)), WriteNocow(t, path("nocow-2"), data(4)))
	hl := WriteFile(t, path("hardlink"), data(5))
	if err := os.Link(hl, path("hardlink-2")); err != nil {
		t.Fatal(err)
	}
	add(hl, path("hardlink-2"), WriteFile(t, path("hardlink-copy"), data(5)))
	add(writeSparse(t, path("sparse"), data(6)), WriteFile(t, path("sparse-dense"), zeroHoles(data(6))))
	add(writePrealloc(t, path("prealloc"), data(7)), WriteFile(t, path("prealloc-dense"), zeroTail(data(7))))
	copies(8, "new\nline", `back\slash`, "bad-\xff\xfe-utf8", "-dash", " space")
	for i := 9; i < 14; i++ {
		copies(i, "pair-"+strconv.Itoa(i)+"-a", "pair-"+strconv.Itoa(i)+"-b")
	}
	return c
}

// sparse files hold data in their first and third quarter; the rest are
// holes.
func zeroHoles(b []byte) []byte {
	out := make([]byte, len(b))
	q := len(b) / 4 &^ 4095
	copy(out[:q], b[:q])
	copy(out[2*q:3*q], b[2*q:3*q])
	return out
}

func writeSparse(t testing.TB, path string, b []byte) string {
	t.Helper()
	q := len(b) / 4 &^ 4095
	return WriteSparse(t, path, int64(len(b)), Island{0, b[:q]}, Island{int64(2 * q), b[2*q : 3*q]})
}

// preallocated files have their first 40 % written; the rest stays
// unwritten (reads as zeros).
func zeroTail(b []byte) []byte {
	out := make([]byte, len(b))
	n := len(b) * 4 / 10 &^ 4095
	copy(out[:n], b[:n])
	return out
}

func writePrealloc(t testing.TB, path string, b []byte) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fallocate(int(f.Fd()), 0, 0, int64(len(b))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(zeroTail(b)[:len(b)*4/10&^4095], 0); err != nil {
		t.Fatal(err)
	}
	return path
}
