package cli

import (
	"testing"
	"time"
)

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"36h", "2026-11-01", "2026-11-01T10:00:00", "2026-11-01 10:00", "2026-11-01T10:00:00+02:00", "-1h", "soon", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSince(s, now)
		if err != nil {
			if !IsUsage(err) {
				t.Fatalf("parseSince(%q): %v is not a usage error", s, err)
			}
			return
		}
		if d, derr := time.ParseDuration(s); derr == nil && d >= 0 && !got.Equal(now.Add(-d)) {
			t.Fatalf("parseSince(%q) = %v, want %v", s, got, now.Add(-d))
		}
	})
}
