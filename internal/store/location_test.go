package store

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDefaultLocation(t *testing.T) {
	const (
		sys     = "varlib/bedup/bedup.db"
		homeOld = "home/.local/share/bedup/db.sqlite"
		xdgOld  = "xdg/bedup/db.sqlite"
	)
	unset := "\x00unset"
	for _, c := range []struct {
		name       string
		env        map[string]string // relative values are made absolute under the test's root, but "rel/..."
		files      []string          // created under the root
		dirs       []string
		want       string // relative to the root, or absolute
		wantLegacy bool
	}{
		{name: "fresh system, no HOME", env: map[string]string{"HOME": unset, "XDG_DATA_HOME": unset}, want: sys},
		{name: "fresh system with HOME", env: map[string]string{"HOME": "home", "XDG_DATA_HOME": unset}, want: sys},
		{name: "legacy in HOME", env: map[string]string{"HOME": "home", "XDG_DATA_HOME": unset},
			files: []string{homeOld}, want: homeOld, wantLegacy: true},
		{name: "legacy in XDG_DATA_HOME without HOME", env: map[string]string{"HOME": unset, "XDG_DATA_HOME": "xdg"},
			files: []string{xdgOld}, want: xdgOld, wantLegacy: true},
		{name: "XDG_DATA_HOME wins over HOME, as it did", env: map[string]string{"HOME": "home", "XDG_DATA_HOME": "xdg"},
			files: []string{homeOld}, want: sys},
		{name: "relative XDG_DATA_HOME ignored", env: map[string]string{"HOME": "home", "XDG_DATA_HOME": "rel/xdg"},
			files: []string{homeOld}, want: homeOld, wantLegacy: true},
		{name: "relative HOME ignored", env: map[string]string{"HOME": "rel/home", "XDG_DATA_HOME": unset}, want: sys},
		{name: "system database wins over legacy", env: map[string]string{"HOME": "home", "XDG_DATA_HOME": unset},
			files: []string{homeOld, sys}, want: sys},
		{name: "legacy path is a directory", env: map[string]string{"HOME": "home", "XDG_DATA_HOME": unset},
			dirs: []string{homeOld}, want: sys},
		{name: "BEDUP_DB wins", env: map[string]string{EnvDB: "/elsewhere/my.db", "HOME": "home"},
			files: []string{homeOld, sys}, want: "/elsewhere/my.db"},
		{name: "BEDUP_DB without HOME", env: map[string]string{EnvDB: "/elsewhere/my.db", "HOME": unset}, want: "/elsewhere/my.db"},
		{name: "empty BEDUP_DB ignored", env: map[string]string{EnvDB: "", "HOME": unset, "XDG_DATA_HOME": unset}, want: sys},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			old := varLib
			varLib = filepath.Join(root, "varlib")
			t.Cleanup(func() { varLib = old })
			abs := func(p string) string {
				if filepath.IsAbs(p) {
					return p
				}
				return filepath.Join(root, p)
			}
			if _, ok := c.env[EnvDB]; !ok {
				t.Setenv(EnvDB, "")
			}
			for k, v := range c.env {
				t.Setenv(k, "")
				switch {
				case v == unset:
					os.Unsetenv(k)
				case filepath.Dir(v) == "rel" || v == "" || filepath.IsAbs(v):
					os.Setenv(k, v)
				default:
					os.Setenv(k, abs(v))
				}
			}
			for _, f := range c.files {
				if err := os.MkdirAll(filepath.Dir(abs(f)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(abs(f), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range c.dirs {
				if err := os.MkdirAll(abs(d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			loc, err := DefaultLocation()
			if err != nil {
				t.Fatal(err)
			}
			if loc.Path != abs(c.want) || loc.Legacy != c.wantLegacy {
				t.Errorf("got %+v, want path %s legacy %v", loc, abs(c.want), c.wantLegacy)
			}
			wantPreferred := abs(sys)
			if filepath.IsAbs(c.want) {
				wantPreferred = c.want
			}
			if loc.Preferred != wantPreferred {
				t.Errorf("preferred %s, want %s", loc.Preferred, wantPreferred)
			}
			if p, err := DefaultPath(); err != nil || p != loc.Path {
				t.Errorf("DefaultPath = %q, %v", p, err)
			}
		})
	}
}
