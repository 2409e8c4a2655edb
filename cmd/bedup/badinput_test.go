package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
)

// treeState maps every entry below the roots to its type, permissions,
// size and, for regular files, the SHA-256 of its content.
func treeState(t *testing.T, roots ...string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			s := fmt.Sprintf("%v %d", fi.Mode(), fi.Size())
			if fi.Mode().IsRegular() {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				s += fmt.Sprintf(" %x", sha256.Sum256(b))
			}
			m[p] = s
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// badInput is what the bad command lines work on: a Btrfs volume with a
// directory, two identical files and a FIFO, a scanned database, and, in
// work, things that are no database (a FIFO, a directory, a text file, a
// database another run holds, a read-only mount, a full filesystem).
type badInput struct {
	vol, dir, file, twin, hostFile         string
	work, db, fifo, sub, notDB, ro, locked string
	full, uuid, pid                        string
}

func newBadInput(t *testing.T) *badInput {
	t.Helper()
	bfs := testfs.New(t)
	x := &badInput{vol: bfs.Subvolume(t, "vol"), work: t.TempDir(), pid: strconv.Itoa(os.Getpid())}
	x.dir = filepath.Join(x.vol, "dir")
	if err := os.Mkdir(x.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	x.file = testfs.WriteFile(t, filepath.Join(x.vol, "file"), testfs.Bytes(1, 200000))
	x.twin = testfs.WriteFile(t, filepath.Join(x.vol, "twin"), testfs.Bytes(1, 200000))
	if err := syscall.Mkfifo(filepath.Join(x.vol, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	bfs.Sync(t)
	x.db = filepath.Join(x.work, "db.sqlite")
	mustRun(t, "scan", "--db-path", x.db, "vol:"+x.vol)
	x.uuid = fsUUID(t, x.vol)
	x.fifo, x.sub = filepath.Join(x.work, "fifo"), filepath.Join(x.work, "sub")
	if err := syscall.Mkfifo(x.fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(x.sub, 0o700); err != nil {
		t.Fatal(err)
	}
	x.notDB = filepath.Join(x.work, "text.sqlite")
	if err := os.WriteFile(x.notDB, []byte(strings.Repeat("not a database\n", 300)), 0o600); err != nil {
		t.Fatal(err)
	}
	x.hostFile = filepath.Join(x.work, "host-file")
	if err := os.WriteFile(x.hostFile, testfs.Bytes(1, 200000), 0o600); err != nil {
		t.Fatal(err)
	}
	x.ro = filepath.Join(x.work, "ro")
	if err := os.Mkdir(x.ro, 0o755); err != nil {
		t.Fatal(err)
	}
	testfs.Run(t, "mount", "--bind", x.ro, x.ro)
	t.Cleanup(func() { testfs.Run(t, "umount", x.ro) })
	testfs.Run(t, "mount", "-o", "remount,bind,ro", x.ro)
	x.full = testfs.FullTmpfs(t)
	x.locked = filepath.Join(x.work, "locked.sqlite")
	holder, err := store.Open(context.Background(), x.locked, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close() })
	return x
}

// badCase is a bad command line, its exit status and a regexp its one
// line on standard error must match.
type badCase struct {
	args []string
	code int
	err  string
}

const unknownUUID = "00000000-1111-2222-3333-444444444444"

// databaseCases are the bad command lines of the commands that keep state.
func (x *badInput) databaseCases() []badCase {
	vol, db, fifo, sub, pid := x.vol, x.db, x.fifo, x.sub, x.pid
	return []badCase{
		{[]string{"scan", "--db-path", db, "relative/vol"}, 2, `^bedup: scan: filter "relative/vol": no such file or directory, and not a filesystem UUID`},
		{[]string{"scan", "--db-path", db, "--size-cutoff", "8388608T", vol}, 2, `^bedup: scan: --size-cutoff: size "8388608T" is too large \(at most 8E\)`},
		{[]string{"scan", "--db-path", db, "--size-cutoff", "5IB", vol}, 2, `^bedup: scan: --size-cutoff: size "5IB" is not a number of bytes`},
		{[]string{"scan", "--db-path", db, "--size-cutoff", "0", vol}, 2, `^bedup: scan: --size-cutoff must be at least 1 byte`},
		{[]string{"scan", "--db-path", db, "--size-cutoff=-1", vol}, 2, `^bedup: scan: --size-cutoff: size "-1" is not a number of bytes`},
		{[]string{"scan", "--db-path", db, "--frobnicate", vol}, 2, `^bedup: scan: unknown flag: --frobnicate`},
		{[]string{"scan", "--db-path", db, "vol:" + x.dir}, 1, `^bedup: scan: .*/vol/dir: not the root directory of a Btrfs subvolume$`},
		{[]string{"scan", "--db-path", db, x.file}, 1, `^bedup: scan: .*/vol/file: not a directory$`},
		{[]string{"scan", "--db-path", fifo, vol}, 1, `^bedup: scan: database .*/fifo: not a regular file \(a named pipe\)$`},
		{[]string{"scan", "--db-path", sub, vol}, 1, `^bedup: scan: database .*/sub: is a directory$`},
		{[]string{"scan", "--db-path", "/dev/null", vol}, 1, `^bedup: scan: database /dev/null: not a regular file \(a character device\)$`},
		{[]string{"scan", "--db-path", x.notDB, vol}, 1, `^bedup: scan: database .*/text.sqlite: not a bedup database \(not an SQLite file\)$`},
		{[]string{"scan", "--db-path", x.locked, vol}, 1, `^bedup: scan: database .*/locked.sqlite: database in use by bedup \(pid ` + pid + `\)$`},
		{[]string{"scan", "--db-path", filepath.Join(x.work, "missing", "db"), vol}, 1, `^bedup: scan: database directory .*/missing: no such file or directory$`},
		{[]string{"scan", "--db-path", filepath.Join(x.full, "db"), vol}, 1, `^bedup: scan: database .*/db: no space left on device$`},
		{[]string{"scan", "--db-path", filepath.Join(x.ro, "db"), vol}, 1, `^bedup: scan: database .*/ro/db: read-only file system$`},
		{[]string{"dedup", "--db-path", db, "--io-threads", "-1", vol}, 2, `^bedup: dedup: --io-threads must be 0 \(automatic\) or more`},
		{[]string{"dedup", "--db-path", db, "--size-cutoff", "9223372036854775808", vol}, 2, `^bedup: dedup: --size-cutoff: size "9223372036854775808" is too large`},
		{[]string{"dedup", "--db-path", db, "-v", "-q", vol}, 2, `^bedup: dedup: --verbose and --quiet exclude each other`},
		{[]string{"dedup", "--db-path", db, "--flush", "--no-flush", vol}, 2, `^bedup: dedup: --flush and --no-flush exclude each other`},
		{[]string{"dedup", "--db-path", db, x.work}, 1, `^bedup: dedup: .*: not on a Btrfs filesystem$`},
		{[]string{"dedup", "--db-path", fifo, vol}, 1, `^bedup: dedup: database .*/fifo: not a regular file \(a named pipe\)$`},
		{[]string{"dedup", "--db-path", filepath.Join(x.full, "db"), vol}, 1, `^bedup: dedup: database .*/db: no space left on device$`},
		{[]string{"show", "--db-path", fifo}, 1, `^bedup: show: database .*/fifo: not a regular file \(a named pipe\)$`},
		{[]string{"show", "--db-path", sub}, 1, `^bedup: show: database .*/sub: is a directory$`},
		{[]string{"show", "--db-path", "/dev/null"}, 1, `^bedup: show: database /dev/null: not a regular file \(a character device\)$`},
		{[]string{"show", "--db-path", x.notDB}, 1, `^bedup: show: database .*/text.sqlite: not a bedup database \(not an SQLite file\)$`},
		{[]string{"show", "--db-path", db, "relative"}, 2, `^bedup: show: "relative" is neither a filesystem UUID nor an absolute path`},
		{[]string{"show", "--db-path", db, unknownUUID}, 1, `^bedup: show: ` + unknownUUID + `: no such filesystem, plugged in or known$`},
		{[]string{"show", "--db-path", db, vol, vol}, 2, `^bedup: show: takes 0 to 1 arguments, got 2`},
		{[]string{"reset", "--db-path", db}, 2, `^bedup: reset: list the volumes to reset explicitly`},
		{[]string{"reset", "--db-path", fifo, "--yes", "vol:" + vol}, 1, `^bedup: reset: database .*/fifo: not a regular file \(a named pipe\)$`},
		{[]string{"reset", "--db-path", x.locked, "--yes", "vol:" + vol}, 1, `^bedup: reset: database .*/locked.sqlite: database in use by bedup \(pid ` + pid + `\)$`},
		{[]string{"reset", "--db-path", db, "--yes", "relative/vol"}, 2, `^bedup: reset: filter "relative/vol": no such file or directory, and not a filesystem UUID`},
		{[]string{"forget-fs", "--db-path", db}, 2, `^bedup: forget-fs: takes at least 1 arguments, got 0`},
		{[]string{"forget-fs", "--db-path", db, "xyz"}, 2, `^bedup: forget-fs: malformed UUID "xyz"`},
		{[]string{"forget-fs", "--db-path", db, "--yes", unknownUUID}, 1, `^bedup: forget-fs: ` + unknownUUID + `: no such filesystem in the database .*/db.sqlite$`},
		{[]string{"forget-fs", "--db-path", "/dev/null", "--yes", x.uuid}, 1, `^bedup: forget-fs: database /dev/null: not a regular file \(a character device\)$`},
		{[]string{"size-lookup", "--db-path", db, "18446744073709551615"}, 2, `^bedup: size-lookup: size "18446744073709551615" is too large \(at most 8E\)`},
		{[]string{"size-lookup", "--db-path", db, "8388608T"}, 2, `^bedup: size-lookup: size "8388608T" is too large`},
		{[]string{"size-lookup", "--db-path", db, "5IB"}, 2, `^bedup: size-lookup: size "5IB" is not a number of bytes`},
		{[]string{"size-lookup", "--db-path", db, "big"}, 2, `^bedup: size-lookup: size "big" is not a number of bytes`},
		{[]string{"size-lookup", "--db-path", db, "1", "2"}, 2, `^bedup: size-lookup: takes 1 arguments, got 2`},
		{[]string{"size-lookup", "--db-path", fifo, "1"}, 1, `^bedup: size-lookup: database .*/fifo: not a regular file \(a named pipe\)$`},
		{[]string{"size-lookup", "--db-path", sub, "1"}, 1, `^bedup: size-lookup: database .*/sub: is a directory$`},
		{[]string{"size-lookup", "--db-path", "/dev/null", "1"}, 1, `^bedup: size-lookup: database /dev/null: not a regular file \(a character device\)$`},
		{[]string{"history", "--db-path", db, "--since", "soon"}, 2, `^bedup: history: --since "soon" is neither a date`},
		{[]string{"history", "--db-path", fifo}, 1, `^bedup: history: database .*/fifo: not a regular file \(a named pipe\)$`},
		{[]string{"history", "--db-path", "/dev/null"}, 1, `^bedup: history: database /dev/null: not a regular file \(a character device\)$`},
		{[]string{"history", "--db-path", db, unknownUUID}, 1, `^bedup: history: ` + unknownUUID + `: no such filesystem`},
	}
}

// fileCases are the bad command lines of the commands that work on files
// and volumes only.
func (x *badInput) fileCases() []badCase {
	vol, file := x.vol, x.file
	return []badCase{
		{[]string{"dedup-files", file}, 2, `^bedup: dedup-files: takes at least 2 arguments, got 1`},
		{[]string{"dedup-files", file, x.dir}, 1, `^bedup: dedup-files: .*/vol/dir: is a directory$`},
		{[]string{"dedup-files", file, filepath.Join(vol, "missing")}, 1, `^bedup: dedup-files: .*/vol/missing: no such file or directory$`},
		{[]string{"dedup-files", file, filepath.Join(vol, "fifo")}, 1, `^bedup: dedup-files: .*/vol/fifo: not a regular file$`},
		{[]string{"dedup-files", file, x.twin, file}, 1, `^bedup: dedup-files: .*/vol/file: is the source file .*/vol/file itself$`},
		{[]string{"dedup-files", file, x.hostFile}, 1, `^bedup: dedup-files: .*/host-file: not on a Btrfs filesystem$`},
		{[]string{"find-new"}, 2, `^bedup: find-new: takes 1 to 2 arguments, got 0`},
		{[]string{"find-new", vol, "abc"}, 2, `^bedup: find-new: generation "abc" is not a non-negative integer`},
		{[]string{"find-new", vol, "18446744073709551616"}, 2, `^bedup: find-new: generation "18446744073709551616" is not a non-negative integer`},
		{[]string{"find-new", filepath.Join(vol, "missing")}, 1, `^bedup: find-new: .*/vol/missing: no such file or directory$`},
		{[]string{"find-new", x.work}, 1, `^bedup: find-new: .*: not on a Btrfs filesystem$`},
		{[]string{"find-new", x.dir}, 1, `^bedup: find-new: .*/vol/dir: not the root directory of a Btrfs subvolume$`},
		{[]string{"generation"}, 2, `^bedup: generation: takes 1 arguments, got 0`},
		{[]string{"generation", file}, 1, `^bedup: generation: .*/vol/file: not a directory$`},
		{[]string{"generation", "--flush", x.work}, 1, `^bedup: generation: .*: not on a Btrfs filesystem$`},
	}
}

// TestBadInput runs bad command lines of every command: each fails with
// the documented exit status (2 for usage errors, 1 for the rest), exactly
// one line on standard error naming what is wrong and why, nothing on
// standard output, and leaves the database and every file as they were
// (their bytes are hashed before and after).
func TestBadInput(t *testing.T) {
	x := newBadInput(t)
	files := testfs.States(t, x.file, x.twin)
	_, nullJournal := os.Stat("/dev/null-journal")
	before := treeState(t, x.work, x.full)
	cases := append(x.databaseCases(), x.fileCases()...)
	commands := map[string]bool{}
	for _, c := range cases {
		commands[c.args[0]] = true
		out, errOut, code := runBedup(t, c.args...)
		name := strings.Join(c.args, " ")
		if code != c.code {
			t.Errorf("bedup %s: exit %d, want %d", name, code, c.code)
		}
		if out != "" {
			t.Errorf("bedup %s: stdout %q, want nothing", name, out)
		}
		if strings.Count(errOut, "\n") != 1 || !regexp.MustCompile(c.err).MatchString(strings.TrimSuffix(errOut, "\n")) {
			t.Errorf("bedup %s: stderr %q, want one line matching %s", name, errOut, c.err)
		}
		if after := treeState(t, x.work, x.full); !maps.Equal(before, after) {
			t.Fatalf("bedup %s changed files:\n before %v\n after  %v", name, before, after)
		}
	}
	testfs.Unchanged(t, files)
	if _, err := os.Stat("/dev/null-journal"); err == nil && nullJournal != nil {
		os.Remove("/dev/null-journal")
		t.Error("a command created /dev/null-journal")
	}
	want := []string{"dedup", "dedup-files", "find-new", "forget-fs", "generation", "history", "reset", "scan", "show", "size-lookup"}
	if got := slices.Sorted(maps.Keys(commands)); !slices.Equal(got, want) || len(cases) < 40 {
		t.Errorf("%d cases over %v; want at least 40 over %v", len(cases), got, want)
	}
}

// fsUUID is the UUID of the filesystem holding path.
func fsUUID(t *testing.T, path string) string {
	t.Helper()
	out := mustRun(t, "show", "--json", path)
	m := regexp.MustCompile(`"uuid": "([0-9a-f-]+)"`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no UUID in show's output:\n%s", out)
	}
	return m[1]
}
