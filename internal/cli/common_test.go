package cli

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func TestConfirm(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
		asks int
	}{
		{"y\n", true, 1},
		{"YES\n", true, 1},
		{"n\n", false, 1},
		{"\n", false, 1},
		{"", false, 1},
		{"maybe\nyes\n", true, 2},
		{"maybe", false, 1}, // end of input: no second prompt
	} {
		var errw bytes.Buffer
		got, err := confirm(bufio.NewReader(strings.NewReader(c.in)), &errw, "Sure?")
		if err != nil || got != c.want || strings.Count(errw.String(), "Sure? (y/N) ") != c.asks {
			t.Errorf("confirm(%q) = %v, %v; prompt %q", c.in, got, err, errw.String())
		}
	}
}
