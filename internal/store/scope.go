package store

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
)

// Scope is what a dedup pass works on: the tracked inodes of whole
// volumes, and of volumes restricted to the files below some of their
// directories. A restricted scope lists the inodes below those directories
// once, in a temporary table, and every query of the pass reads it.
type Scope struct {
	d     *DB
	vols  []int64 // every volume, whole or restricted
	whole []int64 // the unrestricted ones
	table string  // temporary table of (vol_id, ino) below the restrictions, or ""
}

// Volumes is the scope of whole volumes (store ids). It needs no Close.
func Volumes(ids []int64) *Scope { return &Scope{vols: ids, whole: ids} }

var scopeSeq atomic.Int64

// NewScope prepares the scope of a pass over volumes vols (store ids).
// dirs restricts some of them to the files below the given directories
// (inode numbers in that volume, each with its whole subtree, hard links
// and files of any size included); a volume without an entry, or with a
// nil one, is whole. Ancestry comes from the parents the scan recorded, so
// preparing costs one indexed walk of the rows below those directories,
// and no file is opened (nothing at all when no inode of vols is flagged).
// Close the scope after the pass.
func (d *DB) NewScope(ctx context.Context, vols []int64, dirs map[int64][]uint64) (*Scope, error) {
	s, restricted := splitScope(d, vols, dirs)
	if len(restricted) == 0 {
		return s, nil
	}
	// Nothing flagged in the pass: no size group to look at, whatever
	// the scope. The usual rerun over unchanged directories stops here.
	var flagged int
	err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM Inode INDEXED BY ix_Inode_flagged
		WHERE has_updates = 1 AND vol_id IN `+volList(vols)+` LIMIT 1)`).Scan(&flagged)
	if err != nil {
		return nil, fmt.Errorf("prepare directory scope: %w", err)
	}
	if flagged == 0 {
		s.vols = s.whole
		return s, nil
	}
	sort.Slice(restricted, func(i, j int) bool { return restricted[i] < restricted[j] })
	if err := d.fillScope(ctx, s, restricted, dirs); err != nil {
		return nil, err
	}
	return s, nil
}

// splitScope starts a scope over vols: the whole volumes are in it
// already; the restricted ones are returned for fillScope.
func splitScope(d *DB, vols []int64, dirs map[int64][]uint64) (*Scope, []int64) {
	s := &Scope{d: d, vols: vols}
	var restricted []int64
	for _, id := range vols {
		if len(dirs[id]) == 0 {
			s.whole = append(s.whole, id)
		} else {
			restricted = append(restricted, id)
		}
	}
	return s, restricted
}

// fillScope creates the scope's temporary table and fills it with the
// inodes below the directories each restricted volume is limited to.
func (d *DB) fillScope(ctx context.Context, s *Scope, restricted []int64, dirs map[int64][]uint64) error {
	s.table = fmt.Sprintf("temp.bedup_scope_%d", scopeSeq.Add(1))
	if _, err := d.db.ExecContext(ctx, `CREATE TABLE `+s.table+` (
		vol_id INTEGER NOT NULL, ino INTEGER NOT NULL, PRIMARY KEY (vol_id, ino)) WITHOUT ROWID`); err != nil {
		return fmt.Errorf("prepare directory scope: %w", err)
	}
	for _, id := range restricted {
		q := belowSQL(dirs[id]) + `INSERT OR IGNORE INTO ` + s.table + ` (vol_id, ino) SELECT ?1, ino FROM below`
		if _, err := d.db.ExecContext(ctx, q, id); err != nil {
			s.Close()
			return fmt.Errorf("prepare directory scope: %w", err)
		}
	}
	return nil
}

// Restricted reports whether some volume of the scope is restricted to
// directories.
func (s *Scope) Restricted() bool { return s.table != "" }

// Close drops the scope's temporary table, if any.
func (s *Scope) Close() error {
	if s.table == "" {
		return nil
	}
	_, err := s.d.db.Exec(`DROP TABLE IF EXISTS ` + s.table)
	s.table = ""
	if err != nil {
		return fmt.Errorf("drop directory scope: %w", err)
	}
	return nil
}

// cond is the SQL condition that selects the scope's rows of Inode
// (columns vol_id and ino, unqualified).
func (s *Scope) cond() string {
	if s.table == "" {
		return `vol_id IN ` + volList(s.vols)
	}
	// The unary + keeps the planner from driving the query from the
	// scope's table (a lookup per inode below the directories, per size
	// group): the size order leads, each row is checked in the scope.
	return `vol_id IN ` + volList(s.vols) + ` AND (vol_id IN ` + volList(s.whole) +
		` OR (+vol_id, +ino) IN (SELECT vol_id, ino FROM ` + s.table + `))`
}
