package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/volume"
)

func (a *app) showCmd() *cobra.Command {
	var db dbFlags
	var showDeleted bool
	cmd := &cobra.Command{
		Use:   "show [UUID|DEVICE|MOUNTPOINT]",
		Short: "Show the Btrfs filesystems and what is tracked on them",
		Long: `List the Btrfs filesystems plugged in (and those known only to the tracking
database), their devices and subvolumes, and for each subvolume the
generation it was last scanned at, how many files are tracked, and where it
is mounted. Per filesystem, the totals of what bedup has deduplicated.

With an argument, show only the filesystem with that UUID, on that device,
or mounted at (or containing) that path.

It only reads the database, so it works while another bedup runs.`,
		Args: argsRange(0, 1),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			return a.show(cmd.Context(), &db, args, showDeleted)
		}),
	}
	db.add(cmd)
	cmd.Flags().BoolVar(&showDeleted, "show-deleted", false, "also list deleted subvolumes the database remembers")
	return cmd
}

func (a *app) show(ctx context.Context, dbf *dbFlags, args []string, showDeleted bool) error {
	if len(args) == 1 && !strings.HasPrefix(args[0], "/") {
		if _, err := volume.ParseUUID(args[0]); err != nil {
			return usagef("%q is neither a filesystem UUID nor an absolute path", args[0])
		}
	}
	inv, err := volume.Inventory()
	if err != nil {
		return err
	}
	defer inv.Close()
	db, haveDB, err := dbf.openReadOnly(ctx)
	if err != nil {
		return err
	}
	if haveDB {
		defer db.Close()
	}
	live := map[string]*volume.Filesystem{}
	for _, f := range inv.Filesystems {
		live[f.UUID] = f
	}
	var known []store.Filesystem
	if haveDB {
		if known, err = db.Filesystems(ctx); err != nil {
			return err
		}
	}
	var only string // UUID selected by the argument
	if len(args) == 1 {
		if only, err = selectFilesystem(args[0], inv.Filesystems, known); err != nil {
			return err
		}
	}
	w := a.Out
	for _, f := range inv.Filesystems {
		if only != "" && f.UUID != only {
			continue
		}
		label := f.Label
		if label == "" {
			label = "None"
		}
		fmt.Fprintf(w, "Label: %s UUID: %s\n", label, f.UUID)
		for _, d := range f.Devices {
			fmt.Fprintf(w, "  Device: %s\n", d)
		}
		var row *store.Filesystem
		for i := range known {
			if known[i].UUID == f.UUID {
				row = &known[i]
			}
		}
		if err := a.showVolumes(ctx, w, db, row, f, showDeleted); err != nil {
			return err
		}
	}
	for i := range known {
		k := &known[i]
		if live[k.UUID] != nil || (only != "" && k.UUID != only) {
			continue
		}
		fmt.Fprintf(w, "UUID: %s\n  <no device available>\n", k.UUID)
		if err := a.showVolumes(ctx, w, db, k, nil, showDeleted); err != nil {
			return err
		}
	}
	return nil
}

// selectFilesystem finds the filesystem a show argument names.
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
		return "", usagef("%q is neither a filesystem UUID nor an absolute path", arg)
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

// showVolumes prints the volumes of one filesystem: those the database
// knows (row, may be nil) and those its live root tree has (f, may be nil).
func (a *app) showVolumes(ctx context.Context, w io.Writer, db *store.DB, row *store.Filesystem, f *volume.Filesystem, showDeleted bool) error {
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
	deleted := 0
	for _, id := range ids {
		e := byID[id]
		suffix := ""
		switch {
		case liveKnown && e.live == nil:
			if !showDeleted {
				deleted++
				continue
			}
			suffix = " (deleted)"
		case e.live != nil && e.live.ReadOnly:
			suffix = " (frozen)"
		}
		fmt.Fprintf(w, "  Volume %d%s\n", id, suffix)
		if e.db != nil {
			if c := counts[e.db.ID]; c[0] > 0 {
				fmt.Fprintf(w, "    As of generation %d, tracking %d inodes of size at least %d (%d not yet deduplicated)\n",
					e.db.LastGeneration, c[0], e.db.SizeCutoff, c[1])
			}
		}
		switch {
		case e.live != nil:
			if d := f.Describe(e.live.Path); strings.HasPrefix(d, "/") {
				fmt.Fprintf(w, "    Accessible at %s\n", d)
			} else {
				fmt.Fprintf(w, "    Internal path %s\n", "/"+e.live.Path)
			}
		case e.db != nil:
			if p, ok, err := db.LastPath(ctx, e.db.ID); err != nil {
				return err
			} else if ok {
				fmt.Fprintf(w, "    Last seen at %s\n", p)
			}
		}
	}
	if deleted > 0 {
		fmt.Fprintf(w, "  Skipped %d deleted volumes\n", deleted)
	}
	if row != nil {
		t, err := db.Totals(ctx, row.ID)
		if err != nil {
			return err
		}
		var tracked int64
		for _, c := range counts {
			tracked += c[0]
		}
		fmt.Fprintf(w, "  Tracking %d inodes; deduplicated %d files (%s shared, %s freed) in %d dedup events\n",
			tracked, t.Files, humanBytes(t.BytesDeduplicated), humanBytes(t.BytesFreed), t.Events)
	}
	return nil
}
