package btrfs_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/testfs"
)

func openDir(t *testing.T, p string) *os.File {
	t.Helper()
	d, err := btrfs.OpenDir(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func openFile(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := btrfs.OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func ino(t *testing.T, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// inodes lists the regular-file inode items of the subvolume at dir with a
// search buffer of bufSize bytes.
func inodes(t *testing.T, dir *os.File, bufSize int, minTransid uint64) (map[uint64]btrfs.InodeItem, int) {
	t.Helper()
	r := btrfs.FullRange(0)
	r.MinTransid = minTransid
	r.Max.Type = btrfs.InodeItemKey
	s := btrfs.NewSearch(dir, r, bufSize)
	got := map[uint64]btrfs.InodeItem{}
	for s.Next() {
		it := s.Item()
		if it.Key.Type != btrfs.InodeItemKey {
			continue
		}
		ii, err := btrfs.DecodeInodeItem(it.Data)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := got[it.Key.ObjectID]; dup {
			t.Fatalf("inode %d returned twice", it.Key.ObjectID)
		}
		if ii.IsRegular() {
			got[it.Key.ObjectID] = ii
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return got, s.Calls
}

func TestTreeSearchCursor(t *testing.T) {
	fs := testfs.New(t)
	sub := fs.Subvolume(t, "sub")
	want := map[uint64]bool{}
	for i := range 3000 {
		p := testfs.WriteFile(t, filepath.Join(sub, fmt.Sprintf("d%d/f%d", i%7, i)), []byte(fmt.Sprint(i)))
		want[ino(t, p)] = true
	}
	fs.Sync(t)
	dir := openDir(t, sub)
	for _, bufSize := range []int{64, 4096, btrfs.DefaultSearchBuf} {
		got, calls := inodes(t, dir, bufSize, 0)
		if len(got) != len(want) {
			t.Errorf("buffer %d: %d regular inodes, want %d", bufSize, len(got), len(want))
		}
		for i := range want {
			if _, ok := got[i]; !ok {
				t.Errorf("buffer %d: inode %d missing", bufSize, i)
				break
			}
		}
		t.Logf("buffer %d: %d ioctls", bufSize, calls)
		if bufSize == 4096 && calls < 10 {
			t.Errorf("a 4 KiB buffer took only %d calls for 3000 inodes: cursor not exercised", calls)
		}
	}

	// From the subvolume's generation + 1 nothing has changed.
	info, err := btrfs.GetSubvolInfo(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := inodes(t, dir, 0, info.Generation+1); len(got) != 0 {
		t.Errorf("search from generation %d found %d inodes, want 0", info.Generation+1, len(got))
	}
	// One new file is found from there, with its transid.
	p := testfs.WriteFile(t, filepath.Join(sub, "new"), []byte("new"))
	fs.Sync(t)
	got, _ := inodes(t, dir, 0, info.Generation+1)
	ii, ok := got[ino(t, p)]
	if !ok || ii.Transid <= info.Generation {
		t.Errorf("new file not found after generation %d: %v", info.Generation, ok)
	}
}

func TestLookupsAndInfo(t *testing.T) {
	fs := testfs.New(t)
	sub := fs.Subvolume(t, "sub")
	p := testfs.WriteFile(t, filepath.Join(sub, "a/b/file"), []byte("x"))
	if err := os.Link(p, filepath.Join(sub, "a/link")); err != nil {
		t.Fatal(err)
	}
	dir := openDir(t, sub)
	id, err := btrfs.SubvolumeID(dir)
	if err != nil || id < btrfs.FirstFreeObjectID {
		t.Fatalf("SubvolumeID = %d, %v", id, err)
	}
	path, tree, err := btrfs.InoLookup(dir, 0, ino(t, filepath.Join(sub, "a/b")))
	if err != nil || path != "a/b" || tree != id {
		t.Errorf("InoLookup(a/b) = %q, %d, %v", path, tree, err)
	}
	paths, missed, err := btrfs.InoPaths(dir, ino(t, p))
	sort.Strings(paths)
	if err != nil || missed != 0 || !slices.Equal(paths, []string{"a/b/file", "a/link"}) {
		t.Errorf("InoPaths = %q, %d, %v", paths, missed, err)
	}
	info, err := btrfs.GetFSInfo(dir)
	if err != nil || info.SectorSize != 4096 || info.NumDevices != 1 {
		t.Fatalf("GetFSInfo = %+v, %v", info, err)
	}
	show := testfs.Run(t, "btrfs", "filesystem", "show", fs.Mnt)
	if !strings.Contains(show, info.UUID()) {
		t.Errorf("fsid %s not in btrfs filesystem show:\n%s", info.UUID(), show)
	}
	// Not Btrfs: the test's temporary directory is on the host filesystem.
	other := openDir(t, t.TempDir())
	if _, err := btrfs.GetFSInfo(other); !btrfs.IsNotBtrfs(err) {
		t.Errorf("GetFSInfo on a non-Btrfs dir: %v, want a not-Btrfs error", err)
	}
}

func TestListSubvolumes(t *testing.T) {
	fs := testfs.New(t)
	fs.Subvolume(t, "a")
	fs.Subvolume(t, "a/nested")
	testfs.WriteFile(t, fs.Path("a/nested/f"), []byte("x"))
	fs.Subvolume(t, "b")
	os.MkdirAll(fs.Path("b/deep/er"), 0o755)
	// "moved" is created before "b/deep/er/newer", then moved under it, so its
	// parent has a higher id.
	fs.Subvolume(t, "moved")
	fs.Subvolume(t, "b/deep/er/newer")
	if err := os.Rename(fs.Path("moved"), fs.Path("b/deep/er/newer/moved")); err != nil {
		t.Fatal(err)
	}
	fs.Snapshot(t, "a", "snap-ro", true)

	subs, err := btrfs.ListSubvolumes(openDir(t, fs.Mnt))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]btrfs.Subvolume{}
	for _, s := range subs {
		if s.Deleted {
			t.Errorf("subvolume %d reported deleted", s.ID)
		}
		got[s.Path] = s
	}
	for _, p := range []string{"", "a", "a/nested", "b", "b/deep/er/newer", "b/deep/er/newer/moved", "snap-ro"} {
		if _, ok := got[p]; !ok {
			t.Errorf("subvolume %q missing from %+v", p, subs)
		}
	}
	if len(got) != 7 {
		t.Errorf("%d subvolumes, want 7: %+v", len(got), subs)
	}
	moved, newer := got["b/deep/er/newer/moved"], got["b/deep/er/newer"]
	if moved.ParentID != newer.ID || moved.ID >= newer.ID {
		t.Errorf("moved subvolume %+v, its parent %+v", moved, newer)
	}
	if !got["snap-ro"].ReadOnly || got["a"].ReadOnly {
		t.Errorf("read-only flags wrong: snap-ro %v, a %v", got["snap-ro"].ReadOnly, got["a"].ReadOnly)
	}
	if got[""].ID != btrfs.FSTreeObjectID {
		t.Errorf("top level has id %d", got[""].ID)
	}
	// GetSubvolInfo agrees with the root tree.
	info, err := btrfs.GetSubvolInfo(openDir(t, fs.Path("snap-ro")))
	if err != nil || info.ID != got["snap-ro"].ID || !info.ReadOnly || info.Generation != got["snap-ro"].Generation {
		t.Errorf("GetSubvolInfo(snap-ro) = %+v, %v", info, err)
	}
}

func TestFiemapAndOpens(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(1, 1<<20+5)
	a := testfs.WriteFile(t, fs.Path("a"), data)
	small := testfs.WriteFile(t, fs.Path("small"), []byte("tiny"))
	// No fsync: FIEMAP_FLAG_SYNC must still give real addresses.
	ext, err := btrfs.Fiemap(openFile(t, a))
	if err != nil || len(ext) == 0 {
		t.Fatalf("Fiemap = %v, %v", ext, err)
	}
	var total uint64
	for _, e := range ext {
		if !e.Located() {
			t.Errorf("extent %+v not located after a synced FIEMAP", e)
		}
		total += e.Length
	}
	if total < uint64(len(data)) || ext[len(ext)-1].Flags&btrfs.ExtentLast == 0 {
		t.Errorf("extents cover %d bytes of %d, last flag %v", total, len(data), ext[len(ext)-1].Flags&btrfs.ExtentLast)
	}
	se, err := btrfs.Fiemap(openFile(t, small))
	if err != nil || len(se) != 1 || se[0].Located() {
		t.Errorf("inline file extents = %+v, %v", se, err)
	}

	// Open by handle: the scan's (root, ino, generation) triple.
	top := openDir(t, fs.Mnt)
	s := btrfs.NewSearch(top, btrfs.SearchRange{Min: btrfs.Key{ObjectID: ino(t, a), Type: btrfs.InodeItemKey},
		Max: btrfs.Key{ObjectID: ino(t, a), Type: btrfs.InodeItemKey, Offset: ^uint64(0)}}, 0)
	if !s.Next() {
		t.Fatalf("inode item of a not found: %v", s.Err())
	}
	ii, err := btrfs.DecodeInodeItem(s.Item().Data)
	if err != nil {
		t.Fatal(err)
	}
	f, st, err := btrfs.OpenByHandleStat(top, btrfs.FSTreeObjectID, ino(t, a), ii.Generation)
	if err != nil {
		t.Fatal(err)
	}
	if st.Ino != ino(t, a) || st.Size != int64(len(data)) {
		t.Errorf("status from the open: inode %d, size %d; want %d, %d", st.Ino, st.Size, ino(t, a), len(data))
	}
	if f.Name() != fmt.Sprintf("inode %d of subvolume %d", ino(t, a), btrfs.FSTreeObjectID) {
		t.Errorf("opened by handle as %q", f.Name())
	}
	buf := make([]byte, 10)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != string(data[:10]) {
		t.Errorf("read through handle: %q, %v", buf, err)
	}
	f.Close()
	if _, err := btrfs.OpenByHandle(top, btrfs.FSTreeObjectID, ino(t, a), ii.Generation+1); !errors.Is(err, unix.ESTALE) {
		t.Errorf("open with a wrong generation: %v, want ESTALE", err)
	}

	// Safe opens beneath a directory refuse symlinks and escapes.
	if err := os.Symlink("a", fs.Path("link")); err != nil {
		t.Fatal(err)
	}
	if f, err := btrfs.OpenBeneath(top, "a"); err != nil {
		t.Errorf("OpenBeneath(a): %v", err)
	} else {
		f.Close()
	}
	for _, bad := range []string{"link", "../etc/passwd", "/etc/passwd"} {
		if f, err := btrfs.OpenBeneath(top, bad); err == nil {
			f.Close()
			t.Errorf("OpenBeneath(%q) succeeded", bad)
		}
	}
	if _, err := btrfs.OpenFile(fs.Mnt); !errors.Is(err, unix.EISDIR) {
		t.Errorf("OpenFile(dir) = %v, want EISDIR", err)
	}
	if err := unix.Mkfifo(fs.Path("fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := btrfs.OpenFile(fs.Path("fifo")); !errors.Is(err, btrfs.ErrNotRegular) {
		t.Errorf("OpenFile(fifo) = %v, want ErrNotRegular", err)
	}
}

func TestDedupe(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(2, 256<<10+123)
	src := testfs.WriteFile(t, fs.Path("src"), data)
	var dests []btrfs.DedupeDest
	var paths []string
	for i := range 300 {
		p := testfs.WriteFile(t, fs.Path(fmt.Sprintf("d%03d", i)), data)
		paths = append(paths, p)
		dests = append(dests, btrfs.DedupeDest{File: openFile(t, p)})
	}
	differs := testfs.WriteFile(t, fs.Path("differs"), append(data[:len(data)-1:len(data)-1], data[len(data)-1]^1))
	nocow := testfs.WriteNocow(t, fs.Path("nocow"), data)
	dests = append(dests, btrfs.DedupeDest{File: openFile(t, differs)}, btrfs.DedupeDest{File: openFile(t, nocow)})

	// 64 KiB chunks make five calls per file, the last with the odd tail.
	res := btrfs.DedupeChunked(openFile(t, src), 0, uint64(len(data)), dests, 64<<10)
	for i, p := range paths {
		r := res[i]
		if r.Status != btrfs.DedupeSame || r.Bytes != uint64(len(data)) || r.Calls != 5 {
			t.Fatalf("%s: %+v", p, r)
		}
		if !testfs.Shares(t, src, p) {
			t.Fatalf("%s does not share src's extents", p)
		}
	}
	if r := res[300]; r.Status != btrfs.DedupeDiffers || r.Bytes != 256<<10 {
		t.Errorf("differs in the last byte: %+v", r)
	}
	if r := res[301]; r.Status != btrfs.DedupeFailed || !errors.Is(r.Err, unix.EINVAL) {
		t.Errorf("NOCOW destination: %+v", r)
	}
	// In one chunk, a file differing in its last byte keeps all its extents.
	differs2 := testfs.WriteFile(t, fs.Path("differs2"), append(data[:len(data)-1:len(data)-1], data[len(data)-1]^1))
	before := testfs.Extents(t, differs2)
	res = btrfs.Dedupe(openFile(t, src), 0, uint64(len(data)), []btrfs.DedupeDest{{File: openFile(t, differs2)}})
	if res[0].Status != btrfs.DedupeDiffers || res[0].Bytes != 0 {
		t.Errorf("one-chunk differs: %+v", res[0])
	}
	if after := testfs.Extents(t, differs2); !slices.Equal(before, after) {
		t.Errorf("extents of a differing file changed:\n%+v\n%+v", before, after)
	}
	if n := btrfs.Dedupe(openFile(t, src), 0, 0, dests[:1]); n[0].Calls != 0 {
		t.Errorf("length 0 made %d calls", n[0].Calls)
	}
}

// DedupeRanges shares the data of sparse files alike and leaves their
// holes as they are; a destination differing in one range is not asked
// the next.
func TestDedupeRanges(t *testing.T) {
	fs := testfs.New(t)
	island := testfs.Bytes(3, 64<<10)
	sparse := func(name string, second []byte) string {
		return testfs.WriteSparse(t, fs.Path(name), 4<<20, testfs.Island{Off: 0, Data: island}, testfs.Island{Off: 1 << 20, Data: second})
	}
	other := testfs.Bytes(4, 64<<10)
	src, same, differs := sparse("src", island), sparse("same", island), sparse("differs", other)
	ranges := [][2]uint64{{0, 64 << 10}, {1 << 20, 1<<20 + 64<<10}, {2 << 20, 2<<20 + 4096}} // the last: a hole in all
	res := btrfs.DedupeRanges(openFile(t, src), ranges, []btrfs.DedupeDest{{File: openFile(t, same)}, {File: openFile(t, differs)}})
	if r := res[0]; r.Status != btrfs.DedupeSame || r.Bytes != 128<<10+4096 || r.Calls != 3 {
		t.Errorf("same: %+v", r)
	}
	if r := res[1]; r.Status != btrfs.DedupeDiffers || r.Bytes != 64<<10 || r.Calls != 2 {
		t.Errorf("differs in its second range: %+v", r)
	}
	if !testfs.Shares(t, src, same) {
		t.Errorf("same does not share src's extents")
	}
	for _, p := range []string{src, same} {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil || st.Blocks*512 != 128<<10 {
			t.Errorf("%s: %d bytes allocated (%v), want its two islands", p, st.Blocks*512, err)
		}
	}
}

func TestIdleIOPriority(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := btrfs.SetIdleIOPriorityAllThreads(); err != nil {
		t.Fatal(err)
	}
	prio, err := btrfs.IOPriority(0)
	if err != nil || !btrfs.IsIdleIOPriority(prio) {
		t.Errorf("IOPriority = %#x, %v; want the idle class", prio, err)
	}
}

func TestCloneDefragSyncfsFlags(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(9, 1<<20)
	// Written backwards in synced 16 KiB pieces, the file is fragmented
	// enough for defrag to rewrite it.
	src := fs.Path("src")
	w, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	for off := len(data) - 16<<10; off >= 0; off -= 16 << 10 {
		if _, err := w.WriteAt(data[off:off+16<<10], int64(off)); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if n := len(testfs.Extents(t, src)); n < 8 {
		t.Fatalf("source has %d extents, want a fragmented file", n)
	}
	dst := testfs.WriteFile(t, fs.Path("dst"), nil)
	sf := openFile(t, src)
	df, err := os.OpenFile(dst, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	if err := btrfs.Clone(df, sf); err != nil {
		t.Fatal(err)
	}
	if !testfs.Shares(t, src, dst) || !testfs.SameContent(t, src, dst) {
		t.Fatal("clone did not share src's extents")
	}
	if err := btrfs.Syncfs(sf); err != nil {
		t.Fatal(err)
	}
	// Defragmenting unshares: the copy gets extents of its own.
	if err := btrfs.Defrag(openFile(t, dst)); err != nil {
		t.Fatal(err)
	}
	if err := btrfs.Syncfs(sf); err != nil {
		t.Fatal(err)
	}
	if testfs.Shares(t, src, dst) {
		t.Error("defrag left the clone shared (expected unsharing since Linux 3.12)")
	}
	if !testfs.SameContent(t, src, dst) {
		t.Error("defrag changed the content")
	}
	nocow := testfs.WriteNocow(t, fs.Path("nocow"), data)
	flags, err := btrfs.GetFlags(openFile(t, nocow))
	if err != nil || flags&btrfs.FlagNocow == 0 {
		t.Errorf("GetFlags(nocow) = %#x, %v", flags, err)
	}
}

func TestOpenSubvolumeAndPrivateMount(t *testing.T) {
	fs := testfs.New(t)
	fs.Subvolume(t, "a")
	fs.Subvolume(t, "a/b")
	testfs.WriteFile(t, fs.Path("a/b/f"), []byte("x"))
	fs.Snapshot(t, "a", "ro", true)
	top := openDir(t, fs.Mnt)
	subs, err := btrfs.ListSubvolumes(top)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		d, err := btrfs.OpenSubvolume(top, s.ID)
		if err != nil {
			t.Errorf("OpenSubvolume(%d %q): %v", s.ID, s.Path, err)
			continue
		}
		if s.Path == "a/b" {
			if _, err := os.Stat(fmt.Sprintf("/proc/self/fd/%d/f", d.Fd())); err != nil {
				t.Errorf("file in subvolume a/b not reachable through its handle-opened root: %v", err)
			}
		}
		d.Close()
	}
	if _, err := btrfs.OpenSubvolume(top, 9999); err == nil {
		t.Error("opened a subvolume that does not exist")
	}

	// A second, unmounted filesystem mounted privately: visible to us, not in
	// any mount table, gone once closed.
	img := filepath.Join(t.TempDir(), "img")
	testfs.WriteFile(t, img, nil)
	if err := os.Truncate(img, 200<<20); err != nil {
		t.Fatal(err)
	}
	testfs.Run(t, "mkfs.btrfs", "-q", img)
	dev := strings.TrimSpace(testfs.Run(t, "losetup", "--find", "--show", img))
	defer testfs.Run(t, "losetup", "-d", dev)
	d, err := btrfs.MountPrivate(dev)
	if err != nil {
		t.Fatal(err)
	}
	info, err := btrfs.GetFSInfo(d)
	if err != nil {
		t.Fatalf("private mount is not Btrfs: %v", err)
	}
	sysfs := "/sys/fs/btrfs/" + info.UUID()
	if err := os.WriteFile(fmt.Sprintf("/proc/self/fd/%d/written", d.Fd()), []byte("x"), 0o644); err != nil {
		t.Errorf("private mount not writable: %v", err)
	}
	// Other test packages mount and unmount meanwhile, so look for this
	// device only.
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mounts), " "+dev+" ") {
		t.Errorf("private mount of %s visible in the mount table:\n%s", dev, mounts)
	}
	d.Close()
	gone := false
	for i := 0; i < 100 && !gone; i++ {
		_, err := os.Stat(sysfs)
		gone = errors.Is(err, os.ErrNotExist)
		time.Sleep(10 * time.Millisecond)
	}
	if !gone {
		t.Errorf("%s still there: the private mount outlived its descriptor", sysfs)
	}
	// Once closed, the filesystem is unmounted: mounting it normally works and
	// shows the file written through the private mount.
	mnt := t.TempDir()
	testfs.Run(t, "mount", dev, mnt)
	defer testfs.Run(t, "umount", mnt)
	if _, err := os.Stat(filepath.Join(mnt, "written")); err != nil {
		t.Errorf("file written through the private mount: %v", err)
	}
}
