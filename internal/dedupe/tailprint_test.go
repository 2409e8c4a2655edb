package dedupe

import (
	"os"
	"slices"
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/testfs"
)

// Which instances need their tail read: only tail-checksum prints in a
// cluster of equal full sectors whose prints differ.
func TestTailConflicts(t *testing.T) {
	sum := func(head, tail byte) []byte {
		h := make([]byte, csumPrintN+4)
		h[0], h[1], h[csumPrintN] = tailSumTag, head, tail
		return h
	}
	byBytes := func(head, tail byte) []byte { return tailBytesPrint(sum(head, 0), []byte{tail}) }
	whole := func(head byte) []byte { h := make([]byte, csumPrintN); h[0], h[1] = csumTag, head; return h }
	tests := []struct {
		name   string
		prints [][]byte
		want   []int
	}{
		{"unique heads", [][]byte{sum(1, 1), sum(2, 1), sum(3, 9)}, nil},
		{"equal prints", [][]byte{sum(1, 1), sum(1, 1), sum(2, 5)}, nil},
		{"same head, other tail", [][]byte{sum(1, 1), sum(1, 2), sum(2, 5)}, []int{0, 1}},
		{"a stored byte print meets a new one", [][]byte{byBytes(1, 7), sum(1, 1)}, []int{1}},
		{"byte prints are settled", [][]byte{byBytes(1, 7), byBytes(1, 8)}, nil},
		{"whole sectors", [][]byte{whole(1), whole(1)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ins []*instance
			for _, p := range tc.prints {
				ins = append(ins, &instance{hash: p, csum: true})
			}
			got := tailConflicts(ins)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d instances, want %v", len(got), tc.want)
			}
			for i, w := range tc.want {
				if got[i] != ins[w] {
					t.Errorf("instance %d: got another", i)
				}
			}
		})
	}
}

// Files with a partial last sector are told apart, and matched, by their
// checksums alone: nothing is read while no two of a size group share
// their full sectors with different tails. When a later file does (the
// same bytes over a longer file's leftovers past EOF), both tails are
// read, the stored print upgraded, and the pair shared.
func TestTailReadOnlyOnConflict(t *testing.T) {
	fs := testfs.New(t)
	data := testfs.Bytes(1, 9000)
	x := testfs.WriteFile(t, fs.Path("x"), data)
	y := testfs.WriteFile(t, fs.Path("y"), data)
	for i := uint64(0); i < 3; i++ {
		testfs.WriteFile(t, fs.Path("u", string(rune('a'+i))), testfs.Bytes(10+i, 9000))
	}
	e := newEnv(t, fs, "")
	st, _ := e.run(t, Options{})
	if st.BytesRead != 0 || st.FilesCsumPrinted != 5 || st.FilesShared != 1 || !testfs.Shares(t, x, y) {
		t.Errorf("first pass: %+v", st)
	}
	long := append(append([]byte(nil), data...), testfs.Bytes(2, 3288)...)
	w := testfs.WriteFile(t, fs.Path("w"), long)
	fs.Sync(t)
	if err := os.Truncate(w, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	e.rescan(t)
	st, _ = e.run(t, Options{})
	if tail := int64(len(data) % csumBlock); st.BytesRead != 2*tail || st.FilesShared != 1 || !testfs.Shares(t, x, w) {
		t.Errorf("second pass: %+v", st)
	}
	if got, _ := os.ReadFile(w); string(got) != string(data) {
		t.Error("w's bytes changed")
	}
}

// The disk ranges a csum print is made of: contiguous extents merged,
// holes as ranges at address 0 (never merged with data), and nil for
// what has no usable checksums.
func TestCsumExtents(t *testing.T) {
	const k = 4096
	ext := func(logical, physical, length uint64, flags uint32) btrfs.Extent {
		return btrfs.Extent{Logical: logical, Physical: physical, Length: length, Flags: flags}
	}
	tests := []struct {
		name  string
		ext   []btrfs.Extent
		size  uint64
		nocow bool
		want  [][2]uint64
	}{
		{"one extent", []btrfs.Extent{ext(0, 10*k, 2*k, 0)}, 2 * k, false, [][2]uint64{{10 * k, 2 * k}}},
		{"contiguous merged", []btrfs.Extent{ext(0, 10*k, k, 0), ext(k, 11*k, k, 0)}, 2 * k, false, [][2]uint64{{10 * k, 2 * k}}},
		{"apart", []btrfs.Extent{ext(0, 10*k, k, 0), ext(k, 20*k, k, 0)}, 2 * k, false, [][2]uint64{{10 * k, k}, {20 * k, k}}},
		{"partial last sector", []btrfs.Extent{ext(0, 10*k, 2*k, 0)}, k + 1, false, [][2]uint64{{10 * k, 2 * k}}},
		{"hole inside", []btrfs.Extent{ext(0, 10*k, k, 0), ext(3*k, 11*k, k, 0)}, 4 * k, false,
			[][2]uint64{{10 * k, k}, {0, 2 * k}, {11 * k, k}}},
		{"hole first, a data extent at its length's address", []btrfs.Extent{ext(2*k, 2*k, k, 0)}, 3 * k, false,
			[][2]uint64{{0, 2 * k}, {2 * k, k}}},
		{"trailing hole", []btrfs.Extent{ext(0, 10*k, k, 0)}, 3*k + 5, false, [][2]uint64{{10 * k, k}, {0, 3 * k}}},
		{"holes only", nil, 2 * k, false, [][2]uint64{{0, 2 * k}}},
		{"empty", nil, 0, false, nil},
		{"nocow", []btrfs.Extent{ext(0, 10*k, k, 0)}, k, true, nil},
		{"compressed", []btrfs.Extent{ext(0, 10*k, k, btrfs.ExtentEncoded)}, k, false, nil},
		{"preallocated", []btrfs.Extent{ext(0, 10*k, k, btrfs.ExtentUnwritten)}, k, false, nil},
		{"inline", []btrfs.Extent{ext(0, 0, k, btrfs.ExtentDataInline)}, 100, false, nil},
		{"overlap", []btrfs.Extent{ext(0, 10*k, 2*k, 0), ext(k, 20*k, k, 0)}, 3 * k, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := csumExtents(tc.ext, tc.size, tc.nocow)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
