package dedupe

import (
	"fmt"
	"reflect"
	"regexp"
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/testfs"
)

// Reason codes are short, stable and distinct: printers and JSON key on
// them.
func TestReasons(t *testing.T) {
	code := regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)
	seen := map[Reason]bool{}
	for _, r := range Reasons() {
		if !code.MatchString(string(r)) || len(r) > 16 {
			t.Errorf("reason %q is not a short code", r)
		}
		if seen[r] {
			t.Errorf("reason %q listed twice", r)
		}
		seen[r] = true
	}
	for _, r := range []Reason{ReasonChanged, ReasonUnreadable, ReasonNocowAlone, ReasonNocowMismatch,
		ReasonImmutable, ReasonSwapfile, ReasonBusy, ReasonReadOnlyFS, ReasonOtherFS, ReasonIO, ReasonRefused} {
		if !seen[r] {
			t.Errorf("Reasons() lacks %q", r)
		}
	}
	if seen[reasonGone] {
		t.Error("the internal marker for deleted files is listed as a reason")
	}
}

// A pass reports, in order, each file skipped, each identical set shared
// (with what it freed), each size group done and the progress after it.
// Paths of shared files are resolved only when asked for.
func TestEvents(t *testing.T) {
	for _, resolve := range []bool{false, true} {
		t.Run(map[bool]string{false: "unresolved", true: "resolved"}[resolve], func(t *testing.T) {
			fs := testfs.New(t)
			sv := fs.Subvolume(t, "sv")
			sizeA, sizeR, sizeN, sizeU := 1<<20+5, 300<<10, 200<<10, 100<<10
			a := testfs.WriteFile(t, sv+"/a", testfs.Bytes(1, sizeA))
			a1, a2 := copyOf(t, a, sv+"/a1"), copyOf(t, a, sv+"/a2")
			// Immutable copies pin their extents: the first is the source,
			// the second is kept as it is.
			imm, imm2 := copyOf(t, a, sv+"/imm"), copyOf(t, a, sv+"/imm2")
			testfs.AddFlags(t, imm, btrfs.FlagImmutable)
			testfs.AddFlags(t, imm2, btrfs.FlagImmutable)
			reflink(t, testfs.WriteFile(t, sv+"/r1", testfs.Bytes(2, sizeR)), sv+"/r2")
			n1 := testfs.WriteFile(t, sv+"/n1", testfs.Bytes(3, sizeN))
			n2 := copyOf(t, n1, sv+"/n2")
			testfs.WriteNocow(t, sv+"/nocow", testfs.Bytes(3, sizeN))
			testfs.WriteFile(t, sv+"/u1", testfs.Bytes(4, sizeU))
			testfs.WriteFile(t, sv+"/u2", testfs.Bytes(5, sizeU))
			e := newEnv(t, fs, "")
			freedA, freedN := testfs.DiskBytes(t, a, a1, a2), testfs.DiskBytes(t, n2)

			st, events := e.run(t, Options{ResolvePaths: resolve})
			ref := func(p string, resolved bool) FileRef {
				r := FileRef{VolumeID: e.vols[1].V.ID, Ino: ino(t, p)}
				if resolved {
					r.Path = p
				}
				return r
			}
			if e.vols[1].V.Desc != sv {
				t.Fatalf("volume 1 is %s, want %s", e.vols[1].V.Desc, sv)
			}
			want := []Event{
				Skipped{File: ref(imm2, true), Reason: ReasonImmutable},
				Shared{Size: uint64(sizeA), Source: ref(imm, resolve), Dests: []FileRef{ref(a, resolve), ref(a1, resolve), ref(a2, resolve)},
					BytesShared: 3 * int64(sizeA), BytesFreed: freedA},
				GroupDone{Size: uint64(sizeA), Members: 5, Sets: 1},
				GroupDone{Size: uint64(sizeR), Members: 2, AlreadyShared: true},
				Shared{Size: uint64(sizeN), Source: ref(n1, resolve), Dests: []FileRef{ref(n2, resolve)},
					BytesShared: int64(sizeN), BytesFreed: freedN},
				Skipped{File: ref(sv+"/nocow", true), Reason: ReasonNocowAlone},
				GroupDone{Size: uint64(sizeN), Members: 3, Sets: 1},
				GroupDone{Size: uint64(sizeU), Members: 2},
			}
			var got []Event
			progress := of[Progress](events)
			for i, ev := range events {
				if p, ok := ev.(Progress); ok {
					// Progress follows each group's GroupDone.
					if gd, ok := events[i-1].(GroupDone); !ok || gd.Size != p.Size {
						t.Errorf("progress %+v follows %+v", p, events[i-1])
					}
					continue
				}
				got = append(got, ev)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("events:\n%s\nwant:\n%s", dump(got), dump(want))
			}
			if n := len(progress); n != 4 || progress[n-1].Group != 4 || progress[n-1].Groups != 4 ||
				progress[n-1].BytesDeduped != st.BytesDeduped {
				t.Errorf("progress: %+v", progress)
			}
			wantSkips := map[Reason]int{ReasonImmutable: 1, ReasonNocowAlone: 1}
			if !reflect.DeepEqual(st.Skipped, wantSkips) || st.KeptReadOnly != 0 {
				t.Errorf("skipped %v, kept read-only %d", st.Skipped, st.KeptReadOnly)
			}
			if st.FilesShared != 4 || st.BytesFreed != freedA+freedN || st.AlreadyShared != 1 || st.Groups != 4 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func dump(events []Event) string {
	var s string
	for _, e := range events {
		s += fmt.Sprintf("\t%T %+v\n", e, e)
	}
	return s
}
