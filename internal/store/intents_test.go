package store

import (
	"context"
	"reflect"
	"testing"
)

// LogIntents logs every intent with its participants in order, past one
// multi-row statement's worth of rows, under the ids SQLite gives rows one
// by one (the next after the largest, so resolved newest ones are given
// again), which PendingIntents lists back.
func TestLogIntents(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	fs, _ := d.EnsureFilesystem(ctx, "u", "")
	v, _ := d.EnsureVolume(ctx, fs.ID, 5, 1)
	intents := func(n, inodes int) []Intent {
		var out []Intent
		for i := range n {
			in := Intent{FSID: fs.ID, Size: uint64(1000 + i), Freed: uint64(i)}
			for pos := range 1 + i%inodes {
				in.Inodes = append(in.Inodes, IntentInode{VolID: v.ID, RootID: 5, Ino: uint64(300 + 10*i + pos), Generation: uint64(pos)})
			}
			out = append(out, in)
		}
		return out
	}
	var logged []PendingIntent
	for _, c := range []struct {
		name     string
		intents  []Intent
		firstID  int64
		resolved int // the newest, resolved after logging
	}{
		{"one", intents(1, 1), 1, 0},
		{"a window", intents(200, 4), 2, 0},
		{"past a statement", intents(3000, 3), 202, 1000},
		{"after the newest were resolved", intents(5, 2), 2202, 0},
	} {
		ids, err := d.LogIntents(ctx, c.intents)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for i, id := range ids {
			if id != c.firstID+int64(i) {
				t.Fatalf("%s: ids %d..., want from %d", c.name, ids[0], c.firstID)
			}
			logged = append(logged, PendingIntent{ID: id, Intent: c.intents[i]})
		}
		keep := len(logged) - c.resolved
		for _, p := range logged[keep:] {
			if err := d.ResolveIntent(ctx, p.ID, nil, 0); err != nil {
				t.Fatal(err)
			}
		}
		logged = logged[:keep]
	}
	got, err := d.PendingIntents(ctx, fs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, logged) {
		t.Errorf("pending intents differ from the logged ones (%d and %d)", len(got), len(logged))
	}
}
