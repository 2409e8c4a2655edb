package btrfs

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMissingCaps(t *testing.T) {
	const admin, search = 1 << unix.CAP_SYS_ADMIN, 1 << unix.CAP_DAC_READ_SEARCH
	for _, c := range []struct {
		name string
		eff  uint64
		want string // "" = no error
	}{
		{"root", ^uint64(0), ""},
		{"just the two", admin | search, ""},
		{"none", 0, "missing CAP_SYS_ADMIN and CAP_DAC_READ_SEARCH"},
		{"no handles", admin, "missing CAP_DAC_READ_SEARCH)"},
		{"no tree search", search | 1<<unix.CAP_DAC_OVERRIDE, "missing CAP_SYS_ADMIN)"},
		{"high capabilities only", 1 << 40, "missing CAP_SYS_ADMIN and"},
	} {
		err := missingCaps(c.eff)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (!errors.Is(err, ErrNeedRoot) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want ErrNeedRoot saying %q", c.name, err, c.want)
		}
	}
}

// childEnv makes the test binary, run again, only call CheckPrivileges.
const childEnv = "BEDUP_TEST_CHECK_PRIVILEGES"

// As root the check passes; run as nobody (uid 65534, which drops every
// capability) it fails with ErrNeedRoot.
func TestCheckPrivileges(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		err := CheckPrivileges()
		if errors.Is(err, ErrNeedRoot) {
			os.Stdout.WriteString("need-root: " + err.Error() + "\n")
			os.Exit(0)
		}
		os.Stdout.WriteString("unexpected: " + errString(err) + "\n")
		os.Exit(3)
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("root needed and CI is set")
		}
		t.Skip("root needed")
	}
	if err := CheckPrivileges(); err != nil {
		t.Fatalf("as root: %v", err)
	}
	bin := executableCopy(t)
	cmd := exec.Command(bin, "-test.run=^TestCheckPrivileges$")
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("as nobody: %s", out)
	if err != nil || !strings.Contains(string(out), "need-root: root privileges needed (missing CAP_SYS_ADMIN") {
		t.Errorf("as nobody: %v\n%s", err, out)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// executableCopy copies the test binary where an unprivileged user may run
// it (go test builds it in a directory only root can enter).
func executableCopy(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "bedup-privileges-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "btrfs.test")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}
