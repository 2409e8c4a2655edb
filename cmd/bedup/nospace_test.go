package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/testfs"
)

// TestScanNoSpace: a scan whose database's filesystem fills up fails with
// one line saying so ("no space left on device", where SQLite says "disk
// I/O error"), and the database stays sound: the next run on a filesystem
// with room completes it.
func TestScanNoSpace(t *testing.T) {
	fs := testfs.New(t)
	vol := fs.Subvolume(t, "vol")
	for i := range 5000 {
		if err := os.WriteFile(filepath.Join(vol, fmt.Sprintf("f%04d", i)), []byte{byte(i)}, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := testfs.Tmpfs(t, 256)
	db := filepath.Join(dir, "db.sqlite")
	out, errOut, code := runBedup(t, "scan", "-q", "--size-cutoff", "1", "--db-path", db, "vol:"+vol)
	want := regexp.MustCompile(`^bedup: scan: .*no space left on device\n$`)
	if code != 1 || out != "" || !want.MatchString(errOut) {
		t.Errorf("scan onto a full filesystem: exit %d, stdout %q, stderr %q; want 1 and one line saying it is full", code, out, errOut)
	}
	if strings.Contains(errOut, "disk I/O error") {
		t.Errorf("stderr says %q", errOut)
	}
	// With room again, the next scan completes the job.
	testfs.Run(t, "mount", "-o", "remount,size=64m", dir)
	mustRun(t, "scan", "-q", "--size-cutoff", "1", "--db-path", db, "vol:"+vol)
	if out := mustRun(t, "show", "--db-path", db, vol); !strings.Contains(out, "tracking 5000 inodes") {
		t.Errorf("after the full disk and a scan with room:\n%s", out)
	}
}
