package scan_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/bedup/bedup/internal/scan"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/testfs"
	"github.com/bedup/bedup/internal/volume"
)

// benchFiles is the size of the benchmark tree; BEDUP_BENCH_FILES
// overrides the default million.
func benchFiles() int {
	if n, err := strconv.Atoi(os.Getenv("BEDUP_BENCH_FILES")); err == nil && n > 0 {
		return n
	}
	return 1000000
}

func benchVolume(b *testing.B) *volume.Volume {
	b.Helper()
	fs := testfs.MountImage(b, testfs.ManyFilesImage(b, benchFiles()))
	set, err := volume.Discover([]string{"vol:" + fs.Mnt}, volume.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(set.Close)
	return set.Volumes[0]
}

func openDB(b *testing.B) *store.DB {
	b.Helper()
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "db.sqlite"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkFirstScan measures a first scan of every file (cutoff 1 byte)
// into a fresh store: inodes per second and peak RSS.
func BenchmarkFirstScan(b *testing.B) {
	v := benchVolume(b)
	var r scan.Result
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		db := openDB(b)
		b.StartTimer()
		var err error
		if r, err = scan.Volume(context.Background(), db, v, scan.Options{SizeCutoff: 1}); err != nil {
			b.Fatal(err)
		}
		if r.Retained != benchFiles() {
			b.Fatalf("retained %d of %d files", r.Retained, benchFiles())
		}
	}
	b.ReportMetric(float64(r.Retained)/r.Elapsed.Seconds(), "inodes/s")
	b.ReportMetric(float64(r.Items), "items")
	b.ReportMetric(float64(testfs.PeakRSS())/(1<<20), "peakRSS-MiB")
}

// BenchmarkRescanUnchanged measures a rescan when nothing changed: the
// generation check alone.
func BenchmarkRescanUnchanged(b *testing.B) {
	v := benchVolume(b)
	db := openDB(b)
	if _, err := scan.Volume(context.Background(), db, v, scan.Options{SizeCutoff: 1}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		r, err := scan.Volume(context.Background(), db, v, scan.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if !r.Unchanged || r.Items != 0 {
			b.Fatalf("rescan of an unchanged volume: %+v", r)
		}
	}
	b.ReportMetric(float64(testfs.PeakRSS())/(1<<20), "peakRSS-MiB")
}
