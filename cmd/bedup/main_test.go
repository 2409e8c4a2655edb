package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/cli"
	"github.com/bedup/bedup/internal/testfs"
)

func TestMain(m *testing.M) {
	// Tests that need a real process (signals) run the test binary as bedup.
	if os.Getenv("BEDUP_RUN_MAIN") == "1" {
		installFaultHook()
		os.Exit(run())
	}
	testscript.Main(m, map[string]func(){
		"bedup": func() { os.Exit(run()) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script, each on a
// fresh Btrfs mounted at $MNT.
func TestScripts(t *testing.T) {
	testfs.Require(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			dir, err := os.MkdirTemp("", "bedup-script-")
			if err != nil {
				return err
			}
			fs, err := testfs.Create(dir, testfs.Options{SizeMiB: 256})
			if err != nil {
				os.RemoveAll(dir)
				return err
			}
			env.Defer(func() {
				if err := fs.Close(); err != nil {
					env.T().Fatal(err)
				}
				os.RemoveAll(dir)
			})
			env.Setenv("MNT", fs.Mnt)
			// The default database goes to the script's work directory.
			env.Setenv("BEDUP_DB", env.WorkDir+"/xdg/bedup/db.sqlite")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mkfile":   cmdMkfile,
			"shares":   cmdShares,
			"lines":    cmdLines,
			"allmatch": cmdAllmatch,
			"savenum":  cmdSavenum,
			"numlt":    cmdNumlt,
			"fsuuid":   cmdFsuuid,
		},
	})
}

// mkfile PATH SIZE SEED writes SIZE deterministic bytes (same SEED, same bytes).
func cmdMkfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: mkfile PATH SIZE SEED")
	}
	size, err := strconv.Atoi(args[1])
	ts.Check(err)
	seed, err := strconv.ParseUint(args[2], 10, 64)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), testfs.Bytes(seed, size), 0o644))
}

// shares SRC DEST asserts (or with ! denies) that DEST's every byte is on
// SRC's extents.
func cmdShares(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: shares SRC DEST")
	}
	got := sharesPaths(ts, ts.MkAbs(args[0]), ts.MkAbs(args[1]))
	if got == neg {
		ts.Fatalf("shares %s %s = %v", args[0], args[1], got)
	}
}

// lines FILE N asserts that FILE (stdout, stderr or a path) has N lines.
func cmdLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: lines FILE N")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	if got := strings.Count(ts.ReadFile(args[0]), "\n"); got != want {
		ts.Fatalf("%s has %d lines, want %d", args[0], got, want)
	}
}

// allmatch FILE REGEXP asserts that every line of FILE matches REGEXP.
func cmdAllmatch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: allmatch FILE REGEXP")
	}
	re := regexp.MustCompile(args[1])
	text := ts.ReadFile(args[0])
	if text == "" {
		ts.Fatalf("%s is empty", args[0])
	}
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if !re.MatchString(l) {
			ts.Fatalf("line %q of %s does not match %s", l, args[0], args[1])
		}
	}
}

// savenum VAR [ADD] stores the number printed on stdout (plus ADD) in $VAR.
func cmdSavenum(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: savenum VAR [ADD]")
	}
	n, err := strconv.ParseUint(strings.TrimSpace(ts.ReadFile("stdout")), 10, 64)
	ts.Check(err)
	if len(args) == 2 {
		add, err := strconv.ParseUint(args[1], 10, 64)
		ts.Check(err)
		n += add
	}
	ts.Setenv(args[0], fmt.Sprint(n))
}

// numlt A B asserts A < B.
func cmdNumlt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: numlt A B")
	}
	a, err := strconv.ParseUint(args[0], 10, 64)
	ts.Check(err)
	b, err := strconv.ParseUint(args[1], 10, 64)
	ts.Check(err)
	if a >= b {
		ts.Fatalf("%d is not less than %d", a, b)
	}
}

// TestExitCodes checks the exit status and streams of bad command lines:
// one line on stderr, nothing on stdout, 2 for usage errors, 1 otherwise.
func TestExitCodes(t *testing.T) {
	fs := testfs.New(t)
	testfs.Run(t, "btrfs", "-q", "subvolume", "create", fs.Path("vol"))
	if err := os.Mkdir(fs.Path("vol/dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := testfs.WriteFile(t, fs.Path("vol/file"), []byte("some data"))
	host := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		err  string // regexp the one stderr line must match
	}{
		{[]string{"--frobnicate"}, 2, `^bedup: unknown flag: --frobnicate`},
		{[]string{"frobnicate"}, 2, `^bedup: unknown command "frobnicate"`},
		{[]string{"find-new"}, 2, `^bedup: find-new: takes 1 to 2 arguments, got 0`},
		{[]string{"find-new", fs.Path("vol"), "abc"}, 2, `^bedup: find-new: generation "abc" is not a non-negative integer`},
		{[]string{"find-new", fs.Path("vol"), "-5"}, 2, `unknown shorthand flag: '5'`},
		{[]string{"find-new", "--terse", "--bogus", fs.Path("vol")}, 2, `unknown flag: --bogus`},
		{[]string{"find-new", fs.Path("missing")}, 1, `^bedup: find-new: .*/missing: no such file or directory$`},
		{[]string{"find-new", host}, 1, `^bedup: find-new: .*: not on a Btrfs filesystem$`},
		{[]string{"find-new", fs.Path("vol/dir")}, 1, `^bedup: find-new: .*/vol/dir: not the root directory of a Btrfs subvolume$`},
		{[]string{"generation", fs.Path("vol"), fs.Path("vol")}, 2, `^bedup: generation: takes 1 arguments, got 2`},
		{[]string{"generation", file}, 1, `^bedup: generation: .*/vol/file: not a directory$`},
		{[]string{"generation", "--flush", host}, 1, `not on a Btrfs filesystem$`},
		{[]string{"dedup-files", file}, 2, `^bedup: dedup-files: takes at least 2 arguments, got 1`},
		{[]string{"dedup-files", "--frob", file, file}, 2, `unknown flag: --frob`},
		{[]string{"dedup-files", file, fs.Path("vol/dir")}, 1, `^bedup: dedup-files: .*/vol/dir: is a directory$`},
		{[]string{"dedup-files", file, fs.Path("nope")}, 1, `^bedup: dedup-files: .*/nope: no such file or directory$`},
	} {
		var out, errb bytes.Buffer
		code := exitCode(cli.Run(context.Background(), c.args, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb}))
		name := strings.Join(c.args, " ")
		if code != c.code {
			t.Errorf("bedup %s: exit %d, want %d", name, code, c.code)
		}
		if out.Len() != 0 {
			t.Errorf("bedup %s: stdout %q, want nothing", name, out.String())
		}
		if strings.Count(errb.String(), "\n") != 1 || !regexp.MustCompile(c.err).MatchString(strings.TrimSuffix(errb.String(), "\n")) {
			t.Errorf("bedup %s: stderr %q, want one line matching %s", name, errb.String(), c.err)
		}
	}
	if code := exitCode(context.Canceled); code != 130 {
		t.Errorf("interrupted: exit %d, want 130", code)
	}
}

// fsuuid VAR PATH stores the UUID of the filesystem PATH is on in $VAR.
func cmdFsuuid(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: fsuuid VAR PATH")
	}
	d, err := btrfs.OpenDir(ts.MkAbs(args[1]))
	ts.Check(err)
	defer d.Close()
	info, err := btrfs.GetFSInfo(d)
	ts.Check(err)
	ts.Setenv(args[0], info.UUID())
}
