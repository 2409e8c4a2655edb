package cli

import (
	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/glob"
	"github.com/bedup/bedup/internal/run"
	"github.com/bedup/bedup/internal/ui"
)

// trackFlags are the flags of the commands that scan (scan, dedup).
type trackFlags struct {
	db            dbFlags
	output        outputFlags
	sizeCutoff    string
	flush         bool // accepted for the original's scripts: now the default
	noFlush       bool
	noCrossvol    bool
	includeFrozen bool
	exclude       []string
}

func (f *trackFlags) add(cmd *cobra.Command) {
	f.db.add(cmd)
	f.db.addWait(cmd)
	f.output.add(cmd, true)
	cmd.Flags().StringVar(&f.sizeCutoff, "size-cutoff", "", "track only files of at least this size, e.g. 1M or 1.5M (stored per volume; default 128K)")
	cmd.Flags().BoolVar(&f.flush, "flush", false, "commit each filesystem's pending writes first (the default; see --no-flush)")
	cmd.Flags().BoolVar(&f.noFlush, "no-flush", false, "do not commit pending writes first: files written in the last seconds wait for the next run")
	cmd.Flags().BoolVar(&f.noCrossvol, "no-crossvol", false, "deduplicate each subvolume on its own")
	cmd.Flags().BoolVar(&f.includeFrozen, "include-frozen", false, "include read-only subvolumes (snapshots) that were not named")
	cmd.Flags().StringArrayVar(&f.exclude, "exclude", nil, "leave files whose path matches `GLOB` out of deduplication (repeatable; see below)")
}

// options turns the flags into run options.
func (f *trackFlags) options(filters []string) (run.TrackOptions, error) {
	o := run.TrackOptions{Filters: filters, NoFlush: f.noFlush, NoCrossvol: f.noCrossvol, IncludeFrozen: f.includeFrozen}
	if f.flush && f.noFlush {
		return o, usagef("--flush and --no-flush exclude each other")
	}
	ex, err := glob.Compile(f.exclude)
	if err != nil {
		return o, usagef("--exclude: %v", err)
	}
	o.Exclude = ex
	if f.sizeCutoff != "" {
		n, err := parseSize(f.sizeCutoff)
		if err != nil {
			return o, usagef("--size-cutoff: %v", err)
		}
		if n == 0 {
			return o, usagef("--size-cutoff must be at least 1 byte")
		}
		o.SizeCutoff = n
	}
	return o, nil
}

const filterHelp = `FILTER selects what to work on (default: every subvolume of every mounted,
writable Btrfs filesystem, read-only snapshots left out):
  UUID            a whole filesystem, by its UUID (mounted privately for the
                  run if no read-write mount shows it)
  /dev/DEVICE     the filesystem on that device
  DIRECTORY       any directory, relative or absolute: only the files below
                  it (a subvolume's root: that subvolume and the subvolumes
                  below it, read-only ones left out)
  vol:/PATH       that subvolume only (read-only or not)
Several filters are deduplicated together.`

// excludeHelp explains --exclude (trackFlags).
const excludeHelp = `--exclude GLOB leaves the files whose path matches GLOB out of
deduplication: neither shared from nor into. GLOB is a shell pattern
matched against the whole path as bedup prints it, where * and ? match "/"
too: '*.iso' leaves out every .iso file, '/mnt/data/cache/*' everything
below that directory, '*/.cache/*' everything below any .cache directory.
Quote it from the shell. A file with several names (hard links) is left out
when any name matches. Scans record every file regardless; left-out files
count as excluded in the summary and are not looked at again until they
change, or their size group gains a new or changed file, even if the
pattern goes away ('bedup reset' starts over).`

func (a *app) scanCmd() *cobra.Command {
	var f trackFlags
	cmd := &cobra.Command{
		Use:   "scan [FILTER...]",
		Short: "Track new and changed files, without deduplicating",
		Long: `Scan subvolumes for files that are new or changed since the last scan and
record them in the tracking database as candidates for 'bedup dedup'. Only
the b-tree leaves written since the generation the last scan reached are
read, so a rescan of unchanged data takes milliseconds. No file is opened.
Each filesystem's pending writes are committed first (syncfs), so files
written just before are seen; --no-flush skips that.

One line per subvolume on standard output: the generations scanned, the
size cutoff, and how many files were recorded as new or changed. With
--json, JSON Lines events ending in a summary (docs/json.md).

` + filterHelp + "\n\n" + excludeHelp,
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			o, err := f.options(args)
			if err != nil {
				return err
			}
			p, err := a.printer(cmd, &f.output, ui.Options{Stream: true})
			if err != nil {
				return err
			}
			t, err := run.Discover(o)
			if err != nil {
				return err
			}
			defer t.Close()
			db, err := f.db.open(cmd.Context(), p)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := t.Scan(cmd.Context(), db, o, p); err != nil {
				return err
			}
			var sum run.Summary
			for _, v := range t.Volumes {
				sum.Volumes++
				sum.Retained += v.Result.Retained
			}
			if f.output.json {
				p.Summary(sum)
			}
			return db.Close()
		}),
	}
	f.add(cmd)
	return cmd
}
