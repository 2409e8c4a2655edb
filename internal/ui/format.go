package ui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bytes formats a byte count for a person: "512 B", "128 KiB", "1.5 MiB".
// Whole multiples print without decimals, so cutoffs read as typed.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), 0
	for f >= unit*unit || f <= -unit*unit {
		f /= unit
		i++
	}
	f /= unit
	if f == math.Trunc(f) {
		return fmt.Sprintf("%.0f %ciB", f, "KMGTPE"[i])
	}
	return fmt.Sprintf("%.1f %ciB", f, "KMGTPE"[i])
}

// ParseSize reads a size in bytes: a number with an optional binary suffix
// K, M, G, T, P or E (KiB, MiB, … and a trailing B are accepted too, any
// case), so that whatever Bytes prints reads back.
// With a suffix the number may have decimals ("1.5M"); the result is
// rounded down to a whole byte. Sizes of 2^63 bytes or more are refused:
// nothing on a filesystem is that large, and the database stores signed
// 64-bit integers.
func ParseSize(s string) (uint64, error) {
	const units = "KMGTPE"
	bad := fmt.Errorf("size %q is not a number of bytes (e.g. 4096, 128K, 1.5M; suffixes K, M, G, T, P, E)", s)
	u := strings.ToUpper(strings.TrimSpace(s))
	switch {
	case strings.HasSuffix(u, "IB"):
		u = strings.TrimSuffix(u, "IB")
		if u == "" || strings.IndexByte(units, u[len(u)-1]) < 0 {
			return 0, bad // "5IB" is not a size
		}
	case strings.HasSuffix(u, "B"):
		u = strings.TrimSuffix(u, "B")
	}
	shift := 0
	if n := len(u); n > 0 {
		if i := strings.IndexByte(units, u[n-1]); i >= 0 {
			shift = 10 * (i + 1)
			u = u[:n-1]
		}
	}
	if u == "" || strings.ContainsAny(u, "+- _eEpPxX") {
		return 0, bad
	}
	const limit = uint64(1) << 63
	if whole, frac, dotted := strings.Cut(u, "."); dotted {
		if shift == 0 || whole == "" || frac == "" {
			return 0, bad
		}
		f, err := strconv.ParseFloat(u, 64)
		if err != nil {
			return 0, bad
		}
		v := math.Floor(f * float64(uint64(1)<<shift))
		if v >= float64(limit) {
			return 0, fmt.Errorf("size %q is too large (at most 8E)", s)
		}
		return uint64(v), nil
	}
	n, err := strconv.ParseUint(u, 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("size %q is too large (at most 8E)", s)
		}
		return 0, bad
	}
	if n >= limit>>shift {
		return 0, fmt.Errorf("size %q is too large (at most 8E)", s)
	}
	return n << shift, nil
}

// Path makes a file name safe to print on one line of text. A name with
// a control character (a newline, say), bytes that are not UTF-8, a
// backslash, or a leading double quote is printed quoted, Go-style, with
// escapes (\n, \t, \xNN, \\, \"); any other name prints as it is. So no
// name can forge a line or pass for another name.
func Path(p string) string {
	if !needsQuote(p) {
		return p
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, p[i])
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			q := strconv.QuoteRune(r) // 'x' with Go's escape inside
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(p[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

func needsQuote(p string) bool {
	if strings.HasPrefix(p, `"`) || !utf8.ValidString(p) {
		return true
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}
