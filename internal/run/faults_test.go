package run

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
)

// recorder is a Reporter that keeps what it is told.
type recorder struct {
	notices []Notice
	events  []dedupe.Event
}

func (r *recorder) Notice(n Notice)                             { r.notices = append(r.notices, n) }
func (r *recorder) VolumeScanned(VolumeScan)                    {}
func (r *recorder) ScanProgress(VolumeScan)                     {}
func (r *recorder) DedupeEvent(_ FilesystemRef, e dedupe.Event) { r.events = append(r.events, e) }

// A subvolume deleted during a run is a notice and its files are
// forgotten; the run succeeds (it used to fail at the end, rescanning the
// subvolume: "get subvolume info: no such file or directory").
func TestSubvolumeDeletedMidRun(t *testing.T) {
	for _, at := range []dedupe.HookPoint{dedupe.HookRead, dedupe.HookCommit} {
		t.Run(string(at), func(t *testing.T) {
			fs := testfs.New(t)
			keep, gone := fs.Subvolume(t, "keep"), fs.Subvolume(t, "gone")
			var pairs [][2]string
			for i := range 4 {
				data := testfs.Bytes(uint64(i), 100<<10+i)
				pairs = append(pairs, [2]string{
					testfs.WriteFile(t, filepath.Join(keep, "a", string(rune('a'+i))), data),
					testfs.WriteFile(t, filepath.Join(keep, "b", string(rune('a'+i))), data)})
				testfs.WriteFile(t, filepath.Join(gone, "a", string(rune('a'+i))), data)
			}
			ctx := context.Background()
			db, err := store.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			o := DedupOptions{TrackOptions: TrackOptions{Filters: []string{fs.Mnt}, SizeCutoff: 4096}, Window: 2}
			tr, err := Discover(o.TrackOptions)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			var once sync.Once // hooks come from several goroutines
			dedupe.TestHook = func(p dedupe.HookPoint) {
				if p == at {
					once.Do(func() { testfs.Run(t, "btrfs", "-q", "subvolume", "delete", gone) })
				}
			}
			defer func() { dedupe.TestHook = nil }()
			rec := &recorder{}
			sum, err := tr.Dedup(ctx, db, o, rec)
			if err != nil {
				t.Fatalf("dedup with a subvolume deleted midway: %v", err)
			}
			var noticed int
			for _, n := range rec.notices {
				if n.Code == NoticeVolumeGone && n.Subject == gone {
					noticed++
				}
			}
			if noticed != 1 {
				t.Errorf("notices %+v: want one volume-gone for %s", rec.notices, gone)
			}
			for _, p := range pairs {
				if !testfs.Shares(t, p[0], p[1]) {
					t.Errorf("%s not shared with %s", p[1], p[0])
				}
			}
			if sum.Total.Deferred != 0 {
				t.Errorf("summary %+v", sum.Total)
			}
			tracked := 0
			for _, tv := range tr.Volumes {
				rows, err := db.Inodes(ctx, tv.Result.VolID)
				if err != nil {
					t.Fatal(err)
				}
				if tv.V.Desc == gone {
					tracked += len(rows)
				}
			}
			if tracked != 0 {
				t.Errorf("%d files of the deleted subvolume still tracked", tracked)
			}
		})
	}
}
