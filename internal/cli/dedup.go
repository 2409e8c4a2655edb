package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/scan"
	"github.com/bedup/bedup/internal/ui"
)

func (a *app) dedupCmd(name string, hidden bool) *cobra.Command {
	var f trackFlags
	var defrag bool
	var ioThreads int
	cmd := &cobra.Command{
		Use:    name + " [FILTER...]",
		Hidden: hidden,
		Short:  "Scan, then make identical files share their data (the main job)",
		Long: `Scan the selected subvolumes (see 'bedup scan'), then, per filesystem, find
the tracked files with identical contents among the size groups that have a
new or changed member, and make them share one copy of their data extents.

Files already sharing their extents are recognised from their extent maps
and never read; a file is read only when its extent map changed since it was
last hashed. The kernel compares the bytes before it shares anything
(FIDEDUPERANGE), so a file changed meanwhile keeps its new content. No
file's content, times, owner, mode, flags or attributes change.

The copy a read-only snapshot pins is used as the source, so its writable
twins free their space without writing into the snapshot. Files that cannot
be shared (NOCOW next to normal files, immutable, in use as swap, changed
meanwhile) are skipped with a notice on standard error; the run goes on.

At the end, a summary on standard output: size groups examined, files
shared, bytes deduplicated, bytes freed (estimated from the extents the
shared copies held alone), files skipped by reason, time taken.

` + filterHelp,
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			if name == "dedup-vol" {
				fmt.Fprintln(a.Err, "bedup: dedup-vol is deprecated; use dedup")
			}
			if ioThreads < 0 {
				return usagef("--io-threads must be 0 (automatic) or more")
			}
			ctx := cmd.Context()
			start := time.Now()
			set, db, scanned, err := a.track(ctx, args, &f)
			if err != nil {
				return err
			}
			defer set.Close()
			defer db.Close()
			if defrag {
				fmt.Fprintln(a.Err, "bedup: warning: --defrag unshares sources from snapshots and reflinked copies (Linux 3.12 and later); it can cost space")
			}
			// One pass per filesystem, or per volume with --no-crossvol.
			type passVols struct {
				desc string
				fsID int64
				vols []dedupe.Volume
				rot  bool
			}
			var passes []*passVols
			byKey := map[string]*passVols{}
			for _, t := range scanned {
				key, desc := t.v.FS.UUID, t.v.FS.Desc()
				if f.noCrossvol {
					key, desc = fmt.Sprintf("%s/%d", key, t.v.ID), t.v.Desc
				}
				pv := byKey[key]
				if pv == nil {
					pv = &passVols{desc: desc, fsID: t.r.FSID, rot: t.v.FS.Rotational()}
					byKey[key] = pv
					passes = append(passes, pv)
				}
				pv.vols = append(pv.vols, dedupe.Volume{StoreID: t.r.VolID, V: t.v, Writable: t.writable})
			}
			status := ui.NewStatus(a.Err)
			defer status.Done()
			var total dedupe.Stats
			for _, pv := range passes {
				threads := ioThreads
				if threads == 0 {
					// Virtual and loop disks often call themselves rotational;
					// two readers cost a real disk little and a virtual one much
					// less than one reader would.
					threads = 4
					if pv.rot {
						threads = 2
					}
				}
				desc := func(id uint64) string {
					for _, v := range pv.vols {
						if v.V.ID == id {
							return v.V.Desc
						}
					}
					return fmt.Sprintf("<subvolume %d>", id)
				}
				st, err := dedupe.Run(ctx, db, pv.fsID, pv.vols, dedupe.Options{
					Defrag:    defrag,
					IOThreads: threads,
					Events: func(e dedupe.Event) {
						switch e := e.(type) {
						case dedupe.Skipped:
							status.Notice("bedup: %s", skippedLine(e, desc))
						case dedupe.Progress:
							p := e
							eta := "?"
							if p.BytesDone > 0 && p.BytesTotal > p.BytesDone {
								el := time.Since(p.Started)
								eta = ui.Duration(time.Duration(float64(el) * float64(p.BytesTotal-p.BytesDone) / float64(p.BytesDone)))
							}
							status.Update("%s: size group %d/%d (%s), read %s, shared %s, ETA %s",
								pv.desc, p.Group, p.Groups, humanBytes(int64(p.Size)), humanBytes(p.BytesRead), humanBytes(p.BytesDeduped), eta)
						}
					},
				})
				total.Add(st)
				if err != nil {
					status.Done()
					a.summary(total, time.Since(start))
					return err
				}
			}
			// Bring the scan positions past bedup's own shares while their
			// b-tree leaves are still cached: they were recorded as no
			// change, and the next run then starts from here instead of
			// walking them cold.
			if total.FilesShared > 0 {
				for _, t := range scanned {
					if _, err := scan.Volume(ctx, db, t.v, scan.Options{Exclude: excludes(db, t.v)}); err != nil {
						status.Done()
						a.summary(total, time.Since(start))
						return err
					}
				}
			}
			status.Done()
			a.summary(total, time.Since(start))
			return nil
		}),
	}
	f.add(cmd)
	if name == "dedup" {
		cmd.Flags().BoolVar(&defrag, "defrag", false, "defragment each source first (unshares it from snapshots: usually costs space)")
	}
	cmd.Flags().IntVar(&ioThreads, "io-threads", 0, "files read at once (0: 2 on disks that say they spin, 4 otherwise)")
	return cmd
}

// summary prints the final report of a dedup run on stdout.
func (a *app) summary(s dedupe.Stats, elapsed time.Duration) {
	w := a.Out
	fmt.Fprintf(w, "size groups examined: %d (%d already shared)\n", s.Groups, s.AlreadyShared)
	fmt.Fprintf(w, "files shared: %d\n", s.FilesShared)
	fmt.Fprintf(w, "bytes deduplicated: %d (%s)\n", s.BytesDeduped, humanBytes(s.BytesDeduped))
	fmt.Fprintf(w, "bytes freed (estimate): %d (%s)\n", s.BytesFreed, humanBytes(s.BytesFreed))
	fmt.Fprintf(w, "data read: %d (%s; %d files hashed, %d sampled)\n", s.BytesRead, humanBytes(s.BytesRead), s.FilesHashed, s.FilesSampled)
	fmt.Fprintf(w, "dedupe calls: %d\n", s.DedupeCalls)
	var skipped []string
	n := 0
	for r, c := range s.Skipped {
		skipped = append(skipped, fmt.Sprintf("%d %s", c, describeReason(r)))
		n += c
	}
	sort.Strings(skipped)
	if n == 0 {
		fmt.Fprintln(w, "files skipped: 0")
	} else {
		fmt.Fprintf(w, "files skipped: %d (%s)\n", n, strings.Join(skipped, "; "))
	}
	if s.Dropped > 0 {
		fmt.Fprintf(w, "deleted files forgotten: %d\n", s.Dropped)
	}
	fmt.Fprintf(w, "elapsed: %.2f s (examining %.2f s, reading %.2f s, sharing %.2f s)\n",
		elapsed.Seconds(), s.ExamineTime.Seconds(), s.ReadTime.Seconds(), s.ShareTime.Seconds())
}
