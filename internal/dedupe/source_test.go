package dedupe_test

import (
	"testing"

	"github.com/bedup/bedup/internal/dedupe"
)

func TestBestSource(t *testing.T) {
	type c = dedupe.Candidate
	tests := []struct {
		name string
		cs   []c
		want int
	}{
		{"none", nil, -1},
		{"one", []c{{}}, 0},
		{"most shared wins over read-only", []c{{ReadOnly: true}, {SharedBytes: 1}}, 1},
		{"read-only wins over fewer allocated", []c{{Allocated: 1}, {Allocated: 9, ReadOnly: true}}, 1},
		{"fewer allocated (sparse) wins", []c{{Allocated: 9}, {Allocated: 1}}, 1},
		{"lower subvolume", []c{{Subvol: 257, Ino: 1}, {Subvol: 5, Ino: 900}}, 1},
		{"lower inode", []c{{Subvol: 5, Ino: 900}, {Subvol: 5, Ino: 300}}, 1},
		{"first of equals", []c{{SharedBytes: 4}, {SharedBytes: 4}, {SharedBytes: 4}}, 0},
		{"best in the middle", []c{{}, {SharedBytes: 8, ReadOnly: true}, {SharedBytes: 8}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dedupe.BestSource(tt.cs); got != tt.want {
				t.Errorf("BestSource = %d, want %d", got, tt.want)
			}
		})
	}
}
