package cli

import (
	"testing"
	"time"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.Local)
	for _, c := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"36h", now.Add(-36 * time.Hour), false},
		{"0s", now, false},
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.Local), false},
		{"2026-11-01T08:30:00", time.Date(2026, 11, 1, 8, 30, 0, 0, time.Local), false},
		{"2026-11-01 08:30", time.Date(2026, 11, 1, 8, 30, 0, 0, time.Local), false},
		{"2026-11-01T08:30:00Z", time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC), false},
		{"-5h", time.Time{}, true},
		{"yesterday", time.Time{}, true},
		{"2026-13-01", time.Time{}, true},
	} {
		got, err := parseSince(c.in, now)
		if (err != nil) != c.bad || (!c.bad && !got.Equal(c.want)) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
