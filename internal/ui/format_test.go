package ui

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
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
		{"1.5M", 3 << 19, false},
		{"1.5m", 3 << 19, false},
		{"0.5K", 512, false},
		{"2.25GiB", 9 << 28, false},
		{"8M", 8 << 20, false},
		{"2G", 2 << 30, false},
		{"1T", 1 << 40, false},
		{" 4K ", 4 << 10, false},
		{"8388607T", 8388607 << 40, false},
		{"8388608T", 0, true}, // 2^63
		{"9223372036854775807", 1<<63 - 1, false},
		{"9223372036854775808", 0, true},
		{"18446744073709551615", 0, true},
		{"18446744073709551616", 0, true},
		{"", 0, true},
		{"K", 0, true},
		{"-1", 0, true},
		{"+1", 0, true},
		{"1.5", 0, true}, // decimals need a unit
		{".5M", 0, true},
		{"1.M", 0, true},
		{"1e3K", 0, true},
		{"1X", 0, true},
		{"1 M", 0, true},
		{"0x10", 0, true},
		{"5IB", 0, true},
		{"5B", 5, false},
		{"NaNK", 0, true},
		{"1P", 1 << 50, false},
		{"1.0PiB", 1 << 50, false}, // Bytes prints P and E: they read back
		{"7E", 7 << 60, false},
		{"7.5EiB", 15 << 59, false},
		{"8E", 0, true}, // 2^63
		{"8192P", 0, true},
		{"1e3", 0, true},
		{"1EE", 0, true},
		{"EiB", 0, true},
		{"InfM", 0, true},
	} {
		got, err := ParseSize(c.in)
		if (err != nil) != c.bad || (!c.bad && got != c.want) {
			t.Errorf("ParseSize(%q) = %d, %v", c.in, got, err)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1", "128K", "1MiB", "1.5M", "2G", "x", "", "99999999999999999999", "5IB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if n >= 1<<63 {
			t.Fatalf("%q: %d is not below 2^63", s, n)
		}
		// The human form of a parsed size parses back to within its rounding
		// (sizes just under 2^63 round up to "8.0 EiB", which is 2^63 and
		// so no size: nothing on a filesystem is near that).
		back, err := ParseSize(strings.ReplaceAll(Bytes(int64(n)), " ", ""))
		if err != nil && Bytes(int64(n)) == "8.0 EiB" {
			return
		}
		if err != nil {
			t.Fatalf("%q: %d prints as %q, which does not parse: %v", s, n, Bytes(int64(n)), err)
		}
		if d := float64(back) - float64(n); d > float64(n)/10+1 || -d > float64(n)/10+1 {
			t.Fatalf("%q: %d prints as %q = %d", s, n, Bytes(int64(n)), back)
		}
	})
}

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1 KiB"}, {128 << 10, "128 KiB"}, {1536 << 10, "1.5 MiB"},
		{100 << 20, "100 MiB"}, {(100 << 20) + 1, "100.0 MiB"}, {3 << 40, "3 TiB"},
	} {
		if got := Bytes(c.n); got != c.want {
			t.Errorf("Bytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestPath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/mnt/a b/c", "/mnt/a b/c"},
		{"/mnt/é", "/mnt/é"},
		{"/mnt/a\nb", `"/mnt/a\nb"`},
		{"/mnt/\xff\xfe", `"/mnt/\xff\xfe"`},
		{`/mnt/a\nb`, `"/mnt/a\\nb"`},
		{`"quoted`, `"\"quoted"`},
		{"/mnt/tab\there", `"/mnt/tab\there"`},
		{"/mnt/\x1b[31m", `"/mnt/\x1b[31m"`},
	} {
		if got := Path(c.in); got != c.want {
			t.Errorf("Path(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func FuzzPath(f *testing.F) {
	for _, s := range []string{"/a", "a\nb", "\xff", `a\b`, `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := Path(s)
		if strings.ContainsAny(p, "\n\r\x00") || !utf8.ValidString(p) {
			t.Fatalf("Path(%q) = %q: not one clean line", s, p)
		}
		if p != s && !strings.HasPrefix(p, `"`) {
			t.Fatalf("Path(%q) = %q changed an unquoted name", s, p)
		}
		// A quoted name decodes to the name: no two names print alike.
		if p != s {
			if u, err := strconv.Unquote(p); err != nil || u != s {
				t.Fatalf("Path(%q) = %s decodes to %q, %v", s, p, u, err)
			}
		}
	})
}
