package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/volume"
)

// ShowReport is what show prints: every Btrfs filesystem plugged in or
// known to the database, its subvolumes and what is tracked on them.
type ShowReport struct {
	Filesystems []ShowFilesystem
}

// ShowFilesystem is one filesystem of a ShowReport.
type ShowFilesystem struct {
	UUID      string
	Label     string
	Devices   []string
	Available bool // plugged in (false: known only to the database)
	Volumes   []ShowVolume
	// DeletedHidden counts deleted subvolumes the database remembers that
	// were left out (without ShowDeleted).
	DeletedHidden int
	Known         bool  // the database tracks it
	Tracked       int64 // inodes tracked on it
	Totals        store.DedupTotals
}

// ShowVolume is one subvolume of a ShowFilesystem.
type ShowVolume struct {
	ID       uint64
	ReadOnly bool
	Deleted  bool
	// Tracking, when Tracked > 0: as of Generation, Tracked inodes of at
	// least SizeCutoff bytes, Flagged of them not yet deduplicated.
	Generation, SizeCutoff uint64
	Tracked, Flagged       int64
	// Where it is: a mounted path (Accessible), its path inside the
	// filesystem (Internal), or the last path a scan saw (LastSeen).
	Accessible, Internal, LastSeen string
}

// ShowOptions say what show covers.
type ShowOptions struct {
	// Only is a UUID, a device or a path naming one filesystem ("" for all).
	Only string
	// ShowDeleted includes deleted subvolumes the database remembers.
	ShowDeleted bool
}

// Show joins the plugged-in filesystems with what db (nil when there is no
// database yet) knows of them.
func Show(ctx context.Context, db *store.DB, o ShowOptions) (ShowReport, error) {
	var rep ShowReport
	inv, err := volume.Inventory()
	if err != nil {
		return rep, err
	}
	defer inv.Close()
	var known []store.Filesystem
	if db != nil {
		if known, err = db.Filesystems(ctx); err != nil {
			return rep, err
		}
	}
	only := ""
	if o.Only != "" {
		if only, err = selectFilesystem(o.Only, inv.Filesystems, known); err != nil {
			return rep, err
		}
	}
	row := func(uuid string) *store.Filesystem {
		for i := range known {
			if known[i].UUID == uuid {
				return &known[i]
			}
		}
		return nil
	}
	live := map[string]bool{}
	for _, f := range inv.Filesystems {
		live[f.UUID] = true
		if only != "" && f.UUID != only {
			continue
		}
		sf := ShowFilesystem{UUID: f.UUID, Label: f.Label, Devices: f.Devices, Available: true}
		if err := showVolumes(ctx, db, row(f.UUID), f, o.ShowDeleted, &sf); err != nil {
			return rep, err
		}
		rep.Filesystems = append(rep.Filesystems, sf)
	}
	for i := range known {
		k := &known[i]
		if live[k.UUID] || (only != "" && k.UUID != only) {
			continue
		}
		sf := ShowFilesystem{UUID: k.UUID, Label: k.Label}
		if err := showVolumes(ctx, db, k, nil, o.ShowDeleted, &sf); err != nil {
			return rep, err
		}
		rep.Filesystems = append(rep.Filesystems, sf)
	}
	return rep, nil
}

// NotAFilesystemError is a show argument that names no filesystem in a
// form show understands: a usage error.
type NotAFilesystemError struct{ Arg string }

func (e *NotAFilesystemError) Error() string {
	return fmt.Sprintf("%q is neither a filesystem UUID nor an absolute path", e.Arg)
}

// selectFilesystem finds the UUID of the filesystem a show argument names.
func selectFilesystem(arg string, live []*volume.Filesystem, known []store.Filesystem) (string, error) {
	if u, err := volume.ParseUUID(arg); err == nil {
		for _, f := range live {
			if f.UUID == u {
				return u, nil
			}
		}
		for _, k := range known {
			if k.UUID == u {
				return u, nil
			}
		}
		return "", fmt.Errorf("%s: no such filesystem, plugged in or known", arg)
	}
	if !strings.HasPrefix(arg, "/") {
		return "", &NotAFilesystemError{Arg: arg}
	}
	if st, err := os.Stat(arg); err == nil && st.Mode()&os.ModeDevice != 0 {
		for _, f := range live {
			for _, d := range f.Devices {
				if ds, err := os.Stat(d); err == nil && os.SameFile(ds, st) {
					return f.UUID, nil
				}
			}
		}
		return "", fmt.Errorf("%s: no Btrfs filesystem on this device", arg)
	}
	d, err := btrfs.OpenDir(arg)
	if err != nil {
		return "", fmt.Errorf("%s: %w", arg, err)
	}
	defer d.Close()
	info, err := btrfs.GetFSInfo(d)
	if btrfs.IsNotBtrfs(err) {
		return "", fmt.Errorf("%s: %w", arg, volume.ErrNotBtrfs)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", arg, err)
	}
	return info.UUID(), nil
}

// showVolumes fills in the volumes of one filesystem: those the database
// knows (row, may be nil) and those its live root tree has (f, may be nil).
func showVolumes(ctx context.Context, db *store.DB, row *store.Filesystem, f *volume.Filesystem, showDeleted bool, out *ShowFilesystem) error {
	type entry struct {
		db   *store.Volume
		live *btrfs.Subvolume
	}
	byID := map[uint64]*entry{}
	get := func(id uint64) *entry {
		if byID[id] == nil {
			byID[id] = &entry{}
		}
		return byID[id]
	}
	var counts map[int64][2]int64
	if row != nil {
		out.Known = true
		vols, err := db.Volumes(ctx, row.ID)
		if err != nil {
			return err
		}
		for i := range vols {
			get(vols[i].RootID).db = &vols[i]
		}
		if counts, err = db.InodeCounts(ctx, row.ID); err != nil {
			return err
		}
		if out.Totals, err = db.Totals(ctx, row.ID); err != nil {
			return err
		}
		for _, c := range counts {
			out.Tracked += c[0]
		}
	}
	liveKnown := false
	if f != nil && f.Top() != nil {
		subs, err := f.Subvolumes()
		if err != nil && !errors.Is(err, os.ErrPermission) {
			return err
		}
		liveKnown = err == nil
		for i := range subs {
			if !subs[i].Deleted {
				get(subs[i].ID).live = &subs[i]
			}
		}
	}
	ids := make([]uint64, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		e := byID[id]
		v := ShowVolume{ID: id, Deleted: liveKnown && e.live == nil}
		if v.Deleted && !showDeleted {
			out.DeletedHidden++
			continue
		}
		if e.live != nil {
			v.ReadOnly = e.live.ReadOnly
			if d := f.Describe(e.live.Path); strings.HasPrefix(d, "/") {
				v.Accessible = d
			} else {
				v.Internal = "/" + e.live.Path
			}
		}
		if e.db != nil {
			c := counts[e.db.ID]
			v.Generation, v.SizeCutoff, v.Tracked, v.Flagged = e.db.LastGeneration, e.db.SizeCutoff, c[0], c[1]
			if e.live == nil {
				p, ok, err := db.LastPath(ctx, e.db.ID)
				if err != nil {
					return err
				}
				if ok {
					v.LastSeen = p
				}
			}
		}
		out.Volumes = append(out.Volumes, v)
	}
	return nil
}
