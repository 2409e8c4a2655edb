// Package glob matches file paths against the patterns of --exclude.
//
// A pattern is a shell pattern matched against a file's whole path, as
// bedup prints it (absolute: the mount path, then the path inside):
// "*" matches any run of characters, "/" included; "?" any one character,
// "/" included; "[abc]" one of a set, "[a-z]" a range, "[^abc]" any other
// character; "\c" the character c itself ("\*", "\[", "\\").
//
// Since "*" crosses directories, "*.iso" matches every path ending in
// ".iso", "/mnt/data/cache/*" everything below that directory and
// "*/.cache/*" everything below any directory named .cache, as
// duperemove's --exclude (fnmatch without FNM_PATHNAME) does; a pattern
// cannot say "in this directory but not below".
package glob

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Set is a list of compiled patterns; a nil *Set matches nothing.
type Set struct {
	raw, pats []string
}

// Compile checks patterns and returns them as a Set, or nil for none. An
// error names the first malformed pattern.
func Compile(patterns []string) (*Set, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	s := &Set{}
	for _, p := range patterns {
		if p == "" {
			return nil, errors.New("empty pattern")
		}
		if strings.IndexByte(p, 0) >= 0 {
			return nil, fmt.Errorf("pattern %q holds a NUL byte", p)
		}
		q := slashless(p)
		// Match checks the whole pattern's syntax, whether or not it
		// matches.
		if _, err := path.Match(q, ""); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
		s.raw, s.pats = append(s.raw, p), append(s.pats, q)
	}
	return s, nil
}

// slashless turns "/" into NUL, which no path holds, so that path.Match's
// "*" and "?", which stop at "/", match across directories; a "/" in the
// pattern (escaped, or in a set) still stands for "/".
func slashless(s string) string { return strings.ReplaceAll(s, "/", "\x00") }

// Match reports whether any pattern matches name.
func (s *Set) Match(name string) bool {
	if s == nil {
		return false
	}
	n := slashless(name)
	for _, p := range s.pats {
		if ok, _ := path.Match(p, n); ok {
			return true
		}
	}
	return false
}

// Patterns returns the patterns as they were given.
func (s *Set) Patterns() []string {
	if s == nil {
		return nil
	}
	return s.raw
}
