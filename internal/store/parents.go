package store

import (
	"database/sql"
	"fmt"
	"strings"
)

// parentBuf holds the parent rows a ScanWriter has yet to write.
type parentBuf struct {
	// fresh: the scan rebuilds the volume's rows, so they are all dropped
	// in its first batch instead of inode by inode.
	fresh, cleared, clearing bool
	inos                     []uint64    // inodes whose rows are replaced
	dirs                     []uint64    // directories: no candidate rows
	rows                     []parentRow // to insert
	insert                   *sql.Stmt   // of rowsPerStmt rows, in the open transaction
}

type parentRow struct {
	ino, parent uint64
	dir         bool
}

// begin runs at the start of each batch transaction.
func (p *parentBuf) begin(w *ScanWriter) error {
	p.insert = nil // statements die with their transaction
	if !p.fresh || p.cleared {
		return nil
	}
	if _, err := w.tx.ExecContext(w.ctx, `DELETE FROM InodeParent WHERE vol_id = ?`, w.volID); err != nil {
		return fmt.Errorf("drop parent directories: %w", w.d.explain(err))
	}
	p.clearing = true
	return nil
}

// committed runs after a batch committed.
func (p *parentBuf) committed() {
	if p.clearing {
		p.cleared, p.clearing = true, false
	}
}

// reset forgets what a rolled-back batch held.
func (p *parentBuf) reset() {
	p.inos, p.dirs, p.rows, p.clearing = p.inos[:0], p.dirs[:0], p.rows[:0], false
}

// Fresh declares that this scan walks the whole volume and records the
// parents of every directory and candidate anew: the volume's parent rows
// are dropped in the first batch rather than inode by inode. Call it before
// any write.
func (w *ScanWriter) Fresh() { w.parents.fresh = true }

// SetParents replaces the recorded parent directories of inode ino, a
// candidate file (from its INODE_REF and INODE_EXTREF items). A parent
// equal to ino (the ".." of a subvolume's root) is not recorded.
func (w *ScanWriter) SetParents(ino uint64, parents []uint64) error {
	return w.setParents(ino, parents, false)
}

// SetDirParents is SetParents for a directory (none: it was deleted). It
// also drops a tracked file's row that holds the same inode number (a file
// deleted since, whose number was reused).
func (w *ScanWriter) SetDirParents(ino uint64, parents []uint64) error {
	w.parents.dirs = append(w.parents.dirs, ino)
	return w.setParents(ino, parents, true)
}

func (w *ScanWriter) setParents(ino uint64, parents []uint64, dir bool) error {
	p := &w.parents
	if !p.fresh {
		p.inos = append(p.inos, ino)
	}
	for i, par := range parents {
		if par != ino && !contains(parents[:i], par) {
			p.rows = append(p.rows, parentRow{ino, par, dir})
		}
	}
	if len(p.inos) >= rowsPerTx || len(p.dirs) >= rowsPerTx || len(p.rows) >= rowsPerTx {
		return w.flush()
	}
	return nil
}

func contains(list []uint64, x uint64) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

