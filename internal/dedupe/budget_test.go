package dedupe

import "testing"

// TestOpenBudget: the windows in flight keep open at most 16384
// descriptors, and always
// leaves room under the process's limit for a share's 127 destinations and
// the rest, however large a size group is.
func TestOpenBudget(t *testing.T) {
	for _, c := range []struct {
		limit uint64
		want  int
	}{
		{0, 0}, {64, 0}, {256, 0}, {257, 1}, {1024, 768}, {4352, 4096}, {16640, 16384}, {1 << 20, 16384},
	} {
		if got := openBudget(c.limit); got != c.want {
			t.Errorf("openBudget(%d) = %d, want %d", c.limit, got, c.want)
		}
	}
}
