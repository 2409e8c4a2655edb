package volume

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/mountinfo"
)

// Filesystem is a Btrfs filesystem bedup can see.
type Filesystem struct {
	UUID    string
	Label   string
	Devices []string
	// Mounts are its Btrfs mounts in this mount namespace, in mount order.
	Mounts []mountinfo.Mount
	// Private is set when bedup mounted it itself, invisibly (see
	// btrfs.MountPrivate), because it was named but not mounted read-write.
	Private bool

	top     *os.File // an open directory of the filesystem, or nil
	desc    string
	subvols []btrfs.Subvolume
}

// Desc names the filesystem in output: its label when no other known
// filesystem has the same one, else its UUID in braces (SPEC §3.6).
func (f *Filesystem) Desc() string { return f.desc }

// Writable reports whether it has at least one read-write mount.
func (f *Filesystem) Writable() bool {
	for _, m := range f.Mounts {
		if !m.ReadOnly() {
			return true
		}
	}
	return false
}

// Top is an open directory of the filesystem (any subvolume), through
// which its trees are searched and its files opened by handle; nil for a
// filesystem that is plugged in but not mounted, and, in a set from
// Discover, for every filesystem that no filter selected.
func (f *Filesystem) Top() *os.File { return f.top }

// Subvolumes lists the filesystem's subvolumes from its root tree (cached).
func (f *Filesystem) Subvolumes() ([]btrfs.Subvolume, error) {
	if f.subvols != nil {
		return f.subvols, nil
	}
	if f.top == nil {
		return nil, fmt.Errorf("filesystem %s is not mounted", f.desc)
	}
	s, err := btrfs.ListSubvolumes(f.top)
	if err != nil {
		return nil, fmt.Errorf("filesystem %s: %w", f.desc, err)
	}
	f.subvols = s
	return s, nil
}

// Describe names a subvolume (path from the top level) the way a user
// would reach it: through the mount with the longest root that covers it
// (a real path), else "<filesystem>/<path>" (not a real path).
func (f *Filesystem) Describe(subvolPath string) string {
	p := "/" + subvolPath
	best, bestLen := "", -1
	if !f.Private {
		for _, m := range f.Mounts {
			r := m.Root
			var rest string
			switch {
			case r == p:
			case r == "/":
				rest = p
			case strings.HasPrefix(p, r+"/"):
				rest = p[len(r):]
			default:
				continue
			}
			if len(r) > bestLen {
				best, bestLen = path.Join(m.MountPoint, rest), len(r)
			}
		}
	}
	if bestLen >= 0 {
		return best
	}
	return path.Join(f.desc, subvolPath)
}

// Volume is an open subvolume.
type Volume struct {
	FS       *Filesystem
	ID       uint64 // subvolume id (5 = top level)
	Path     string // from the top level, "" for 5
	Desc     string // how output names it (a real path when one is known)
	ReadOnly bool
	Dir      *os.File // its root directory
	// Dirs restricts the volume to the files below these directories
	// (inode numbers in this subvolume, each with its whole subtree); nil
	// means the whole volume. A filter naming a directory that is not a
	// subvolume's root sets it.
	Dirs []uint64
}

// Set is the result of Discover: the volumes to work on, the filesystems
// they belong to, and notices worth telling the user (skipped filesystems
// and subvolumes). Close it when done.
type Set struct {
	Filesystems []*Filesystem
	Volumes     []*Volume
	// Sources are the read-only subvolumes of the selected filesystems that
	// were left out of Volumes (not named, no --include-frozen). They may
	// serve as sources to share from, never as destinations: sharing from
	// the copy a snapshot pins frees its writable twins.
	Sources []*Volume
	Notices []Notice
	inv     *inventory
}

// Close closes every descriptor the set holds; a private mount goes away
// with its last one.
func (s *Set) Close() {
	for _, v := range s.Volumes {
		v.Dir.Close()
	}
	for _, v := range s.Sources {
		v.Dir.Close()
	}
	s.inv.close()
}

// Options change which volumes Discover includes.
type Options struct {
	// IncludeFrozen includes read-only subvolumes (snapshots) that would
	// otherwise be skipped because they were not named.
	IncludeFrozen bool
}

// Discover resolves filters (none = every mounted, writable filesystem) to
// open volumes, in order and without repeats.
func Discover(filters []string, o Options) (*Set, error) {
	parsed := make([]Filter, 0, len(filters))
	for _, s := range filters {
		f, err := ParseFilter(s)
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, f)
	}
	inv, err := newInventory(false)
	if err != nil {
		return nil, err
	}
	set := &Set{inv: inv}
	d := &discovery{set: set, o: o, seen: map[string]bool{}, sources: map[string]bool{}, fsSeen: map[*Filesystem]bool{}}
	if len(parsed) == 0 {
		err = d.all()
	}
	for _, f := range parsed {
		if err != nil {
			break
		}
		switch f.Kind {
		case ByUUID:
			err = d.byUUID(f)
		case ByDevice:
			err = d.byDevice(f)
		default:
			err = d.byPath(f)
		}
	}
	if err != nil {
		set.Close()
		return nil, err
	}
	d.dropSelectedSources()
	d.releaseUnselected()
	return set, nil
}

