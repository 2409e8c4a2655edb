package dedupe

import (
	"os"
	"testing"

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
