package volume

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
)

// Kind says what a filter names.
type Kind int

const (
	// ByUUID names a whole filesystem by its UUID.
	ByUUID Kind = iota
	// ByDevice names the filesystem on a block device (/dev/...).
	ByDevice
	// ByPath names the subvolume whose root is at Path, and every subvolume
	// below it in the subvolume tree; or, when Path is a directory that is
	// not a subvolume's root, the files below that directory (in its
	// subvolume) and, whole, the subvolumes whose roots are below it.
	ByPath
	// ByVol (vol:/path) names the subvolume at Path alone.
	ByVol
)

// Filter is one parsed volume filter (SPEC §2.4).
type Filter struct {
	Kind Kind
	Arg  string // as typed
	UUID string // ByUUID: dashed lowercase
	Path string // ByDevice, ByPath, ByVol: cleaned absolute path
	// Relative is set for a ByPath filter typed as a relative path (made
	// absolute against the current directory).
	Relative bool
}

// FilterError is a filter that cannot be understood at all: a usage error.
type FilterError struct {
	Arg, Why string
}

func (e *FilterError) Error() string { return fmt.Sprintf("filter %q: %s", e.Arg, e.Why) }

// ParseFilter classifies a filter by its syntax. Whether a path really is a
// directory on Btrfs, a subvolume or a device is checked when volumes are
// opened. Anything that is not vol:/PATH, /dev/DEVICE, an absolute path or
// a filesystem UUID is a path relative to the current directory (made
// absolute here): write ./NAME for a directory whose name is a UUID.
func ParseFilter(s string) (Filter, error) {
	f := Filter{Arg: s}
	switch {
	case strings.HasPrefix(s, "vol:"):
		p := s[len("vol:"):]
		if !filepath.IsAbs(p) {
			return f, &FilterError{s, "vol: needs an absolute path"}
		}
		f.Kind, f.Path = ByVol, filepath.Clean(p)
	case strings.HasPrefix(s, "/dev/"):
		f.Kind, f.Path = ByDevice, filepath.Clean(s)
	case filepath.IsAbs(s):
		f.Kind, f.Path = ByPath, filepath.Clean(s)
	case s == "":
		return f, &FilterError{s, "empty; give a directory, vol:/PATH, /dev/DEVICE or a filesystem UUID"}
	default:
		if u, err := ParseUUID(s); err == nil {
			f.Kind, f.UUID = ByUUID, u
			return f, nil
		}
		p, err := filepath.Abs(s)
		if err != nil {
			return f, &FilterError{s, fmt.Sprintf("a relative path, and the current directory is unknown (%v)", err)}
		}
		f.Kind, f.Path, f.Relative = ByPath, p, true
	}
	return f, nil
}

// ParseUUID accepts a UUID in any common spelling — 32 hex digits, with or
// without dashes, in braces, with a urn:uuid: prefix, any case — and
// returns it dashed and lowercase.
func ParseUUID(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimPrefix(t, "urn:uuid:")
	if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
		t = t[1 : len(t)-1]
	}
	if strings.Count(t, "-") != 0 && strings.Count(t, "-") != 4 {
		return "", fmt.Errorf("malformed UUID %q", s)
	}
	if strings.Count(t, "-") == 4 {
		parts := strings.Split(t, "-")
		for i, n := range []int{8, 4, 4, 4, 12} {
			if len(parts[i]) != n {
				return "", fmt.Errorf("malformed UUID %q", s)
			}
		}
	}
	h := strings.ReplaceAll(t, "-", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 16 {
		return "", fmt.Errorf("malformed UUID %q", s)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
