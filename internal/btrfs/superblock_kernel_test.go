package btrfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/testfs"
)

// ReadSuperblock reads what mkfs.btrfs wrote, and finds nothing on a file
// that holds no Btrfs or is too short to hold a superblock.
func TestReadSuperblock(t *testing.T) {
	testfs.Require(t)
	dir := t.TempDir()
	const uuid = "5b7e0b8c-1c1f-4a52-9a57-0e3c1d2f4a6b"
	img := filepath.Join(dir, "img")
	testfs.WriteFile(t, img, nil)
	if err := os.Truncate(img, 200<<20); err != nil {
		t.Fatal(err)
	}
	testfs.Run(t, "mkfs.btrfs", "-q", "-L", "somelabel", "-U", uuid, img)
	s, err := btrfs.ReadSuperblock(img)
	if err != nil {
		t.Fatal(err)
	}
	if s.UUID() != uuid || s.Label != "somelabel" || !s.Verified || s.NumDevices != 1 || s.DevID != 1 || s.TotalBytes != 200<<20 {
		t.Errorf("superblock %+v", s)
	}
	zero := testfs.WriteFile(t, filepath.Join(dir, "zero"), make([]byte, 1<<20))
	short := testfs.WriteFile(t, filepath.Join(dir, "short"), make([]byte, 4096))
	for _, p := range []string{zero, short} {
		if _, err := btrfs.ReadSuperblock(p); !errors.Is(err, btrfs.ErrNoSuperblock) {
			t.Errorf("%s: %v, want ErrNoSuperblock", filepath.Base(p), err)
		}
	}
	if _, err := btrfs.ReadSuperblock(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}
