package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/bedup/bedup/internal/testfs"
)

// What a local user can make a root bedup do: docs/security.md names these
// tests.

// anyShared reports whether some extent of path is shared with another
// file: what FIEMAP tells any user who can open path.
func anyShared(t *testing.T, path string) bool {
	t.Helper()
	for _, e := range testfs.Extents(t, path) {
		if e.Shared() {
			return true
		}
	}
	return false
}

// rootOnly writes data to name in a directory only root may enter.
func rootOnly(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := testfs.WriteFile(t, filepath.Join(dir, name), data)
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSecuritySwappedFiles: between a scan and a dedup, a user replaces a
// tracked file with a symlink to a file they cannot read, and another with
// a FIFO. bedup opens tracked files by handle, never by path: the replaced
// ones are gone (ESTALE), the symlink's target is never opened or shared
// (the user's own copy of its content shows no shared extent), the FIFO
// never blocks the run, and nothing else changes.
func TestSecuritySwappedFiles(t *testing.T) {
	fs := testfs.New(t)
	user := fs.Subvolume(t, "user")
	secretData := testfs.Bytes(42, 300<<10)
	secret := rootOnly(t, fs.Path("root-only"), "secret", secretData) // not in the user's subvolume
	a := testfs.WriteFile(t, filepath.Join(user, "a"), secretData)
	guess := testfs.WriteFile(t, filepath.Join(user, "guess"), secretData)
	b := testfs.WriteFile(t, filepath.Join(user, "b"), testfs.Bytes(7, 200<<10))
	testfs.WriteFile(t, filepath.Join(user, "b2"), testfs.Bytes(7, 200<<10))
	db := filepath.Join(t.TempDir(), "db.sqlite")
	mustRun(t, "scan", "--db-path", db, "vol:"+user)

	// The swap: a becomes a symlink to the secret, b a FIFO.
	for _, p := range []string{a, b} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(secret, a); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(b, 0o666); err != nil {
		t.Fatal(err)
	}
	fs.Sync(t)
	before := testfs.States(t, secret, guess)

	// --no-flush and no rescan: the dedup works from what the scan saw.
	out, errOut, code := runBedup(t, "dedup", "--no-flush", "--db-path", db, "vol:"+user)
	if code != 0 {
		t.Fatalf("dedup: exit %d\n%s%s", code, out, errOut)
	}
	testfs.Unchanged(t, before)
	if testfs.Shares(t, secret, guess) || anyShared(t, guess) || anyShared(t, secret) {
		t.Error("the symlink's target was shared with the user's copy of it")
	}
	if !regexp.MustCompile(`files shared: 0\n`).MatchString(out) {
		t.Errorf("dedup shared something:\n%s", out)
	}
}

// TestSecurityGiantGroup: a user makes 600 identical files (one size
// group); under a limit of 256 descriptors bedup still shares every one:
// a window keeps only what the limit allows open and reopens the rest by
// handle (it kept up to 4096 open and skipped 360 files with EMFILE).
func TestSecurityGiantGroup(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatalf("prlimit (util-linux) is needed: %v", err)
	}
	fs := testfs.New(t)
	user := fs.Subvolume(t, "user")
	data := testfs.Bytes(3, 8192)
	var files []string
	for i := range 600 {
		files = append(files, testfs.WriteFile(t, filepath.Join(user, fmt.Sprintf("f%03d", i)), data))
	}
	fs.Sync(t)
	db := filepath.Join(t.TempDir(), "db.sqlite")
	cmd, out, errb := bedupProcess("dedup", "--size-cutoff", "4K", "--db-path", db, "vol:"+user)
	cmd.Args = append([]string{prlimit, "--nofile=256:256", "--", cmd.Path}, cmd.Args[1:]...)
	cmd.Path = prlimit
	if err := cmd.Run(); err != nil {
		t.Fatalf("dedup under 256 descriptors: %v\n%s%s", err, out, errb)
	}
	if !strings.Contains(out.String(), "files skipped: 0\n") || !strings.Contains(out.String(), "files shared: 599\n") {
		t.Errorf("dedup of a 600-file group under 256 descriptors:\n%s%s", out, errb)
	}
	for _, f := range files[1:] {
		if !testfs.Shares(t, files[0], f) {
			t.Fatalf("%s does not share %s's extents", f, files[0])
		}
	}
}

// TestSecurityContentOracle documents a limitation: FIDEDUPERANGE shares
// only equal bytes, so a user who writes a file can learn whether a file
// they cannot read holds exactly that content, from FIEMAP's "shared" flag
// on their own copy after a dedup run. bedup bounds it only by what it
// tracks: files below the size cutoff (128 KiB by default: keys, password
// hashes, most configuration) are never candidates, and only the
// subvolumes and directories the filters name are deduplicated.
func TestSecurityContentOracle(t *testing.T) {
	fs := testfs.New(t)
	user := fs.Subvolume(t, "user")
	db := filepath.Join(t.TempDir(), "db.sqlite")
	for _, c := range []struct {
		size    int
		filter  string
		learned bool
	}{
		{8 << 10, fs.Mnt, false},          // below the default cutoff: never tracked
		{300 << 10, "vol:" + user, false}, // the secret's subvolume is not selected
		{300 << 10, fs.Mnt, true},         // the limitation: the user learns the secret matches
	} {
		data := testfs.Bytes(uint64(c.size)+uint64(len(c.filter)), c.size)
		secret := rootOnly(t, fs.Path("root-only"), fmt.Sprintf("secret-%d-%d", c.size, len(c.filter)), data)
		guess := testfs.WriteFile(t, filepath.Join(user, fmt.Sprintf("guess-%d-%d", c.size, len(c.filter))), data)
		fs.Sync(t)
		before := testfs.States(t, secret, guess)
		mustRun(t, "dedup", "--db-path", db, c.filter)
		testfs.Unchanged(t, before)
		if got := anyShared(t, guess); got != c.learned {
			t.Errorf("%d-byte secret, filter %s: the user's copy shows shared extents: %v, want %v", c.size, c.filter, got, c.learned)
		}
	}
}

// TestSecurityHardLinks: bedup works on inodes, not names: a file a user
// links under many names is tracked once and shared once (never with
// itself), and every name keeps its content and metadata.
func TestSecurityHardLinks(t *testing.T) {
	fs := testfs.New(t)
	user := fs.Subvolume(t, "user")
	data := testfs.Bytes(5, 256<<10)
	x := testfs.WriteFile(t, filepath.Join(user, "x"), data)
	names := []string{x}
	for i := range 20 {
		n := filepath.Join(user, fmt.Sprintf("d%d", i%3), fmt.Sprintf("link%d", i))
		if err := os.MkdirAll(filepath.Dir(n), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(x, n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	w := testfs.WriteFile(t, filepath.Join(user, "w"), data)
	fs.Sync(t)
	before := testfs.States(t, append(names, w)...)
	db := filepath.Join(t.TempDir(), "db.sqlite")
	out := mustRun(t, "dedup", "--db-path", db, "vol:"+user)
	if !strings.Contains(out, "files shared: 1\n") || !strings.Contains(out, "files skipped: 0\n") {
		t.Errorf("dedup of a file with 21 names and its twin:\n%s", out)
	}
	if !testfs.Shares(t, w, x) && !testfs.Shares(t, x, w) {
		t.Error("the twins do not share")
	}
	testfs.Unchanged(t, before)
}
