package dedupe

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
)

func TestPrint(t *testing.T) {
	loc := func(l, p, n uint64) btrfs.Extent { return btrfs.Extent{Logical: l, Physical: p, Length: n} }
	whole := Print([]btrfs.Extent{loc(0, 1<<20, 8192)}, 8192)
	split := Print([]btrfs.Extent{loc(0, 1<<20, 4096), loc(4096, 1<<20+4096, 4096)}, 8192)
	moved := Print([]btrfs.Extent{loc(0, 2<<20, 8192)}, 8192)
	holes := Print([]btrfs.Extent{loc(4096, 1<<20+4096, 4096)}, 8192)
	inline := Print([]btrfs.Extent{{Logical: 0, Length: 4096, Flags: btrfs.ExtentDataInline}}, 100)
	if !whole.Equal(split) {
		t.Error("one extent and the same bytes in two pieces print differently")
	}
	if whole.Equal(moved) || whole.Equal(holes) {
		t.Error("different maps print alike")
	}
	if inline != nil || inline.Equal(inline) {
		t.Error("an inline map is comparable")
	}
	if empty := Print(nil, 1<<20); !empty.Equal(Print(nil, 1<<20)) {
		t.Error("two hole-only maps differ")
	}
}

func TestHashAndSampleAgree(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4096, 12288, 12289, 65536, 100000, 3<<20 + 7} {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(i*7 + i/4096)
		}
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Sample(f, uint64(size))
		if err != nil {
			t.Fatal(err)
		}
		for _, bufSize := range []int{1 << 20, 4096} {
			full, smp, n, err := Hash(f, uint64(size), make([]byte, bufSize))
			if err != nil || n != int64(size) || smp != s {
				t.Errorf("size %d, buffer %d: Hash = %x, sample %x (Sample %x), %d bytes, %v", size, bufSize, full, smp, s, n, err)
			}
		}
		f.Close()
	}
}
