package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/scan"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/volume"
)

// trackFlags are the flags of the commands that scan (scan, dedup).
type trackFlags struct {
	db            dbFlags
	sizeCutoff    string
	flush         bool
	noCrossvol    bool
	includeFrozen bool
}

func (f *trackFlags) add(cmd *cobra.Command) {
	f.db.add(cmd)
	cmd.Flags().StringVar(&f.sizeCutoff, "size-cutoff", "", "track only files of at least this size, e.g. 1M (stored per volume; default 128K)")
	cmd.Flags().BoolVar(&f.flush, "flush", false, "commit each filesystem's pending writes first, so they are seen now")
	cmd.Flags().BoolVar(&f.noCrossvol, "no-crossvol", false, "deduplicate each subvolume on its own")
	cmd.Flags().BoolVar(&f.includeFrozen, "include-frozen", false, "include read-only subvolumes (snapshots) that were not named")
}

const filterHelp = `FILTER selects what to work on (default: every subvolume of every mounted,
writable Btrfs filesystem, read-only snapshots left out):
  UUID            a whole filesystem, by its UUID (mounted privately for the
                  run if no read-write mount shows it)
  /dev/DEVICE     the filesystem on that device
  /PATH           the subvolume whose root directory is PATH, and the
                  subvolumes below it (read-only ones left out)
  vol:/PATH       that subvolume only (read-only or not)`

// tracked is a scanned volume.
type tracked struct {
	v        *volume.Volume
	r        scan.Result
	writable bool // selected, not only a source
}

// track discovers the volumes of filters, opens the database and scans
// every volume, printing one line per volume.
func (a *app) track(ctx context.Context, filters []string, f *trackFlags) (*volume.Set, *store.DB, []tracked, error) {
	var cutoff uint64
	if f.sizeCutoff != "" {
		var err error
		if cutoff, err = parseSize(f.sizeCutoff); err != nil {
			return nil, nil, nil, &UsageError{Err: fmt.Errorf("--size-cutoff: %w", err)}
		}
		if cutoff == 0 {
			return nil, nil, nil, usagef("--size-cutoff must be at least 1 byte")
		}
	}
	set, err := a.discover(filters, volume.Options{IncludeFrozen: f.includeFrozen})
	if err != nil {
		return nil, nil, nil, err
	}
	db, err := f.db.open(ctx)
	if err != nil {
		set.Close()
		return nil, nil, nil, err
	}
	a.notices(set)
	if len(set.Volumes) == 0 && len(filters) == 0 {
		fmt.Fprintln(a.Err, "bedup: no mounted, writable Btrfs filesystem found: nothing to do")
	}
	if err := btrfs.SetIdleIOPriorityAllThreads(); err != nil {
		fmt.Fprintf(a.Err, "bedup: cannot lower I/O priority: %v\n", err)
	}
	vols := set.Volumes
	if !f.noCrossvol {
		// Read-only subvolumes nobody asked to write into still serve as
		// sources; alone (--no-crossvol) they could not serve anything.
		vols = append(vols[:len(vols):len(vols)], set.Sources...)
	}
	var results []tracked
	for i, v := range vols {
		r, err := scan.Volume(ctx, db, v, scan.Options{SizeCutoff: cutoff, Flush: f.flush, Exclude: excludes(db, v)})
		if err != nil {
			db.Close()
			set.Close()
			return nil, nil, nil, err
		}
		results = append(results, tracked{v: v, r: r, writable: i < len(set.Volumes)})
		role := ""
		if i >= len(set.Volumes) {
			role = " (read-only, source only)"
		}
		if r.Unchanged {
			fmt.Fprintf(a.Out, "%s%s: unchanged since generation %d\n", v.Desc, role, r.To)
			continue
		}
		fmt.Fprintf(a.Out, "%s%s: generations %d to %d, size cutoff %d: %d new or changed, %d dropped (%d items in %.2f s)\n",
			v.Desc, role, r.From, r.To, r.Cutoff, r.Retained, r.Dropped, r.Items, r.Elapsed.Seconds())
	}
	return set, db, results, nil
}

func (a *app) scanCmd() *cobra.Command {
	var f trackFlags
	cmd := &cobra.Command{
		Use:   "scan [FILTER...]",
		Short: "Track new and changed files, without deduplicating",
		Long: `Scan subvolumes for files that are new or changed since the last scan and
record them in the tracking database as candidates for 'bedup dedup'. Only
the b-tree leaves written since the generation the last scan reached are
read, so a rescan of unchanged data takes milliseconds. No file is opened.

One line per subvolume on standard output: the generations scanned, the
size cutoff, and how many files were recorded as new or changed.

` + filterHelp,
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			set, db, _, err := a.track(cmd.Context(), args, &f)
			if err != nil {
				return err
			}
			set.Close()
			return db.Close()
		}),
	}
	f.add(cmd)
	return cmd
}
