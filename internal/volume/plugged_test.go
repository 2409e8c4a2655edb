package volume

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDevNode(t *testing.T) {
	for _, c := range []struct {
		name, uevent, want string
	}{
		{"loop0", "MAJOR=7\nMINOR=0\nDEVNAME=loop0\nDEVTYPE=disk\nDISKSEQ=9\n", "/dev/loop0"},
		{"dm-0", "MAJOR=252\nMINOR=0\nDEVNAME=dm-0\n", "/dev/dm-0"},
		{"cciss!c0d0", "", "/dev/cciss/c0d0"},
		{"sda1", "MAJOR=8\nDEVNAME=\n", "/dev/sda1"},
		{"nvme0n1p2", "-", "/dev/nvme0n1p2"}, // no uevent file
	} {
		dir := t.TempDir()
		if c.uevent != "-" {
			if err := os.WriteFile(filepath.Join(dir, "uevent"), []byte(c.uevent), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got := devNode(dir, c.name); got != c.want {
			t.Errorf("devNode(%s) = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestProbeable(t *testing.T) {
	for _, c := range []struct {
		name    string
		size    string // "" = no size file
		holders []string
		want    bool
	}{
		{"disk", "409600\n", nil, true},
		{"just big enough", "136\n", nil, true},
		{"too small for a superblock", "135\n", nil, false},
		{"unattached loop device", "0\n", nil, false},
		{"no size", "", nil, false},
		{"garbage size", "many\n", nil, false},
		{"RAID member or LUKS backing device", "409600\n", []string{"dm-0"}, false},
	} {
		dir := t.TempDir()
		if c.size != "" {
			if err := os.WriteFile(filepath.Join(dir, "size"), []byte(c.size), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Mkdir(filepath.Join(dir, "holders"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, h := range c.holders {
			if err := os.WriteFile(filepath.Join(dir, "holders", h), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got := probeable(dir); got != c.want {
			t.Errorf("%s: probeable = %v, want %v", c.name, got, c.want)
		}
	}
}