func (w *ScanWriter) flushParents() error {
	p := &w.parents
	if len(p.inos) == 0 && len(p.dirs) == 0 && len(p.rows) == 0 {
		return nil
	}
	if err := w.begin(); err != nil {
		return err
	}
	if len(p.dirs) > 0 {
		res, err := w.tx.ExecContext(w.ctx, `DELETE FROM Inode WHERE vol_id = ? AND ino IN `+inoList(p.dirs), w.volID)
		if err != nil {
			return fmt.Errorf("drop files replaced by directories: %w", w.d.explain(err))
		}
		if n, err := res.RowsAffected(); err == nil {
			w.Deleted += int(n)
		}
	}
	if len(p.inos) > 0 {
		if _, err := w.tx.ExecContext(w.ctx, `DELETE FROM InodeParent WHERE vol_id = ? AND ino IN `+inoList(p.inos), w.volID); err != nil {
			return fmt.Errorf("replace parent directories: %w", w.d.explain(err))
		}
	}
	for rows := p.rows; len(rows) > 0; {
		n := min(len(rows), rowsPerStmt)
		if err := w.insertParents(rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	w.inTx += len(p.inos) + len(p.dirs) + len(p.rows)
	p.inos, p.dirs, p.rows = p.inos[:0], p.dirs[:0], p.rows[:0]
	if w.inTx >= rowsPerTx {
		return w.commit()
	}
	return nil
}

// insertParents inserts up to rowsPerStmt rows in one statement; the
// full-size one is prepared once per batch transaction.
func (w *ScanWriter) insertParents(rows []parentRow) error {
	args := make([]any, 0, 4*len(rows))
	for _, r := range rows {
		args = append(args, w.volID, int64(r.ino), int64(r.parent), r.dir)
	}
	q := `INSERT OR IGNORE INTO InodeParent (vol_id, ino, parent, dir) VALUES (?,?,?,?)` + strings.Repeat(",(?,?,?,?)", len(rows)-1)
	var err error
	if len(rows) == rowsPerStmt {
		if w.parents.insert == nil {
			if w.parents.insert, err = w.tx.PrepareContext(w.ctx, q); err != nil {
				return fmt.Errorf("record parent directories: %w", w.d.explain(err))
			}
		}
		_, err = w.parents.insert.ExecContext(w.ctx, args...)
	} else {
		_, err = w.tx.ExecContext(w.ctx, q, args...)
	}
	if err != nil {
		return fmt.Errorf("record parent directories: %w", w.d.explain(err))
	}
	return nil
}

// Subdirs lists the directories recorded as children of any of dirs,
// with what this scan has written so far. A scan checks them after the
// walk when their parent changed: a deleted directory's items vanish from
// the tree without a trace, but its parent changes.
func (w *ScanWriter) Subdirs(dirs []uint64) ([]uint64, error) {
	if err := w.flushParents(); err != nil {
		return nil, err
	}
	if err := w.begin(); err != nil {
		return nil, err
	}
	var out []uint64
	for len(dirs) > 0 {
		n := min(len(dirs), 512)
		rows, err := w.tx.QueryContext(w.ctx, `SELECT DISTINCT ino FROM InodeParent INDEXED BY ix_InodeParent_subdirs
			WHERE vol_id = ? AND parent IN `+inoList(dirs[:n])+` AND dir = 1`, w.volID)
		if err != nil {
			return nil, fmt.Errorf("subdirectories: %w", err)
		}
		subs, err := scanInos(rows)
		if err != nil {
			return nil, fmt.Errorf("subdirectories: %w", err)
		}
		out = append(out, subs...)
		dirs = dirs[n:]
	}
	return out, nil
}

// DropTree forgets the parent rows of a deleted directory and of every
// inode recorded below it: by its recorded parents, such an inode is gone
// too, or it was moved out in the same interval and gets its new parents
// when the scan reaches it. Tracked files keep their rows (a file moved
// out keeps its hash); a deleted one is dropped when dedup finds it gone.
func (w *ScanWriter) DropTree(dir uint64) error {
	if err := w.flushParents(); err != nil {
		return err
	}
	if err := w.begin(); err != nil {
		return err
	}
	q := belowSQL([]uint64{dir}) + `DELETE FROM InodeParent WHERE vol_id = ?1 AND ino IN below`
	if _, err := w.tx.ExecContext(w.ctx, q, w.volID); err != nil {
		return fmt.Errorf("forget deleted directory %d: %w", dir, err)
	}
	w.inTx++
	return nil
}

// inoList renders inode numbers as an SQL list (integers the program
// produced itself, inlined to stay clear of the bound parameter limit).
func inoList(inos []uint64) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, ino := range inos {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, int64(ino))
	}
	b.WriteByte(')')
	return b.String()
}
