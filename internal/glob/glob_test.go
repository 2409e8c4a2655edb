package glob_test

import (
	"path"
	"strings"
	"testing"

	"github.com/bedup/bedup/internal/glob"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*.iso", "/mnt/x/a.iso", true},
		{"*.iso", "/mnt/x/deep/er/b.iso", true},
		{"*.iso", "/mnt/x/a.iso.part", false},
		{"*.iso", "/mnt/x/c.dat", false},
		{"/mnt/x/cache/*", "/mnt/x/cache/a", true},
		{"/mnt/x/cache/*", "/mnt/x/cache/sub/b", true},
		{"/mnt/x/cache/*", "/mnt/x/cachet/a", false},
		{"/mnt/x/cache/*", "/mnt/x/cache", false},
		{"*/.cache/*", "/home/u/.cache/f", true},
		{"*/.cache/*", "/home/u/x.cache/f", false},
		{"/mnt/x/*.tmp", "/mnt/x/a.tmp", true},
		{"/mnt/x/*.tmp", "/mnt/x/d/a.tmp", true},
		{"/mnt/x/[^/]", "/mnt/x/a", true},
		{"/mnt/x/[^/]", "/mnt/x//", false},
		{"/mnt/x/?", "/mnt/x/a", true},
		{"/mnt/?/a", "/mnt///a", true},
		{`/mnt/x/\*`, "/mnt/x/*", true},
		{`/mnt/x/\*`, "/mnt/x/a", false},
		{`/mnt/x\/a`, "/mnt/x/a", true},
		{"/mnt/x/[ab]", "/mnt/x/b", true},
		{"*name with space*", "/mnt/a name with space/f", true},
		{"*\xff*", "/mnt/bad\xffname", true},
		{"a.iso", "/mnt/x/a.iso", false}, // the whole path: anchor with */
	}
	for _, tt := range tests {
		s, err := glob.Compile([]string{tt.pattern})
		if err != nil {
			t.Fatalf("%q: %v", tt.pattern, err)
		}
		if got := s.Match(tt.name); got != tt.want {
			t.Errorf("%q matches %q: %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestCompile(t *testing.T) {
	var none *glob.Set
	if none.Match("/a") || none.Patterns() != nil {
		t.Error("a nil set matches")
	}
	if s, err := glob.Compile(nil); s != nil || err != nil {
		t.Errorf("Compile(nil) = %v, %v", s, err)
	}
	for _, bad := range []string{"", "[", "a[", `a\`, "[]", "x\x00y"} {
		if _, err := glob.Compile([]string{"*.ok", bad}); err == nil {
			t.Errorf("Compile(%q) accepted it", bad)
		}
	}
	s, err := glob.Compile([]string{"*.iso", "/c/*"})
	if err != nil || !s.Match("/c/d") || !s.Match("/x.iso") || s.Match("/x") || strings.Join(s.Patterns(), " ") != "*.iso /c/*" {
		t.Errorf("two patterns: %v, %v", s, err)
	}
}

// FuzzMatch: no pattern or name makes Match panic, and where neither holds
// a "/" it agrees with path.Match.
func FuzzMatch(f *testing.F) {
	f.Add("*.iso", "/mnt/x/a.iso")
	f.Add("/mnt/x/[^/]*", "/mnt/x/a/b")
	f.Add(`\[a-`, "[a-")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		s, err := glob.Compile([]string{pattern})
		if err != nil {
			return
		}
		got := s.Match(name)
		if strings.ContainsAny(pattern+name, "/\x00") {
			return
		}
		if want, _ := path.Match(pattern, name); got != want {
			t.Errorf("Match(%q, %q) = %v, path.Match says %v", pattern, name, got, want)
		}
	})
}
