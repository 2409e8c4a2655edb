package btrfs

import (
	"slices"
	"testing"
)

func encInodeExtref(parent, index uint64, name string) []byte {
	b := make([]byte, 18+len(name))
	put64(b, 0, parent)
	put64(b, 8, index)
	put16(b, 16, uint16(len(name)))
	copy(b[18:], name)
	return b
}

func TestDecodeInodeExtrefs(t *testing.T) {
	two := append(encInodeExtref(300, 2, "a"), encInodeExtref(301, 7, "bb")...)
	for _, c := range []struct {
		name    string
		in      []byte
		parents []uint64
		names   []string
		bad     bool
	}{
		{"empty", nil, nil, nil, false},
		{"one", encInodeExtref(257, 3, "x"), []uint64{257}, []string{"x"}, false},
		{"two", two, []uint64{300, 301}, []string{"a", "bb"}, false},
		{"short header", two[:10], nil, nil, true},
		{"short name", encInodeExtref(257, 3, "abc")[:19], nil, nil, true},
		{"second short", two[:len(two)-1], []uint64{300}, []string{"a"}, true},
	} {
		refs, err := DecodeInodeExtrefs(c.in)
		var parents []uint64
		var names []string
		for _, r := range refs {
			parents, names = append(parents, r.Parent), append(names, string(r.Name))
		}
		if (err != nil) != c.bad || !slices.Equal(parents, c.parents) || !slices.Equal(names, c.names) {
			t.Errorf("%s: %v %q, %v", c.name, parents, names, err)
		}
	}
	if r, _ := DecodeInodeExtrefs(encInodeExtref(1, 9, "n")); r[0].Index != 9 {
		t.Errorf("index %d, want 9", r[0].Index)
	}
}

func FuzzDecodeInodeExtrefs(f *testing.F) {
	f.Add(append(encInodeExtref(300, 2, "a"), encInodeExtref(301, 7, "bb")...))
	f.Fuzz(func(t *testing.T, b []byte) {
		refs, _ := DecodeInodeExtrefs(b)
		total := 0
		for _, r := range refs {
			total += 18 + len(r.Name)
		}
		if total > len(b) {
			t.Fatalf("decoded %d bytes out of %d", total, len(b))
		}
	})
}
