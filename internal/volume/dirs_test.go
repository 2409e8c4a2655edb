package volume_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/bedup/bedup/internal/testfs"
	"github.com/bedup/bedup/internal/volume"
)

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// volumesOf describes the volumes (and sources) of a set on filesystem
// uuid as "desc" or "desc[ino,...]" for a restricted one.
func volumesOf(uuid string, vols []*volume.Volume) []string {
	var out []string
	for _, v := range vols {
		if v.FS.UUID != uuid {
			continue
		}
		s := v.Desc
		if v.Dirs != nil {
			s += fmt.Sprint(v.Dirs)
		}
		out = append(out, s)
	}
	return out
}

// Any directory on Btrfs, absolute or relative, is a filter: a plain
// directory restricts its subvolume to the files below it and brings the
// subvolumes below it whole; a subvolume's root keeps its meaning.
func TestDiscoverDirectories(t *testing.T) {
	fs := testfs.New(t)
	m := fs.Mnt
	fs.Subvolume(t, "a")
	fs.Subvolume(t, "a/b")
	os.MkdirAll(fs.Path("a/photos/2020"), 0o755)
	os.MkdirAll(fs.Path("a/other"), 0o755)
	os.MkdirAll(fs.Path("top/x"), 0o755)
	fs.Subvolume(t, "a/photos/nested")
	fs.Snapshot(t, "a/b", "a/photos/2020/snap", true)
	os.MkdirAll(fs.Path("a/photos/nested/inside"), 0o755)
	os.Symlink(fs.Path("a/photos"), fs.Path("link"))
	uuid := fsUUID(t, m)
	photos, y2020, other := inode(t, fs.Path("a/photos")), inode(t, fs.Path("a/photos/2020")), inode(t, fs.Path("a/other"))
	inside := inode(t, fs.Path("a/photos/nested/inside"))
	dirs := func(desc string, inos ...uint64) string { return desc + fmt.Sprint(inos) }

	for _, c := range []struct {
		name    string
		cwd     string // relative to the mount point, "" for none
		filters []string
		vols    []string
		sources []string
	}{
		{"absolute directory", "", []string{m + "/a/photos"},
			[]string{dirs(m+"/a", photos), m + "/a/photos/nested"}, []string{m + "/a/photos/2020/snap"}},
		{"trailing slash and dots", "", []string{m + "/a/./photos/"},
			[]string{dirs(m+"/a", photos), m + "/a/photos/nested"}, []string{m + "/a/photos/2020/snap"}},
		{"relative directory", "a", []string{"photos"},
			[]string{dirs(m+"/a", photos), m + "/a/photos/nested"}, []string{m + "/a/photos/2020/snap"}},
		{"dot", "a/photos", []string{"."},
			[]string{dirs(m+"/a", photos), m + "/a/photos/nested"}, []string{m + "/a/photos/2020/snap"}},
		{"dot at a subvolume root keeps its meaning", "a", []string{"."},
			[]string{m + "/a", m + "/a/b", m + "/a/photos/nested"}, []string{m + "/a/photos/2020/snap"}},
		{"dot dot", "a/photos/2020", []string{".."},
			[]string{dirs(m+"/a", photos), m + "/a/photos/nested"}, []string{m + "/a/photos/2020/snap"}},
		{"through a symlink", "", []string{fs.Path("link")},
			[]string{dirs(m+"/a", photos), fs.Path("link/nested")}, []string{fs.Path("link/2020/snap")}},
		{"a directory without subvolumes below", "", []string{m + "/a/other"}, []string{dirs(m+"/a", other)}, nil},
		{"in the top level", "", []string{m + "/top/x"}, []string{dirs(m, inode(t, fs.Path("top/x")))}, nil},
		{"a read-only subvolume below is a source", "", []string{m + "/a/photos/2020"}, []string{dirs(m+"/a", y2020)}, []string{m + "/a/photos/2020/snap"}},
		{"two directories of one subvolume add up", "", []string{m + "/a/photos", m + "/a/other", m + "/a/photos"},
			[]string{dirs(m+"/a", photos, other), m + "/a/photos/nested"}, []string{m + "/a/photos/2020/snap"}},
		{"a directory below another", "", []string{m + "/a/photos", m + "/a/photos/2020"},
			[]string{dirs(m+"/a", photos, y2020), m + "/a/photos/nested"}, []string{m + "/a/photos/2020/snap"}},
		{"the whole subvolume named later wins", "", []string{m + "/a/other", "vol:" + m + "/a"},
			[]string{m + "/a"}, nil},
		{"the whole subvolume named first wins", "", []string{m + "/a", m + "/a/other"},
			[]string{m + "/a", m + "/a/b", m + "/a/photos/nested"}, []string{m + "/a/photos/2020/snap"}},
		{"a directory in a nested subvolume", "", []string{m + "/a/photos/nested/inside", m + "/a/other"},
			[]string{dirs(m+"/a/photos/nested", inside), dirs(m+"/a", other)}, nil},
		{"a nested subvolume's directory under its whole parent", "", []string{m + "/a/photos", m + "/a/photos/nested/inside"},
			[]string{dirs(m+"/a", photos), m + "/a/photos/nested"}, []string{m + "/a/photos/2020/snap"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.cwd != "" {
				t.Chdir(fs.Path(c.cwd))
			}
			set, err := volume.Discover(c.filters, volume.Options{})
			if err != nil {
				t.Fatalf("Discover(%q): %v", c.filters, err)
			}
			defer set.Close()
			if got := volumesOf(uuid, set.Volumes); !slices.Equal(got, c.vols) {
				t.Errorf("volumes %q\nwant    %q", got, c.vols)
			}
			if got := volumesOf(uuid, set.Sources); !slices.Equal(got, c.sources) {
				t.Errorf("sources %q\nwant    %q", got, c.sources)
			}
		})
	}

	// A directory of a read-only snapshot, named, is used (restricted).
	os.Mkdir(fs.Path("a/b/d"), 0o755)
	fs.Snapshot(t, "a/b", "ro", true)
	set, err := volume.Discover([]string{m + "/ro/d"}, volume.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if got := volumesOf(uuid, set.Volumes); len(got) != 1 || !strings.HasPrefix(got[0], m+"/ro[") || !set.Volumes[0].ReadOnly {
		t.Errorf("named directory of a read-only snapshot: %q", got)
	}
}

// What is not a directory on Btrfs is refused, naming the path.
func TestDiscoverDirectoryErrors(t *testing.T) {
	fs := testfs.New(t)
	os.Mkdir(fs.Path("dir"), 0o755)
	testfs.WriteFile(t, fs.Path("dir/file"), []byte("x"))
	host := t.TempDir()
	os.Mkdir(host+"/sub", 0o755)
	t.Chdir(fs.Path("dir"))
	for _, c := range []struct {
		filter string
		usage  bool
		want   string
	}{
		{"file", false, fs.Path("dir/file") + ": not a directory"},
		{fs.Path("dir/file"), false, fs.Path("dir/file") + ": not a directory"},
		{"missing", true, `filter "missing": no such file or directory, and not a filesystem UUID`},
		{fs.Path("dir/missing"), false, fs.Path("dir/missing") + ": no such file or directory"},
		{host + "/sub", false, host + "/sub: not on a Btrfs filesystem"},
		{"vol:" + fs.Path("dir"), false, "not the root directory of a Btrfs subvolume"},
		{"vol:dir", true, "vol: needs an absolute path"},
	} {
		set, err := volume.Discover([]string{c.filter}, volume.Options{})
		if err == nil {
			set.Close()
			t.Errorf("Discover(%q) succeeded", c.filter)
			continue
		}
		var fe *volume.FilterError
		if errors.As(err, &fe) != c.usage || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Discover(%q) = %v (usage error %v); want %q", c.filter, err, errors.As(err, &fe), c.want)
		}
	}
}
