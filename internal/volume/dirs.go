package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/bedup/bedup/internal/btrfs"
)

// byDir adds, for a directory that is not a subvolume's root, the
// subvolume holding it restricted to the files below it (Volume.Dirs),
// and, whole, the subvolumes whose roots are below it (read-only ones as
// sources only, unless IncludeFrozen), as for a subvolume's path.
func (d *discovery) byDir(flt Filter) error {
	dir, err := btrfs.OpenDir(flt.Path)
	if err != nil {
		return pathError(flt, fmt.Errorf("%s: %w", flt.Path, err))
	}
	defer dir.Close()
	info, err := btrfs.GetFSInfo(dir)
	if btrfs.IsNotBtrfs(err) {
		return fmt.Errorf("%s: %w", flt.Path, ErrNotBtrfs)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", flt.Path, err)
	}
	st, err := btrfs.Fstat(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", flt.Path, err)
	}
	sv, err := btrfs.GetSubvolInfo(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", flt.Path, err)
	}
	rel, _, err := btrfs.InoLookup(dir, sv.ID, st.Ino)
	if err != nil {
		return fmt.Errorf("%s: %w", flt.Path, err)
	}
	f, err := d.filesystemAt(info, flt.Path)
	if err != nil {
		return err
	}
	subs, err := f.Subvolumes()
	if err != nil {
		return err
	}
	var named btrfs.Subvolume
	for _, s := range subs {
		if s.ID == sv.ID {
			named = s
		}
	}
	root, err := btrfs.OpenSubvolume(f.top, sv.ID)
	if err != nil {
		return fmt.Errorf("%s: %w", flt.Path, err)
	}
	d.add(&Volume{FS: f, ID: sv.ID, Path: named.Path, Desc: rootDesc(f, named.Path, flt.Path, rel),
		ReadOnly: sv.ReadOnly, Dir: root, Dirs: []uint64{st.Ino}})
	return d.subvolumesBelow(f, subs, path.Join(named.Path, rel), flt.Path)
}

// rootDesc names the root of the subvolume holding directory p (at rel
// inside it) the way the user reached it: p without rel when p ends with
// it (no symlink or bind mount in between), else as the filesystem knows
// it.
func rootDesc(f *Filesystem, subvolPath, p, rel string) string {
	if real, err := filepath.EvalSymlinks(p); err == nil {
		if r, ok := strings.CutSuffix(real, "/"+rel); ok && r != "" {
			return r
		}
	}
	return f.Describe(subvolPath)
}

// merge widens the volume already in the set with v's key: a whole volume
// stays whole, and directory restrictions add up.
func (d *discovery) merge(v *Volume) {
	for _, o := range d.set.Volumes {
		if o.FS != v.FS || o.ID != v.ID || o.Dirs == nil {
			continue
		}
		if v.Dirs == nil {
			o.Dirs = nil
			continue
		}
		for _, ino := range v.Dirs {
			if !containsIno(o.Dirs, ino) {
				o.Dirs = append(o.Dirs, ino)
			}
		}
	}
}

func containsIno(list []uint64, x uint64) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// subvolumesBelow adds every subvolume whose path (from the top level)
// is below top, skipping the read-only ones unless IncludeFrozen (they
// become sources). userPath is where the user named top, for descriptions.
func (d *discovery) subvolumesBelow(f *Filesystem, subs []btrfs.Subvolume, top, userPath string) error {
	frozen := 0
	// Parents come before children in path order, whatever their ids.
	for _, s := range sortedByPath(subs) {
		rel, below := strings.CutPrefix(s.Path, top+"/")
		if top == "" {
			rel, below = s.Path, s.Path != ""
		}
		if s.Deleted || !below {
			continue
		}
		child, err := btrfs.OpenSubvolume(f.top, s.ID)
		if err != nil {
			return fmt.Errorf("%s: %w", userPath, err)
		}
		v := &Volume{FS: f, ID: s.ID, Path: s.Path, Desc: path.Join(userPath, rel), ReadOnly: s.ReadOnly, Dir: child}
		if d.place(v) {
			frozen++
		}
	}
	if frozen > 0 {
		d.notice(NoticeSourcesOnly, userPath, frozen)
	}
	return nil
}

// filesystemAt returns the filesystem that path (on it, described by info)
// belongs to, with an open directory to work through.
func (d *discovery) filesystemAt(info btrfs.FSInfo, p string) (*Filesystem, error) {
	f := d.set.inv.byUUID[info.UUID()]
	if f == nil {
		// On Btrfs but through no mount we could open (a mount namespace
		// or chroot we do not see): work through the path itself.
		f = &Filesystem{UUID: info.UUID()}
		f.Label, f.Devices = sysfsInfo(f.UUID)
		d.set.inv.byUUID[f.UUID] = f
		d.set.inv.fss = append(d.set.inv.fss, f)
		d.set.inv.describe()
	}
	if f.top == nil {
		top, err := btrfs.OpenDir(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		f.top = top
	}
	return f, nil
}

// pathError words a failure to open a path filter: a relative one that
// does not exist may as well have been a mistyped UUID.
func pathError(flt Filter, err error) error {
	if flt.Relative && errors.Is(err, fs.ErrNotExist) {
		return &FilterError{flt.Arg, "no such file or directory, and not a filesystem UUID"}
	}
	return err
}