type discovery struct {
	set     *Set
	o       Options
	seen    map[string]bool // uuid/id of volumes already in the set
	sources map[string]bool // uuid/id of volumes in Sources
	fsSeen  map[*Filesystem]bool
}

func (d *discovery) add(v *Volume) {
	key := fmt.Sprintf("%s/%d", v.FS.UUID, v.ID)
	if d.seen[key] {
		d.merge(v) // a directory restriction may widen
		v.Dir.Close()
		return
	}
	d.seen[key] = true
	d.set.Volumes = append(d.set.Volumes, v)
	if !d.fsSeen[v.FS] {
		d.fsSeen[v.FS] = true
		d.set.Filesystems = append(d.set.Filesystems, v.FS)
	}
}

// place adds v to the set, or, when it is read-only and read-only volumes
// are not included, to the sources; it reports whether it became a source.
func (d *discovery) place(v *Volume) (source bool) {
	if v.ReadOnly && !d.o.IncludeFrozen {
		d.source(v)
		return true
	}
	d.add(v)
	return false
}

// source keeps a read-only volume that was not selected as a possible
// source, unless it is (or later becomes) a selected volume.
func (d *discovery) source(v *Volume) {
	key := fmt.Sprintf("%s/%d", v.FS.UUID, v.ID)
	if d.seen[key] || d.sources[key] {
		v.Dir.Close()
		return
	}
	d.sources[key] = true
	d.set.Sources = append(d.set.Sources, v)
}

// dropSelectedSources removes from Sources the volumes that were selected
// after all (named by a later filter).
func (d *discovery) dropSelectedSources() {
	kept := d.set.Sources[:0]
	for _, v := range d.set.Sources {
		if d.seen[fmt.Sprintf("%s/%d", v.FS.UUID, v.ID)] {
			v.Dir.Close()
			continue
		}
		kept = append(kept, v)
	}
	d.set.Sources = kept
}

func (d *discovery) notice(kind NoticeKind, subject string, count int) {
	d.set.Notices = append(d.set.Notices, Notice{Kind: kind, Subject: subject, Count: count})
}

// all adds every subvolume of every filesystem with a read-write mount.
func (d *discovery) all() error {
	for _, f := range d.set.inv.fss {
		if !f.Writable() {
			d.notice(NoticeNotReadWrite, f.desc, 0)
			continue
		}
		if err := d.wholeFS(f); err != nil {
			return err
		}
	}
	return nil
}

// wholeFS adds every subvolume of f but the read-only ones (unless
// IncludeFrozen), by file handle through its top directory.
func (d *discovery) wholeFS(f *Filesystem) error {
	if err := f.open(); err != nil {
		return err
	}
	subs, err := f.Subvolumes()
	if err != nil {
		return err
	}
	subs = sortedByPath(subs)
	frozen := 0
	for _, s := range subs {
		if s.Deleted {
			continue
		}
		dir, err := btrfs.OpenSubvolume(f.top, s.ID)
		if err != nil {
			return fmt.Errorf("filesystem %s: %w", f.desc, err)
		}
		v := &Volume{FS: f, ID: s.ID, Path: s.Path, Desc: f.Describe(s.Path), ReadOnly: s.ReadOnly, Dir: dir}
		if d.place(v) {
			frozen++
		}
	}
	if frozen > 0 {
		d.notice(NoticeSourcesOnly, f.desc, frozen)
	}
	return nil
}

// sortedByPath orders subvolumes depth first (a parent before its
// children), the top level first.
func sortedByPath(subs []btrfs.Subvolume) []btrfs.Subvolume {
	out := append([]btrfs.Subvolume(nil), subs...)
	sort.SliceStable(out, func(i, j int) bool { return pathLess(out[i].Path, out[j].Path) })
	return out
}

// pathLess compares slash-separated paths component by component, so that
// "a/b" sorts right after "a" and before "a-b".
func pathLess(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}

func (d *discovery) byUUID(flt Filter) error {
	f := d.set.inv.byUUID[flt.UUID]
	if f == nil {
		if err := d.set.inv.addPlugged(); err != nil {
			return err
		}
		f = d.set.inv.byUUID[flt.UUID]
	}
	if f == nil {
		return fmt.Errorf("%s: no Btrfs filesystem with this UUID is plugged in", flt.Arg)
	}
	return d.namedFS(f)
}

