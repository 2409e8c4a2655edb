package dedupe

import (
	"fmt"
	"os"
	"path"

	"github.com/bedup/bedup/internal/btrfs"
)

// reasonExcluded marks a member left out by Options.Exclude. It is no
// skip: the file is counted in Stats.Excluded and its flag is cleared, as
// for an examined file, so that its group does not come back every run.
const reasonExcluded Reason = "excluded"

// excluded reports whether a name of the member, joined to its volume's
// path, matches Options.Exclude. A file whose names did not all fit the
// kernel's answer is excluded too: one of the others might match.
func (p *pass) excluded(f *file, h *os.File) (bool, error) {
	names, missed, err := btrfs.InoPaths(h, f.m.Ino)
	if err != nil {
		return false, fmt.Errorf("names of inode %d: %w", f.m.Ino, err)
	}
	if missed > 0 {
		return true, nil
	}
	for _, n := range names {
		if p.o.Exclude.Match(path.Join(f.vol.V.Desc, n)) {
			return true, nil
		}
	}
	return false, nil
}
