package dedupe

import (
	"slices"
	"testing"
)

func TestPlanSet(t *testing.T) {
	const s = 1 << 20 // a file's bytes
	type f = instanceFacts
	var (
		src   = roleSource
		merge = roleMerge
		keep  = roleKeep
	)
	tests := []struct {
		name string
		set  []f
		want []role
	}{
		{"empty", nil, []role{}},
		{"plain copies: the lowest inode is the source",
			[]f{{Writable: 1, Allocated: s, Subvol: 256, Ino: 301}, {Writable: 1, Allocated: s, Subvol: 256, Ino: 300}, {Writable: 1, Allocated: s, Subvol: 256, Ino: 302}},
			[]role{merge, src, merge}},
		{"plain: a reflinked pair is the source",
			[]f{{Writable: 1, Allocated: s, Ino: 300}, {Writable: 2, SharedBytes: s, Allocated: s, Ino: 301}},
			[]role{merge, src}},
		{"plain: a copy shared outside the set is the source",
			[]f{{Writable: 2, Allocated: s, Ino: 300}, {Writable: 1, SharedBytes: s, Allocated: s, Ino: 301}},
			[]role{merge, src}},
		{"plain: the sparse copy is the source",
			[]f{{Writable: 1, Allocated: s, Ino: 300}, {Writable: 1, Allocated: s / 2, Ino: 301}},
			[]role{merge, src}},
		{"plain: the lower subvolume before the lower inode",
			[]f{{Writable: 1, Subvol: 257, Ino: 300}, {Writable: 1, Subvol: 256, Ino: 900}},
			[]role{merge, src}},
		{"pinned by a snapshot: the source, every other copy merged",
			[]f{{Writable: 1, Allocated: s, Subvol: 256, Ino: 300}, {ReadOnly: 1, Writable: 1, SharedBytes: s, Allocated: s, Subvol: 256, Ino: 301}, {Writable: 1, Allocated: s, Subvol: 258}},
			[]role{merge, src, merge}},
		{"pinned wins over more shared bytes",
			[]f{{Writable: 2, SharedBytes: s, Allocated: s, Subvol: 256}, {ReadOnly: 1, Allocated: s, Subvol: 300}},
			[]role{merge, src}},
		{"an immutable file pins its instance",
			[]f{{Writable: 1, Allocated: s, Ino: 300}, {Immutable: 1, Allocated: s, Ino: 301}},
			[]role{merge, src}},
		{"a writable copy on an extent another snapshot pins stays",
			[]f{{ReadOnly: 1, Writable: 2, SharedBytes: s, Allocated: s, Subvol: 257}, {ReadOnly: 1, Writable: 1, SharedBytes: s, Allocated: s, Subvol: 256}},
			[]role{src, keep}},
		{"among pinned instances, the one with more writable copies",
			[]f{{ReadOnly: 2, Writable: 1, SharedBytes: s, Subvol: 256}, {ReadOnly: 1, Writable: 3, SharedBytes: s, Subvol: 300}},
			[]role{keep, src}},
		// Two read-only instances pin their extents and a writable copy
		// joins one of them: the old rule (most shared, then all files
		// read-only) then preferred the other one, and moved the copy
		// back and forth on alternate runs.
		{"flip-flop, first run",
			[]f{{ReadOnly: 2, SharedBytes: s, Allocated: s, Subvol: 257}, {ReadOnly: 2, SharedBytes: s, Allocated: s, Subvol: 258}, {Writable: 1, Allocated: s, Subvol: 256}},
			[]role{src, keep, merge}},
		{"flip-flop, next run: the copy stays",
			[]f{{ReadOnly: 2, Writable: 1, SharedBytes: s, Allocated: s, Subvol: 256}, {ReadOnly: 2, SharedBytes: s, Allocated: s, Subvol: 258}},
			[]role{src, keep}},
		{"flip-flop, next run with the other source: the copy stays",
			[]f{{ReadOnly: 2, Writable: 1, SharedBytes: s / 2, Allocated: s, Subvol: 256}, {ReadOnly: 2, SharedBytes: s, Allocated: s, Subvol: 258}},
			[]role{keep, src}},
		// s1/x with home/x, and s2/y on other extents: s2/y could only be
		// merged by writing into s2, which nobody named: it is kept (and
		// remembered). Named, s2 is writable and y is merged.
		{"only mergeable by writing into an unnamed snapshot",
			[]f{{ReadOnly: 1, Writable: 1, SharedBytes: s, Allocated: s, Subvol: 256}, {ReadOnly: 1, Allocated: s, Subvol: 258}},
			[]role{src, keep}},
		{"the same with the snapshot named",
			[]f{{ReadOnly: 1, Writable: 1, SharedBytes: s, Allocated: s, Subvol: 256}, {Writable: 1, Allocated: s, Subvol: 258}},
			[]role{src, merge}},
		{"nothing writable: nothing merged",
			[]f{{ReadOnly: 1, Subvol: 257}, {ReadOnly: 1, Subvol: 258}, {Immutable: 1, Subvol: 256}},
			[]role{keep, keep, src}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planSet(tt.set)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("planSet = %v, want %v", got, tt.want)
			}
			// Planned again after it is carried out, the set has nothing
			// to merge: no file moves twice.
			again := applied(tt.set, got)
			if roles := planSet(again); slices.Contains(roles, roleMerge) {
				t.Errorf("planned again %+v: %v", again, roles)
			}
		})
	}
}

// applied returns the instances of a set after its plan is carried out:
// the merged ones are part of the source.
func applied(set []instanceFacts, roles []role) []instanceFacts {
	var out []instanceFacts
	src := -1
	for i, r := range roles {
		if r == roleMerge {
			continue
		}
		if r == roleSource {
			src = len(out)
		}
		out = append(out, set[i])
	}
	for i, r := range roles {
		if r == roleMerge {
			out[src].Writable += set[i].Writable
			out[src].SharedBytes = out[src].Allocated
		}
	}
	return out
}
