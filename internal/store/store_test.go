package store

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func openTemp(t testing.TB) *DB {
	t.Helper()
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestOpenAndLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	d, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A second writer fails at once and names this process.
	_, err = Open(ctx, path, Options{})
	if err == nil || !strings.Contains(err.Error(), "in use by bedup (pid "+strconv.Itoa(os.Getpid())+")") {
		t.Errorf("second open: %v", err)
	}
	// A reader does not need the lock.
	r, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open while locked: %v", err)
	}
	r.Close()
	d.Close()
	d, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen after close: %v", err)
	}
	defer d.Close()
	var v int
	if err := d.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != SchemaVersion {
		t.Errorf("user_version = %d, %v", v, err)
	}
	if s, err := d.IntegrityCheck(ctx); err != nil || s != "ok" {
		t.Errorf("integrity check: %q, %v", s, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	notDB := filepath.Join(dir, "text")
	content := []byte(strings.Repeat("this is not a database\n", 100))
	if err := os.WriteFile(notDB, content, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, path, want string
		o                Options
	}{
		{"missing directory", filepath.Join(dir, "missing", "db.sqlite"), "no such file or directory", Options{}},
		{"not SQLite", notDB, "not a bedup database", Options{}},
		{"read-only missing", filepath.Join(dir, "none.sqlite"), "nothing tracked yet", Options{ReadOnly: true}},
	} {
		d, err := Open(ctx, c.path, c.o)
		if err == nil {
			d.Close()
			t.Errorf("%s: opened", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if got, _ := os.ReadFile(notDB); string(got) != string(content) {
		t.Error("the non-database file was changed")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left behind: %v", ents)
	}
}

func TestTracking(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	fs, err := d.EnsureFilesystem(ctx, "0123", "lab")
	if err != nil {
		t.Fatal(err)
	}
	v, err := d.EnsureVolume(ctx, fs.ID, 5, 4096)
	if err != nil || v.Scanned || v.SizeCutoff != 4096 {
		t.Fatalf("new volume %+v, %v", v, err)
	}
	w := d.NewScanWriter(ctx, v.ID)
	for i := range uint64(1000) {
		if err := w.Upsert(InodeRow{Ino: 256 + i, Size: 4096 * (1 + i%3), Generation: 7, Transid: 9}); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := w.Delete(300); err != nil || !ok {
		t.Fatalf("Delete(300) = %v, %v", ok, err)
	}
	if ok, err := w.Delete(5000); err != nil || ok {
		t.Fatalf("Delete(untracked) = %v, %v", ok, err)
	}
	if err := w.Finish(42, 4096); err != nil {
		t.Fatal(err)
	}
	v2, err := d.EnsureVolume(ctx, fs.ID, 5, 1)
	if err != nil || !v2.Scanned || v2.LastGeneration != 42 || v2.LastCutoff != 4096 || v2.SizeCutoff != 4096 || v2.ID != v.ID {
		t.Fatalf("volume after scan %+v, %v", v2, err)
	}
	counts, err := d.InodeCounts(ctx, fs.ID)
	if err != nil || counts[v.ID] != [2]int64{999, 999} {
		t.Errorf("counts %v, %v", counts, err)
	}
	ins, err := d.InodesOfSize(ctx, 8192)
	if err != nil || len(ins) != 333 || ins[0].Ino != 257 || ins[0].RootID != 5 || ins[0].FSUUID != "0123" {
		t.Errorf("InodesOfSize: %d rows, first %+v, %v", len(ins), ins[0], err)
	}
	if err := d.ResetVolume(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	v3, _ := d.EnsureVolume(ctx, fs.ID, 5, 1)
	if v3.Scanned || v3.LastGeneration != 0 || v3.SizeCutoff != 4096 {
		t.Errorf("after reset %+v", v3)
	}
	if err := d.ForgetFilesystem(ctx, fs.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := d.FilesystemByUUID(ctx, "0123"); ok {
		t.Error("filesystem still known after forget")
	}
	var n int
	d.db.QueryRow("SELECT count(*) FROM Volume").Scan(&n)
	if n != 0 {
		t.Errorf("%d volumes survive their filesystem", n)
	}
}

// BenchmarkScanWriter measures first-scan upserts into the store.
func BenchmarkScanWriter(b *testing.B) {
	ctx := context.Background()
	d := openTemp(b)
	fs, _ := d.EnsureFilesystem(ctx, "u", "")
	v, _ := d.EnsureVolume(ctx, fs.ID, 5, 1)
	w := d.NewScanWriter(ctx, v.ID)
	b.ResetTimer()
	for i := range b.N {
		if err := w.Upsert(InodeRow{Ino: uint64(256 + i), Size: uint64(i*7919) % (1 << 30), Generation: 7, Transid: 9}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Finish(1, 1); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inodes/s")
}
