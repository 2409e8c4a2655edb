package cli

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		bad  bool
	}{
		{"0", 0, false},
		{"1", 1, false},
		{"131072", 131072, false},
		{"128K", 128 << 10, false},
		{"128k", 128 << 10, false},
		{"128KiB", 128 << 10, false},
		{"128kb", 128 << 10, false},
		{"1M", 1 << 20, false},
		{"8M", 8 << 20, false},
		{"2G", 2 << 30, false},
		{"1T", 1 << 40, false},
		{" 4K ", 4 << 10, false},
		{"16777215T", 16777215 << 40, false},
		{"16777216T", 0, true},
		{"", 0, true},
		{"K", 0, true},
		{"-1", 0, true},
		{"+1", 0, true},
		{"1.5M", 0, true},
		{"1X", 0, true},
		{"1 M", 0, true},
		{"0x10", 0, true},
		{"18446744073709551616", 0, true},
	} {
		got, err := parseSize(c.in)
		if (err != nil) != c.bad || (!c.bad && got != c.want) {
			t.Errorf("parseSize(%q) = %d, %v", c.in, got, err)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1", "128K", "1MiB", "2G", "x", "", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		// A parsed size prints back to a number that parses to itself.
		if again, err := parseSize(strings.TrimSpace(strings.TrimRight(strings.ToUpper(s), "KMGTIB "))); err == nil && again > n {
			t.Fatalf("%q: %d, without its suffix %d", s, n, again)
		}
	})
}

func TestHumanBytes(t *testing.T) {
	for in, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 10 << 20: "10.0 MiB", 3 << 40: "3.0 TiB"} {
		if got := humanBytes(in); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", in, got, want)
		}
	}
}

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
