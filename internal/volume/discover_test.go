package volume_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/testfs"
	"github.com/bedup/bedup/internal/volume"
)

func fsUUID(t *testing.T, p string) string {
	t.Helper()
	d, err := btrfs.OpenDir(p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	info, err := btrfs.GetFSInfo(d)
	if err != nil {
		t.Fatal(err)
	}
	return info.UUID()
}

// descs discovers and returns the descriptions of the volumes found on the
// filesystem uuid (the host may have Btrfs mounts of its own).
func descs(t *testing.T, uuid string, filters []string, o volume.Options) ([]string, *volume.Set) {
	t.Helper()
	set, err := volume.Discover(filters, o)
	if err != nil {
		t.Fatalf("Discover(%q): %v", filters, err)
	}
	t.Cleanup(set.Close)
	var out []string
	for _, v := range set.Volumes {
		if v.FS.UUID != uuid {
			continue
		}
		// Every volume's directory really is that subvolume's root.
		id, err := btrfs.SubvolumeID(v.Dir)
		if err != nil || id != v.ID {
			t.Errorf("%s: directory is subvolume %d (%v), want %d", v.Desc, id, err, v.ID)
		}
		out = append(out, v.Desc)
	}
	return out, set
}

func TestDiscoverFilters(t *testing.T) {
	fs := testfs.New(t)
	m := fs.Mnt
	fs.Subvolume(t, "a")
	fs.Subvolume(t, "a/b")
	fs.Subvolume(t, "c")
	fs.Subvolume(t, "moved")
	os.MkdirAll(fs.Path("c/deep"), 0o755)
	fs.Subvolume(t, "c/deep/newer")
	if err := os.Rename(fs.Path("moved"), fs.Path("c/deep/newer/moved")); err != nil {
		t.Fatal(err)
	}
	fs.Snapshot(t, "a", "snap", true)
	os.Mkdir(fs.Path("a/plaindir"), 0o755)
	uuid := fsUUID(t, m)

	all := []string{m, m + "/a", m + "/a/b", m + "/c", m + "/c/deep/newer", m + "/c/deep/newer/moved"}
	for _, c := range []struct {
		name    string
		filters []string
		o       volume.Options
		want    []string
		notice  *volume.Notice
	}{
		{"no filter", nil, volume.Options{}, all, &volume.Notice{Kind: volume.NoticeSourcesOnly, Count: 1}},
		{"uuid", []string{uuid}, volume.Options{}, all, &volume.Notice{Kind: volume.NoticeSourcesOnly, Count: 1}},
		{"uuid upper case in braces", []string{"{" + strings.ToUpper(uuid) + "}"}, volume.Options{}, all, nil},
		{"include frozen", []string{uuid}, volume.Options{IncludeFrozen: true},
			[]string{m, m + "/a", m + "/a/b", m + "/c", m + "/c/deep/newer", m + "/c/deep/newer/moved", m + "/snap"}, nil},
		{"device", []string{fs.Dev}, volume.Options{}, all, nil},
		{"path with descendants", []string{m + "/a"}, volume.Options{}, []string{m + "/a", m + "/a/b"}, &volume.Notice{Kind: volume.NoticeNotTopLevel, Subject: m + "/a"}},
		{"moved under a newer subvolume", []string{m + "/c"}, volume.Options{},
			[]string{m + "/c", m + "/c/deep/newer", m + "/c/deep/newer/moved"}, nil},
		{"vol: excludes descendants", []string{"vol:" + m + "/a"}, volume.Options{}, []string{m + "/a"}, nil},
		{"named read-only snapshot", []string{m + "/snap"}, volume.Options{}, []string{m + "/snap"}, nil},
		{"top level path skips the snapshot", []string{m}, volume.Options{}, all, &volume.Notice{Kind: volume.NoticeSourcesOnly, Subject: m, Count: 1}},
		{"repeats kept once", []string{"vol:" + m + "/a", m + "/a", uuid}, volume.Options{},
			[]string{m + "/a", m + "/a/b", m, m + "/c", m + "/c/deep/newer", m + "/c/deep/newer/moved"}, nil},
	} {
		got, set := descs(t, uuid, c.filters, c.o)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: volumes %q\nwant %q", c.name, got, c.want)
		}
		if c.notice != nil && !hasNotice(set.Notices, *c.notice) {
			t.Errorf("%s: notices %+v, want one like %+v", c.name, set.Notices, c.notice)
		}
	}

	// Read-only subvolumes left out serve as sources.
	_, set := descs(t, uuid, []string{uuid}, volume.Options{})
	if len(set.Sources) != 1 || set.Sources[0].Desc != m+"/snap" || !set.Sources[0].ReadOnly {
		t.Errorf("sources %+v, want the read-only snapshot", set.Sources)
	}
	_, set = descs(t, uuid, []string{m + "/snap", m}, volume.Options{})
	if len(set.Sources) != 0 {
		t.Errorf("a named snapshot also listed as a source: %+v", set.Sources)
	}

	// A subvolume also mounted on its own is described by that mount.
	cm := t.TempDir()
	testfs.Run(t, "mount", "-o", "subvol=c", fs.Dev, cm)
	defer testfs.Run(t, "umount", cm)
	got, _ := descs(t, uuid, []string{uuid}, volume.Options{})
	sort.Strings(got)
	if !slices.Contains(got, cm) || !slices.Contains(got, cm+"/deep/newer") || slices.Contains(got, m+"/c") {
		t.Errorf("with c mounted at %s: %q", cm, got)
	}
}

