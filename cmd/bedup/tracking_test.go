package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/cli"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
)

// TestTrackingBadInput: every bad command line of the tracking commands
// gives one line on stderr, the right exit status, and writes nothing to
// the database.
func TestTrackingBadInput(t *testing.T) {
	fs := testfs.New(t)
	testfs.Run(t, "btrfs", "-q", "subvolume", "create", fs.Path("vol"))
	os.Mkdir(fs.Path("vol/dir"), 0o755)
	testfs.WriteFile(t, fs.Path("vol/big"), testfs.Bytes(1, 200000))
	work := t.TempDir()
	db := filepath.Join(work, "db.sqlite")
	notDB := filepath.Join(work, "text.sqlite")
	junk := bytes.Repeat([]byte("not a database\n"), 300)
	os.WriteFile(notDB, junk, 0o644)
	ro := filepath.Join(work, "ro")
	os.Mkdir(ro, 0o755)
	testfs.Run(t, "mount", "--bind", ro, ro)
	defer testfs.Run(t, "umount", ro)
	testfs.Run(t, "mount", "-o", "remount,bind,ro", ro)
	host := t.TempDir()

	// A second run while this one holds the database.
	locked := filepath.Join(work, "locked.sqlite")
	holder, err := store.Open(context.Background(), locked, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	lockedBefore, _ := os.ReadFile(locked)

	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"scan", "--db-path", db, "relative/vol"}, 2, `filter "relative/vol": no such file or directory, and not a filesystem UUID`},
		{[]string{"scan", "--db-path", db, fs.Path("vol/big")}, 1, `vol/big: not a directory$`},
		{[]string{"scan", "--db-path", db, "vol:" + fs.Path("vol/dir")}, 1, `not the root directory of a Btrfs subvolume$`},
		{[]string{"scan", "--db-path", db, host}, 1, `: not on a Btrfs filesystem$`},
		{[]string{"scan", "--db-path", db, "0123-not-a-uuid"}, 2, `filter "0123-not-a-uuid": no such file or directory, and not a filesystem UUID`},
		{[]string{"scan", "--db-path", db, "00000000-1111-2222-3333-444444444444"}, 1, `no Btrfs filesystem with this UUID is plugged in$`},
		{[]string{"scan", "--db-path", db, "--size-cutoff", "lots", fs.Path("vol")}, 2, `--size-cutoff: size "lots" is not a number`},
		{[]string{"scan", "--db-path", db, "--size-cutoff", "0", fs.Path("vol")}, 2, `--size-cutoff must be at least 1 byte`},
		{[]string{"scan", "--db-path", filepath.Join(work, "missing", "db.sqlite"), fs.Path("vol")}, 1, `database directory .*/missing: no such file or directory$`},
		{[]string{"scan", "--db-path", filepath.Join(ro, "db.sqlite"), fs.Path("vol")}, 1, `read-only file system$`},
		{[]string{"scan", "--db-path", notDB, fs.Path("vol")}, 1, `not a bedup database \(not an SQLite file\)$`},
		{[]string{"scan", "--db-path", locked, fs.Path("vol")}, 1, `database in use by bedup \(pid ` + strconv.Itoa(os.Getpid()) + `\)$`},
		{[]string{"reset", "--db-path", db}, 2, `list the volumes to reset explicitly`},
		{[]string{"forget-fs", "--db-path", db}, 2, `takes at least 1 arguments, got 0`},
		{[]string{"forget-fs", "--db-path", db, "xyz"}, 2, `malformed UUID "xyz"`},
		{[]string{"size-lookup", "--db-path", db, "big"}, 2, `size "big" is not a number`},
		{[]string{"show", "--db-path", db, "relative"}, 2, `"relative" is neither a filesystem UUID nor an absolute path`},
		{[]string{"show", "--db-path", db, "00000000-1111-2222-3333-444444444444"}, 1, `no such filesystem, plugged in or known$`},
		{[]string{"show", "--db-path", db, host}, 1, `not on a Btrfs filesystem$`},
	} {
		var out, errb bytes.Buffer
		code := exitCode(cli.Run(context.Background(), c.args, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb}))
		name := strings.Join(c.args, " ")
		if code != c.code {
			t.Errorf("bedup %s: exit %d, want %d", name, code, c.code)
		}
		line := strings.TrimSuffix(errb.String(), "\n")
		if strings.Count(errb.String(), "\n") != 1 || !regexp.MustCompile(c.err).MatchString(line) {
			t.Errorf("bedup %s: stderr %q, want one line matching %s", name, errb.String(), c.err)
		}
		if out.Len() != 0 {
			t.Errorf("bedup %s: stdout %q", name, out.String())
		}
		if _, err := os.Stat(db); err == nil {
			t.Fatalf("bedup %s created the database", name)
		}
	}
	if b, _ := os.ReadFile(notDB); !bytes.Equal(b, junk) {
		t.Error("the non-SQLite file was changed")
	}
	if b, _ := os.ReadFile(locked); !bytes.Equal(b, lockedBefore) {
		t.Error("the locked database was changed by the second run")
	}
}
