package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/cli"
	"github.com/bedup/bedup/internal/testfs"
)

// TestOutputToFullDevice runs every command with its standard output on
// /dev/full, as text and as JSON: each fails with exit 1 and one line on
// standard error saying the output could not be written (they exited 0,
// having printed nothing).
func TestOutputToFullDevice(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	fs := testfs.New(t)
	vol := fs.Subvolume(t, "vol")
	a := testfs.WriteFile(t, filepath.Join(vol, "a"), testfs.Bytes(1, 200000))
	b := testfs.WriteFile(t, filepath.Join(vol, "b"), testfs.Bytes(1, 200000))
	db := filepath.Join(t.TempDir(), "db.sqlite")
	mustRun(t, "dedup", "--db-path", db, vol)
	testfs.WriteFile(t, filepath.Join(vol, "c"), testfs.Bytes(1, 200000))
	fs.Sync(t)
	uuid := strings.TrimSpace(mustRun(t, "show", "--json", "--db-path", db, vol))
	uuid = regexp.MustCompile(`"uuid": "([0-9a-f-]+)"`).FindStringSubmatch(uuid)[1]

	cmds := [][]string{
		{"scan", "--db-path", db, "vol:" + vol},
		{"dedup", "-q", "--db-path", db, "vol:" + vol},
		{"show", "--db-path", db},
		{"size-lookup", "--db-path", db, "200000"},
		{"find-new", vol},
		{"find-new", "--terse", vol},
		{"generation", vol},
		{"history", "--db-path", db},
		{"dedup-files", a, b},
	}
	var all [][]string
	for _, c := range cmds {
		all = append(all, c, append([]string{c[0], "--json"}, c[1:]...))
	}
	all = append(all,
		[]string{"reset", "--yes", "--db-path", db, "vol:" + vol},
		[]string{"forget-fs", "--yes", "--db-path", db, uuid},
	)
	want := regexp.MustCompile(`^bedup: [a-z-]+: write output: write /dev/full: no space left on device\n$`)
	for _, args := range all {
		var errb bytes.Buffer
		code := exitCode(cli.Run(context.Background(), args, cli.Streams{In: strings.NewReader(""), Out: full, Err: &errb}))
		if code != 1 || !want.MatchString(errb.String()) {
			t.Errorf("bedup %s > /dev/full: exit %d, stderr %q; want 1 and one line saying the output failed",
				strings.Join(args, " "), code, errb.String())
		}
	}
}