func TestDiscoverErrors(t *testing.T) {
	fs := testfs.New(t)
	os.Mkdir(fs.Path("dir"), 0o755)
	testfs.WriteFile(t, fs.Path("file"), []byte("x"))
	host := t.TempDir()
	for _, c := range []struct {
		filter string
		usage  bool
		want   string
	}{
		{"relative/path", true, "no such file or directory, and not a filesystem UUID"},
		{"vol:relative", true, "absolute path"},
		{"not-a-uuid", true, "filesystem UUID"},
		{"98d7f117-296e-449e-8d40-dfdd887c7cd", true, ""},
		{"00000000-1111-2222-3333-444444444444", false, "no Btrfs filesystem with this UUID is plugged in"},
		{"vol:" + fs.Path("dir"), false, "not the root directory of a Btrfs subvolume"},
		{fs.Path("missing"), false, "no such file or directory"},
		{fs.Path("file"), false, "not a directory"},
		{host, false, "not on a Btrfs filesystem"},
		{"/dev/null", false, "not a block device"},
		{"/dev/nonexistent-device", false, "no such file or directory"},
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

// A filesystem named by UUID or device that is not mounted read-write is
// mounted privately for the run: its volumes open, nothing shows in the
// mount table, and it is gone after Close.
func TestDiscoverUnmounted(t *testing.T) {
	testfs.Require(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "img")
	testfs.WriteFile(t, img, nil)
	os.Truncate(img, 200<<20)
	testfs.Run(t, "mkfs.btrfs", "-q", "-L", "bedup-unmounted", img)
	dev := strings.TrimSpace(testfs.Run(t, "losetup", "--find", "--show", img))
	defer testfs.Run(t, "losetup", "-d", dev)
	// Give it a subvolume, then unmount it.
	mnt := filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o755)
	testfs.Run(t, "mount", dev, mnt)
	testfs.Run(t, "btrfs", "-q", "subvolume", "create", mnt+"/sub")
	uuid := fsUUID(t, mnt)
	testfs.Run(t, "umount", mnt)

	for _, filter := range []string{uuid, dev} {
		set, err := volume.Discover([]string{filter}, volume.Options{})
		if err != nil {
			t.Fatalf("Discover(%s): %v", filter, err)
		}
		var got []string
		for _, v := range set.Volumes {
			got = append(got, v.Desc)
			if !v.FS.Private {
				t.Errorf("%s: not marked private", v.Desc)
			}
		}
		if !slices.Equal(got, []string{"bedup-unmounted", "bedup-unmounted/sub"}) {
			t.Errorf("Discover(%s) volumes %q", filter, got)
		}
		// Other test packages mount and unmount meanwhile: look for this
		// device only.
		if mounts, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mounts), " "+dev+" ") {
			t.Errorf("the private mount of %s shows in the mount table", dev)
		}
		set.Close()
		waitGone(t, "/sys/fs/btrfs/"+uuid)
	}

	// Mounted read-only: left out without filter, mounted privately when named.
	testfs.Run(t, "mount", "-o", "ro", dev, mnt)
	defer testfs.Run(t, "umount", mnt)
	set, err := volume.Discover(nil, volume.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range set.Volumes {
		if v.FS.UUID == uuid {
			t.Errorf("read-only mounted filesystem included: %s", v.Desc)
		}
	}
	if !hasNotice(set.Notices, volume.Notice{Kind: volume.NoticeNotReadWrite, Subject: "bedup-unmounted"}) {
		t.Errorf("notices %+v", set.Notices)
	}
	set.Close()
	set, err = volume.Discover([]string{uuid}, volume.Options{})
	if err != nil {
		t.Fatalf("named read-only mounted filesystem: %v", err)
	}
	if len(set.Volumes) != 2 || !set.Volumes[0].FS.Private {
		t.Errorf("named read-only mounted filesystem: %d volumes", len(set.Volumes))
	}
	if err := os.WriteFile(filepath.Join(mnt, "x"), nil, 0o644); err == nil {
		t.Error("the user's read-only mount became writable")
	}
	set.Close()
}

func waitGone(t *testing.T, p string) {
	t.Helper()
	for range 200 {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%s still exists: the private mount outlived the set", p)
}

// hasNotice reports whether notices hold one like want (an empty Subject
// matches any).
func hasNotice(notices []volume.Notice, want volume.Notice) bool {
	for _, n := range notices {
		if n.Kind == want.Kind && n.Count == want.Count && (want.Subject == "" || n.Subject == want.Subject) {
			return true
		}
	}
	return false
}
