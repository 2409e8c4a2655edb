package testfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SnapshotLayout is a home subvolume edited in rounds, with a read-only
// snapshot taken before each later round (as snapper does), and a plain
// copy of its final files in another subvolume (a backup). Its copies of
// one content end up on several extents, some pinned by snapshots:
//
//   - a1, a2, a3 are identical from the start (each on its own extent,
//     pinned by every snapshot), a4 is copied from a1 after the first
//     snapshot; a3 is rewritten with other bytes after the last one;
//   - b is rewritten with the same bytes after the first snapshot, so the
//     first snapshot's copy is on another extent than the later ones';
//   - c1 is rewritten with other bytes of the same size after the first
//     snapshot, c2 keeps the old ones;
//   - x is copied to y after the first snapshot, deleted after the second,
//     y after the third, and z copied from x's bytes then: two extents of
//     one content are each pinned by two snapshots and no writable file;
//   - old1 and old2 are identical and deleted after the first snapshot:
//     copies in a snapshot only;
//   - docs/deep/d1 and docs/d2 are nested copies, docs/d3 is added later;
//   - f1 and f2 are copies added after the last snapshot (pinned by none);
//   - u40, u1, u2 and n1 are unique (u40 has a1's size, u2 f1's).
type SnapshotLayout struct {
	Home      string   // the edited subvolume
	Snapshots []string // read-only snapshots of Home, oldest first
	Backup    string   // a subvolume with a copy of Home's final files
}

// Build makes the layout on fs: subvolumes home and backup, snapshots
// snap1..snap3, and commits it.
func (l *SnapshotLayout) Build(t testing.TB, fs *FS) {
	t.Helper()
	l.Home, l.Backup = fs.Subvolume(t, "home"), fs.Subvolume(t, "backup")
	home := func(name string) string { return filepath.Join(l.Home, name) }
	write := func(name string, seed uint64, size int) { WriteFile(t, home(name), Bytes(seed, size)) }
	cp := func(from, to string) { Run(t, "cp", "--reflink=never", home(from), home(to)) }
	rm := func(name string) {
		if err := os.Remove(home(name)); err != nil {
			t.Fatal(err)
		}
	}
	snapshot := func() {
		fs.Sync(t)
		name := "snap" + string(rune('1'+len(l.Snapshots)))
		l.Snapshots = append(l.Snapshots, fs.Snapshot(t, "home", name, true))
	}

	for _, n := range []string{"a1", "a2", "a3"} {
		write(n, 1, 40000)
	}
	write("u40", 2, 40000)
	write("b", 3, 100000)
	write("c1", 4, 70000)
	write("c2", 4, 70000)
	write("x", 5, 50000)
	write("docs/deep/d1", 6, 20000)
	write("docs/d2", 6, 20000)
	write("old1", 7, 30000)
	write("old2", 7, 30000)
	write("u1", 8, 12345)
	snapshot()

	write("b", 3, 100000) // same bytes, new extent
	write("c1", 9, 70000) // other bytes, same size
	cp("x", "y")
	cp("a1", "a4")
	rm("old1")
	rm("old2")
	write("n1", 10, 8000)
	snapshot()

	rm("x")
	cp("docs/d2", "docs/d3")
	snapshot()

	rm("y")
	write("z", 5, 50000)
	write("f1", 12, 90000)
	write("f2", 12, 90000)
	write("u2", 13, 90000)
	write("a3", 14, 40000)
	Run(t, "cp", "-a", "--reflink=never", l.Home+"/.", l.Backup)
	fs.Sync(t)
}

// Files lists every regular file of the layout: home's, the snapshots'
// and the backup's.
func (l *SnapshotLayout) Files(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, root := range append([]string{l.Home, l.Backup}, l.Snapshots...) {
		err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				out = append(out, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// InSnapshot reports whether path is in one of the layout's snapshots.
func (l *SnapshotLayout) InSnapshot(path string) bool {
	for _, s := range l.Snapshots {
		if strings.HasPrefix(path, s+"/") {
			return true
		}
	}
	return false
}
