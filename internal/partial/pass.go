package partial

import (
	"context"
	"os"
	"time"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/store"
)

// pass is one partial-file pass over one filesystem's volumes.
type pass struct {
	db       *store.DB
	fsID     int64
	o        Options
	vols     map[int64]*dedupe.Volume
	scope    *store.Scope
	top      *os.File // any directory of the filesystem, for tree searches
	geo      btrfs.CsumGeometry
	csumType uint16
	holders  *store.HoldersQuery
	files    map[int64]*fileInfo // facts, by index entry
	done     map[int64]bool      // destinations handled this pass
	synced   bool                // committed since the page began
	batch    *store.IndexBatch   // the page's writes
	pending  []toRecord          // destinations to record once committed
	stats    Stats
}

// pageSize is how many stale files are indexed and matched per committed
// batch.
const pageSize = 64

// purgeBatch is how many deleted index entries are purged per transaction.
const purgeBatch = 256

// Run deduplicates parts of the large files of one filesystem's volumes
// (the same volumes as dedupe.Run; call it after dedupe.Run, which shares
// whole-file twins first). Files whose index entry is current are not
// looked at, so a pass over unchanged volumes reads nothing and asks the
// kernel nothing. A volume restricted to directories takes part with the
// files below them only: the others are neither sources nor destinations.
func Run(ctx context.Context, db *store.DB, fsID int64, vols []dedupe.Volume, o Options) (st Stats, err error) {
	start := time.Now()
	o.defaults()
	p := &pass{db: db, fsID: fsID, o: o, vols: map[int64]*dedupe.Volume{},
		files: map[int64]*fileInfo{}, done: map[int64]bool{}}
	defer func() { st.Elapsed = time.Since(start) }()
	if len(vols) == 0 {
		return p.stats, nil
	}
	ids := make([]int64, 0, len(vols))
	dirs := map[int64][]uint64{}
	for i := range vols {
		p.vols[vols[i].StoreID] = &vols[i]
		ids = append(ids, vols[i].StoreID)
		dirs[vols[i].StoreID] = vols[i].V.Dirs
	}
	p.top = vols[0].V.FS.Top()
	var info btrfs.FSInfo
	info, err = btrfs.GetFSInfo(p.top)
	if err != nil {
		return p.stats, err
	}
	if info.SectorSize != BlockSize || info.CsumSize == 0 {
		return p.stats, nil // blocks of another size: not supported
	}
	p.geo, p.csumType = info.Geometry(), info.CsumType
	if err := p.purge(ctx); err != nil {
		return p.stats, err
	}
	if p.scope, err = db.NewIndexScope(ctx, ids, dirs); err != nil {
		return p.stats, err
	}
	defer p.scope.Close()
	if p.holders, err = db.PrepareHolders(ctx, maxHolders); err != nil {
		return p.stats, err
	}
	defer p.holders.Close()
	err = p.pages(ctx) // before p.stats is read
	return p.stats, err
}

// purge deletes the key rows of deleted index entries.
func (p *pass) purge(ctx context.Context) error {
	for {
		n, err := p.db.PurgeKeys(ctx, purgeBatch)
		if err != nil || n < purgeBatch {
			return err
		}
	}
}

// pages indexes and matches the stale files page by page, largest first,
// committing each page.
func (p *pass) pages(ctx context.Context) error {
	var after *store.IndexedFile
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, err := p.db.StaleIndexed(ctx, p.scope, p.o.MinSize, after, pageSize)
		if err != nil || len(page) == 0 {
			return err
		}
		after = &page[len(page)-1]
		p.batch, p.synced = p.db.NewIndexBatch(), false
		toMatch := p.indexPage(page, p.batch)
		if err := p.batch.Commit(ctx); err != nil {
			return err
		}
		err = p.matchPage(ctx, toMatch)
		p.recordShared(p.batch)
		if cerr := p.batch.Commit(ctx); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// matchPage matches the page's new and changed files, then marks them
// matched (not under DryRun: a real run must do the same work).
func (p *pass) matchPage(ctx context.Context, toMatch [][2]uint64) error {
	changed, err := p.changedFiles(ctx, toMatch)
	if err != nil {
		return err
	}
	for _, f := range changed {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.matchChanged(ctx, f); err != nil {
			return err
		}
		if !p.o.DryRun {
			p.batch.Matched(f.m.VolID, f.m.Ino, f.m.Transid, nil)
		}
	}
	return nil
}
