package dedupe

import (
	"slices"
	"testing"
)

// The fingerprints narrow groups cheapest first: nothing read, then the
// csum tree, then 12 KiB a file, then whole files.
func TestFingerprintsCheapestFirst(t *testing.T) {
	var names []string
	for _, f := range fingerprints {
		names = append(names, f.name)
	}
	if want := []string{"extent map", "data checksums", "samples", "full hash"}; !slices.Equal(names, want) {
		t.Errorf("fingerprints %v, want %v", names, want)
	}
}
