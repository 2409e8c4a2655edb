package partial

import (
	"context"
	"os"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/store"
)

// fileInfo is an indexed file of the pass with the facts that choose
// sources and destinations, learnt once per pass.
type fileInfo struct {
	m         store.IndexedFile
	vol       *dedupe.Volume
	nocow     bool
	immutable bool
	shared    uint64 // bytes on extents the kernel calls shared
	bad       bool   // could not be examined: takes no part
}

// open opens a file by handle, read-only.
func (p *pass) open(f *fileInfo) (*os.File, error) {
	v := f.vol.V
	return btrfs.OpenByHandle(v.FS.Top(), v.ID, f.m.Ino, f.m.Generation)
}

// info returns the file behind an index entry, examined, or nil when it is
// outside the pass (another filesystem, a volume left out, a directory
// restriction) or gone.
func (p *pass) info(ctx context.Context, id int64) (*fileInfo, error) {
	if f, ok := p.files[id]; ok {
		return f, nil
	}
	m, ok, err := p.db.IndexedFileByID(ctx, p.scope, id)
	if err != nil {
		return nil, err
	}
	if ok && m.Size < p.o.MinSize {
		// It shrank below the threshold since it was keyed: its keys go.
		if p.batch != nil && !p.o.DryRun {
			p.batch.Unindex(m.VolID, m.Ino)
		}
		ok = false
	}
	var f *fileInfo
	if v := p.vols[m.VolID]; ok && v != nil {
		f = &fileInfo{m: m, vol: v}
		p.examine(f)
	}
	if len(p.files) >= maxFileInfos {
		clear(p.files) // bounded memory: facts are cheap to learn again
	}
	p.files[id] = f
	return f, nil
}

// maxFileInfos bounds the facts kept per pass.
const maxFileInfos = 1 << 16

// examine learns a file's flags and how much of it is shared.
func (p *pass) examine(f *fileInfo) {
	h, err := p.open(f)
	if err != nil {
		f.bad = true
		return
	}
	defer h.Close()
	st, err := btrfs.Fstat(h)
	if err != nil || uint64(st.Size) != f.m.Size {
		f.bad = true
		return
	}
	flags, err := btrfs.GetFlags(h)
	if err != nil {
		f.bad = true
		return
	}
	f.nocow, f.immutable = flags&btrfs.FlagNocow != 0, flags&btrfs.FlagImmutable != 0
	ext, err := btrfs.Fiemap(h)
	if err != nil {
		f.bad = true
		return
	}
	for _, e := range ext {
		if e.Located() && e.Shared() {
			f.shared += e.Length
		}
	}
}

// better reports whether a is a better source than b: the copy whose
// extents are most shared already (pinned by a snapshot: sharing from it
// frees the others), then one that cannot be written anyway, then the
// longer (a prefix copy shares all of itself from it), then the lowest
// (subvolume, inode). It is a total order, so no two files are each
// other's source.
func better(a, b *fileInfo) bool {
	switch {
	case a.shared != b.shared:
		return a.shared > b.shared
	case a.vol.Writable != b.vol.Writable:
		return !a.vol.Writable
	case a.m.Size != b.m.Size:
		return a.m.Size > b.m.Size
	case a.vol.V.ID != b.vol.V.ID:
		return a.vol.V.ID < b.vol.V.ID
	}
	return a.m.Ino < b.m.Ino
}

// canReceive reports whether a file may be a destination.
func canReceive(f *fileInfo) bool {
	return f != nil && !f.bad && f.vol.Writable && !f.immutable
}
