package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/run"
	"github.com/bedup/bedup/internal/ui"
)

func (a *app) dedupFilesCmd() *cobra.Command {
	var defrag, fdupes, null bool
	var out outputFlags
	cmd := &cobra.Command{
		Use:   "dedup-files [--defrag] SRC DEST... | --fdupes [-0]",
		Short: "Make files with the same contents as SRC share its extents",
		Long: `Make each DEST share SRC's data extents, where its contents are identical to
SRC's. The kernel compares the bytes and shares them atomically
(FIDEDUPERANGE), so a file that differs, or that another program changes
meanwhile, is never altered. Content, times, owner, mode, flags and extended
attributes of every file stay as they were; files are opened read-only, so
running executables and files in read-only snapshots work (as root).

One line per DEST on standard output, in order:
  shared: DEST (N bytes)        DEST now shares SRC's extents; N counts the
                                data, not holes the two files have alike
                                (those stay holes)
  already shared: DEST          it did already; nothing was done
  empty: DEST                   both files are empty; nothing to share
  inline: DEST                  SRC's data is stored inline in its metadata
                                (small files); the kernel cannot share it
  differs: DEST                 contents or sizes differ; nothing was shared
  skipped: DEST (REASON)        the kernel would refuse it (NOCOW mismatch,
                                immutable file, active swap file, ...)

All files must be regular files on one Btrfs filesystem, and SRC must not
also be a DEST; otherwise nothing is done.

--defrag defragments SRC first. Since Linux 3.12 that unshares SRC's extents
from snapshots and other copies, which can cost space instead of freeing it.

` + fdupesHelp + `With --json, JSON Lines events ending in a summary (docs/json.md).

Exit status: 0 when every DEST shares SRC's data afterwards (with --fdupes,
its group's source's), 1 otherwise.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if fdupes || null {
				return fdupesArgs(args, defrag, null && !fdupes)
			}
			return argsRange(2, -1)(cmd, args)
		},
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			p, err := a.printer(cmd, &out, ui.Options{Stream: true})
			if err != nil {
				return err
			}
			if fdupes {
				return a.dedupFdupes(cmd.Context(), p, null)
			}
			files := make([]dedupe.File, 0, len(args))
			defer func() {
				for _, f := range files {
					f.F.Close()
				}
			}()
			var fsid [16]byte
			for i, p := range args {
				f, err := btrfs.OpenFile(p)
				if err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				d, err := dedupe.Describe(f)
				if err != nil {
					f.Close()
					return fmt.Errorf("%s: %w", p, err)
				}
				files = append(files, d)
				info, err := btrfs.GetFSInfo(f)
				if btrfs.IsNotBtrfs(err) {
					return fmt.Errorf("%s: not on a Btrfs filesystem", p)
				}
				if err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				if i == 0 {
					fsid = info.FSID
				} else if info.FSID != fsid {
					return fmt.Errorf("%s: on another filesystem than %s", p, args[0])
				}
				for j, prev := range files[:i] {
					if prev.Dev == d.Dev && prev.Ino == d.Ino {
						if j == 0 {
							return fmt.Errorf("%s: is the source file %s itself", p, args[0])
						}
						return fmt.Errorf("%s: names the same file as %s", p, args[j])
					}
				}
			}
			src, dests := files[0], files[1:]
			if defrag {
				p.Notice(run.Notice{Code: run.NoticeDefrag})
				if err := btrfs.Defrag(src.F); err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
			}
			if err := cmd.Context().Err(); err != nil {
				return err
			}
			res, err := dedupe.Share(src, dests, dedupe.ShareOptions{NoSharedShortcut: defrag})
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			sum := ui.FilesSummary{Source: args[0], Destinations: len(dests)}
			for i, r := range res {
				p.FileResult(ui.FileResult{Path: args[i+1], Result: r})
				if !r.Outcome.Done() {
					sum.NotDone++
				}
				if r.Outcome == dedupe.OutcomeShared {
					sum.BytesShared += int64(r.Bytes)
				}
			}
			p.FilesSummary(sum)
			notDone := sum.NotDone
			if notDone > 0 {
				return fmt.Errorf("%d of %d destinations do not share the data of %s", notDone, len(dests), args[0])
			}
			return nil
		}),
	}
	out.add(cmd, false)
	cmd.Flags().BoolVar(&defrag, "defrag", false, "defragment SRC first (unshares it from snapshots; see above)")
	cmd.Flags().BoolVar(&fdupes, "fdupes", false, "read groups of identical files from standard input, as fdupes and jdupes print them")
	cmd.Flags().BoolVarP(&null, "null", "0", false, "with --fdupes: paths end with NUL, groups with an empty path (jdupes -0)")
	return cmd
}
