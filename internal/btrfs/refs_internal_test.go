package btrfs

import (
	"testing"
	"unsafe"
)

func TestLogicalInoABI(t *testing.T) {
	if n := unsafe.Sizeof(logicalInoArgs{}); n != 56 {
		t.Errorf("sizeof(btrfs_ioctl_logical_ino_args) = %d, want 56", n)
	}
	if o := unsafe.Offsetof(logicalInoArgs{}.Flags); o != 40 {
		t.Errorf("offsetof(logical_ino_args.flags) = %d, want 40", o)
	}
	if want := ioc(iocRead|iocWrite, 0x94, 59, unsafe.Sizeof(logicalInoArgs{})); iocLogicalInoV2 != want {
		t.Errorf("LOGICAL_INO_V2 = %#x, want %#x", iocLogicalInoV2, want)
	}
}

func encExtentRefs(missed uint32, refs ...ExtentRef) []byte {
	b := make([]byte, 16+24*len(refs))
	put32(b, 8, uint32(3*len(refs)))
	put32(b, 12, missed)
	for i, r := range refs {
		put64(b, 16+24*i, r.Ino)
		put64(b, 24+24*i, r.Offset)
		put64(b, 32+24*i, r.Root)
	}
	return b
}

func TestDecodeExtentRefs(t *testing.T) {
	two := []ExtentRef{{257, 0, 5}, {300, 4096, 256}}
	for _, c := range []struct {
		name   string
		in     []byte
		want   []ExtentRef
		missed int
		bad    bool
	}{
		{"two", encExtentRefs(0, two...), two, 0, false},
		{"none", encExtentRefs(0), []ExtentRef{}, 0, false},
		{"some missed", encExtentRefs(6, two[:1]...), two[:1], 6, false},
		{"short header", make([]byte, 8), nil, 0, true},
		{"count past the end", encExtentRefs(0, two...)[:40], nil, 0, true},
		{"count not a multiple of three", func() []byte { b := encExtentRefs(0, two...); put32(b, 8, 4); return b }(), nil, 0, true},
	} {
		got, missed, err := decodeExtentRefs(c.in)
		if (err != nil) != c.bad {
			t.Errorf("%s: err %v", c.name, err)
			continue
		}
		if c.bad {
			continue
		}
		if missed != c.missed || len(got) != len(c.want) {
			t.Errorf("%s: %+v, missed %d", c.name, got, missed)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: ref %d = %+v, want %+v", c.name, i, got[i], c.want[i])
			}
		}
	}
}

func FuzzDecodeExtentRefs(f *testing.F) {
	f.Add(encExtentRefs(3, ExtentRef{257, 0, 5}))
	f.Fuzz(func(t *testing.T, b []byte) {
		refs, _, err := decodeExtentRefs(b)
		if err == nil && 16+24*len(refs) > len(b) {
			t.Fatal("more references than bytes")
		}
	})
}
