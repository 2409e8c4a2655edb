// Package mountinfo parses /proc/self/mountinfo (see proc(5)), so bedup
// can map paths to mounts, and Btrfs mounts to the subvolumes they show.
package mountinfo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Mount is one line of mountinfo.
type Mount struct {
	ID, ParentID int
	Major, Minor uint32
	Root         string // path of the mount's root inside its filesystem (for Btrfs: the subvolume path, e.g. "/@home")
	MountPoint   string
	Options      []string // per-mount options (field 6), split on commas
	Optional     []string // optional fields (shared:N, master:N, ...)
	FSType       string
	Source       string
	SuperOptions []string // per-superblock options, split on commas
}

// ReadOnly reports whether the mount is read-only, either per mount or
// because the whole filesystem ("ro" in Options or in SuperOptions) is.
func (m Mount) ReadOnly() bool {
	return hasOption(m.Options, "ro") || hasOption(m.SuperOptions, "ro")
}

func hasOption(opts []string, name string) bool {
	for _, o := range opts {
		if o == name {
			return true
		}
	}
	return false
}

// SuperOption looks up a per-superblock option such as "subvolid" (value
// "256") or a flag such as "ssd" (value ""). If the option appears more
// than once, the last occurrence wins, as when mounting. The value is as
// the kernel printed it: octal escapes are not decoded (for a Btrfs
// subvolume path, use Root, which is decoded).
func (m Mount) SuperOption(name string) (value string, ok bool) {
	for _, o := range m.SuperOptions {
		if k, v, _ := strings.Cut(o, "="); k == name {
			value, ok = v, true
		}
	}
	return value, ok
}

// ParseLine parses one line of mountinfo; trailing newlines are ignored.
// Octal escapes (\040 and the like) in Root, MountPoint, FSType and Source
// are decoded; a backslash not followed by an octal byte value (\000 to
// \377) is kept as is.
func ParseLine(line string) (Mount, error) {
	m, err := parseLine(line)
	if err != nil {
		return Mount{}, fmt.Errorf("mountinfo: %w", err)
	}
	return m, nil
}

// Minimum number of fields: the six fixed fields before the optional ones,
// the separator and the three after it.
const (
	nFixed   = 6
	nAfter   = 3
	minField = nFixed + 1 + nAfter
)

func parseLine(line string) (Mount, error) {
	line = strings.TrimRight(line, "\n")
	f := strings.Split(line, " ")
	if len(f) < nFixed {
		return Mount{}, fmt.Errorf("too few fields: got %d, want at least %d", len(f), minField)
	}
	var m Mount
	var err error
	if m.ID, err = parseID(f[0]); err != nil {
		return Mount{}, fmt.Errorf("mount ID: %w", err)
	}
	if m.ParentID, err = parseID(f[1]); err != nil {
		return Mount{}, fmt.Errorf("parent ID: %w", err)
	}
	if m.Major, m.Minor, err = parseDev(f[2]); err != nil {
		return Mount{}, err
	}
	m.Root = unescape(f[3])
	m.MountPoint = unescape(f[4])
	m.Options = splitOptions(f[5])

	sep := -1
	for i := nFixed; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 {
		return Mount{}, errors.New(`missing separator "-"`)
	}
	if sep > nFixed {
		m.Optional = append([]string(nil), f[nFixed:sep]...)
	}
	if n := len(f) - sep - 1; n != nAfter {
		what := "few"
		if n > nAfter {
			what = "many"
		}
		return Mount{}, fmt.Errorf("too %s fields after separator: got %d, want %d", what, n, nAfter)
	}
	m.FSType = unescape(f[sep+1])
	m.Source = unescape(f[sep+2])
	m.SuperOptions = splitOptions(f[sep+3])
	return m, nil
}

// parseID parses a mount ID: decimal digits only, fitting in an int.
func parseID(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, strconv.IntSize-1)
	if err != nil {
		return 0, fmt.Errorf("invalid number %q", s)
	}
	return int(n), nil
}

// parseDev parses the "major:minor" field.
func parseDev(s string) (major, minor uint32, err error) {
	ma, mi, ok := strings.Cut(s, ":")
	if ok {
		var a, b uint64
		a, err = strconv.ParseUint(ma, 10, 32)
		if err == nil {
			b, err = strconv.ParseUint(mi, 10, 32)
		}
		if err == nil {
			return uint32(a), uint32(b), nil
		}
	}
	return 0, 0, fmt.Errorf("invalid major:minor %q", s)
}

// splitOptions splits a comma-separated option list; an empty field gives
// no options.
func splitOptions(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// unescape decodes the kernel's octal escapes (\ooo, as in \040 for a
// space). Escapes above \377 are not bytes and are kept as is.
func unescape(s string) string {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+3 < len(s) &&
			'0' <= s[i+1] && s[i+1] <= '3' &&
			'0' <= s[i+2] && s[i+2] <= '7' &&
			'0' <= s[i+3] && s[i+3] <= '7' {
			c = (s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0')
			i += 3
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Parse parses every line of a mountinfo file. A malformed line is an
// error naming its line number.
func Parse(r io.Reader) ([]Mount, error) {
	var mounts []Mount
	br := bufio.NewReader(r) // no line length limit, unlike bufio.Scanner
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if line != "" {
			m, perr := parseLine(line)
			if perr != nil {
				return nil, fmt.Errorf("mountinfo line %d: %w", n, perr)
			}
			mounts = append(mounts, m)
		}
		if err == io.EOF {
			return mounts, nil
		}
		if err != nil {
			return nil, fmt.Errorf("mountinfo: reading line %d: %w", n, err)
		}
	}
}

// Read parses /proc/self/mountinfo: the mounts seen by this process.
func Read() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("mountinfo: %w", err)
	}
	defer f.Close()
	return Parse(f)
}