// namedFS adds the whole of a filesystem the user named, mounting it
// privately when no read-write mount shows it.
func (d *discovery) namedFS(f *Filesystem) error {
	if !f.Writable() && !f.Private {
		if len(f.Devices) == 0 {
			return fmt.Errorf("filesystem %s: no device known to mount it from", f.desc)
		}
		top, err := btrfs.MountPrivate(f.Devices[0])
		if err != nil {
			return fmt.Errorf("filesystem %s is not mounted read-write and could not be mounted: %w", f.desc, err)
		}
		if f.top != nil {
			f.top.Close()
		}
		f.top, f.Private, f.subvols = top, true, nil
	}
	return d.wholeFS(f)
}

func (d *discovery) byDevice(flt Filter) error {
	real, err := filepath.EvalSymlinks(flt.Path)
	if err != nil {
		return fmt.Errorf("%s: %w", flt.Path, unwrapPath(err))
	}
	st, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("%s: %w", flt.Path, unwrapPath(err))
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || st.Mode()&os.ModeDevice == 0 || st.Mode()&os.ModeCharDevice != 0 {
		return fmt.Errorf("%s: not a block device", flt.Path)
	}
	if f := d.fsWithDevice(sys.Rdev); f != nil {
		return d.namedFS(f)
	}
	sb, err := btrfs.ReadSuperblock(real)
	if errors.Is(err, btrfs.ErrNoSuperblock) {
		return fmt.Errorf("%s: no Btrfs filesystem on this device", flt.Path)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", flt.Path, err)
	}
	f := d.set.inv.byUUID[sb.UUID()]
	if f == nil {
		// Other devices of a multi-device filesystem.
		if err := d.set.inv.addPlugged(); err != nil {
			return err
		}
		f = d.set.inv.byUUID[sb.UUID()]
	}
	if f == nil {
		f = &Filesystem{UUID: sb.UUID(), Label: sb.Label, Devices: []string{real}}
		d.set.inv.add(f)
		d.set.inv.describe()
	}
	if !contains(f.Devices, real) {
		f.Devices = append([]string{real}, f.Devices...)
	}
	return d.namedFS(f)
}

// fsWithDevice finds a known filesystem one of whose devices is rdev.
func (d *discovery) fsWithDevice(rdev uint64) *Filesystem {
	for _, f := range d.set.inv.fss {
		for _, dev := range f.Devices {
			if st, err := os.Stat(dev); err == nil {
				if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Rdev == rdev {
					return f
				}
			}
		}
	}
	return nil
}

// byPath adds the subvolume whose root is the path and, unless vol:, the
// subvolumes below it. A directory that is not a subvolume's root names
// the files below it (byDir).
func (d *discovery) byPath(flt Filter) error {
	root, err := Open(flt.Path)
	if errors.Is(err, ErrNotSubvolume) && flt.Kind == ByPath {
		return d.byDir(flt)
	}
	if err != nil {
		return pathError(flt, err)
	}
	dir, info := root.Dir, root.FS
	sv, err := btrfs.GetSubvolInfo(dir)
	if err != nil {
		dir.Close()
		return fmt.Errorf("%s: %w", flt.Path, err)
	}
	f, err := d.filesystemAt(info, flt.Path)
	if err != nil {
		dir.Close()
		return err
	}
	subs, err := f.Subvolumes()
	if err != nil {
		dir.Close()
		return err
	}
	var named btrfs.Subvolume
	for _, s := range subs {
		if s.ID == sv.ID {
			named = s
		}
	}
	d.add(&Volume{FS: f, ID: sv.ID, Path: named.Path, Desc: flt.Path, ReadOnly: sv.ReadOnly, Dir: dir})
	if flt.Kind == ByVol {
		return nil
	}
	if sv.ID != btrfs.FSTreeObjectID {
		d.notice(NoticeNotTopLevel, flt.Path, 0)
	}
	return d.subvolumesBelow(f, subs, named.Path, flt.Path)
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Rotational reports whether any device of the filesystem is a spinning
// disk (sysfs queue/rotational), where parallel reads only add seeks.
func (f *Filesystem) Rotational() bool {
	ents, _ := os.ReadDir(filepath.Join("/sys/fs/btrfs", f.UUID, "devices"))
	for _, e := range ents {
		dev := filepath.Join("/sys/fs/btrfs", f.UUID, "devices", e.Name())
		for _, p := range []string{"queue/rotational", "../queue/rotational"} {
			if b, err := os.ReadFile(filepath.Join(dev, p)); err == nil {
				if strings.TrimSpace(string(b)) == "1" {
					return true
				}
				break
			}
		}
	}
	return false
}
