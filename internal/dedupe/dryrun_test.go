package dedupe

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/testfs"
)

// A dry run reads what it must and reports every set it would share, with
// the bytes it would free, but changes no file and writes nothing to the
// database; a real run afterwards shares exactly those sets.
func TestDryRun(t *testing.T) {
	fs := testfs.New(t)
	src, sv := fs.Subvolume(t, "src"), fs.Subvolume(t, "sv")
	a := testfs.WriteFile(t, src+"/a", testfs.Bytes(1, 1<<20+5))
	fs.Snapshot(t, "src", "src-snap", true)
	copyOf(t, a, sv+"/a1")
	copyOf(t, a, sv+"/a2")
	b := testfs.WriteFile(t, sv+"/b", testfs.Bytes(2, 300<<10))
	copyOf(t, b, sv+"/b1")
	reflink(t, copyOf(t, b, sv+"/b2"), sv+"/b3")
	imm := copyOf(t, b, sv+"/imm")
	testfs.AddFlags(t, imm, btrfs.FlagImmutable)
	c := testfs.WriteFile(t, sv+"/c", testfs.Bytes(3, 200<<10))
	copyOf(t, c, sv+"/c1")
	gone := copyOf(t, c, sv+"/gone")
	e := newEnv(t, fs, "")
	if err := os.Remove(gone); err != nil { // tracked, then deleted
		t.Fatal(err)
	}
	fs.Sync(t)
	files := allFiles(t, fs.Mnt)
	states, extents := testfs.States(t, files...), map[string][]btrfs.Extent{}
	for _, p := range files {
		extents[p] = testfs.Extents(t, p)
	}
	used := fs.DataUsed(t)
	e.close(t)
	db := e.dbBytes(t)
	e.open(t)

	dry, dryEvents := e.run(t, Options{DryRun: true, ResolvePaths: true})
	e.close(t)
	if !bytes.Equal(e.dbBytes(t), db) {
		t.Error("the dry run changed the database")
	}
	e.open(t)
	for _, p := range files {
		if got := testfs.Extents(t, p); !slices.Equal(got, extents[p]) {
			t.Errorf("the dry run changed the extents of %s:\n%+v\n%+v", p, extents[p], got)
		}
	}
	testfs.Unchanged(t, states)
	if fs.DataUsed(t) != used {
		t.Error("the dry run changed the data usage")
	}
	// The immutable copy of b pins its extents: it is the source, and b2
	// with its reflink b3 is merged too.
	wantSets := []string{"src/a <- sv/a1 sv/a2", "sv/c <- sv/c1", "sv/imm <- sv/b sv/b1 sv/b2 sv/b3"}
	if got := e.sharedSets(dryEvents); !reflect.DeepEqual(got, wantSets) {
		t.Errorf("dry run sets %q, want %q", got, wantSets)
	}
	for _, s := range of[Shared](dryEvents) {
		if !s.DryRun {
			t.Errorf("dry run event without DryRun: %+v", s)
		}
	}
	if dry.DedupeCalls != 0 || dry.FilesShared != 7 || dry.BytesFreed == 0 || dry.Dropped != 1 || len(dry.Skipped) != 0 {
		t.Errorf("dry run stats %+v", dry)
	}

	real, realEvents := e.run(t, Options{ResolvePaths: true})
	if got := e.sharedSets(realEvents); !reflect.DeepEqual(got, wantSets) {
		t.Errorf("real run sets %q, want %q", got, wantSets)
	}
	for _, s := range of[Shared](realEvents) {
		for _, d := range s.Dests {
			if s.DryRun || !testfs.Shares(t, s.Source.Path, d.Path) {
				t.Errorf("%s does not share %s's extents (%+v)", d.Path, s.Source.Path, s)
			}
		}
	}
	if real.FilesShared != dry.FilesShared || real.BytesDeduped != dry.BytesDeduped ||
		real.BytesFreed != dry.BytesFreed || real.Dropped != dry.Dropped ||
		!reflect.DeepEqual(real.Skipped, dry.Skipped) || real.DedupeCalls == 0 {
		t.Errorf("real run stats %+v\ndry run stats %+v", real, dry)
	}
	if freed := int64(used) - int64(fs.DataUsed(t)); freed != real.BytesFreed {
		t.Errorf("freed %d bytes, the dry run said %d", freed, dry.BytesFreed)
	}
	if tot, err := e.db.Totals(context.Background(), e.fsID); err != nil || tot.Events != 3 || tot.BytesFreed != dry.BytesFreed {
		t.Errorf("logged %+v, %v", tot, err)
	}
}
