package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// varLib is where system services keep their state; tests point it at a
// temporary directory.
var varLib = "/var/lib"

// EnvDB is the environment variable that overrides the default database
// path.
const EnvDB = "BEDUP_DB"

// Location is where the tracking database is by default.
type Location struct {
	// Path is the database file to use.
	Path string
	// Legacy is set when Path is the per-user location older versions used
	// ($XDG_DATA_HOME/bedup/db.sqlite or ~/.local/share/bedup/db.sqlite),
	// chosen because a database exists there and none at Preferred. Tell
	// the user once: moving the file to Preferred makes this go away.
	Legacy bool
	// Preferred is where the database belongs (the system location, or
	// $BEDUP_DB); equal to Path unless Legacy.
	Preferred string
}

// DefaultLocation finds the database a run uses when none is named:
// $BEDUP_DB if set; else /var/lib/bedup/bedup.db, unless no database is
// there yet and older versions left one in the invoking user's data
// directory, which is then used (Legacy). It depends on neither HOME nor
// PATH, so it works for a system service or a cron job; without HOME there
// is simply no legacy location to look at.
func DefaultLocation() (Location, error) {
	if p := os.Getenv(EnvDB); p != "" {
		return Location{Path: p, Preferred: p}, nil
	}
	sys := filepath.Join(varLib, "bedup", "bedup.db")
	loc := Location{Path: sys, Preferred: sys}
	switch exists, err := isFile(sys); {
	case err != nil:
		return Location{}, fmt.Errorf("default database %s: %w", sys, err)
	case exists:
		return loc, nil
	}
	if old := legacyPath(); old != "" {
		if exists, _ := isFile(old); exists {
			loc.Path, loc.Legacy = old, true
		}
	}
	return loc, nil
}

// DefaultPath is the path of DefaultLocation, for callers that have no way
// to tell the user about a legacy location.
func DefaultPath() (string, error) {
	loc, err := DefaultLocation()
	return loc.Path, err
}

// legacyPath is where older versions kept the database:
// $XDG_DATA_HOME/bedup/db.sqlite, or $HOME/.local/share/bedup/db.sqlite
// when XDG_DATA_HOME is unset or relative; "" when neither is known.
func legacyPath() string {
	dir := os.Getenv("XDG_DATA_HOME")
	if !filepath.IsAbs(dir) {
		home := os.Getenv("HOME")
		if !filepath.IsAbs(home) {
			return ""
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "bedup", "db.sqlite")
}

// isFile reports whether p exists (as anything but a directory); a missing
// p or parent is no error.
func isFile(p string) (bool, error) {
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return false, nil
	case err != nil:
		return false, errors.Unwrap(err)
	}
	return !st.IsDir(), nil
}
