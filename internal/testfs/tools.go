package testfs

import (
	"os"
	"os/exec"
	"testing"
)

// RequireCommand skips t when the program name is not installed (from the
// Debian package pkg), or fails it when the CI environment variable is
// set, as Require does: scripts/test installs it.
func RequireCommand(t testing.TB, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		why := name + " not found (install " + pkg + ")"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s needed and CI is set: %s", name, why)
		}
		t.Skip(why)
	}
}
