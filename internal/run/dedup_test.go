package run

import "testing"

func TestReaders(t *testing.T) {
	for _, c := range []struct {
		asked      int
		rotational bool
		want       int
	}{
		{0, false, 4}, {0, true, 2}, {1, true, 1}, {8, false, 8},
	} {
		if got := readers(c.asked, c.rotational); got != c.want {
			t.Errorf("readers(%d, %v) = %d, want %d", c.asked, c.rotational, got, c.want)
		}
	}
}
