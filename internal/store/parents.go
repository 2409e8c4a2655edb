package store

import (
	"context"
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
	rows                     [][2]uint64 // (ino, parent) to insert
}

// begin runs at the start of each batch transaction.
func (p *parentBuf) begin(w *ScanWriter) error {
	if !p.fresh || p.cleared {
		return nil
	}
	if _, err := w.tx.ExecContext(w.ctx, `DELETE FROM InodeParent WHERE vol_id = ?`, w.volID); err != nil {
		return fmt.Errorf("drop parent directories: %w", err)
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
// directory or a candidate (from its INODE_REF and INODE_EXTREF items);
// none forgets them, for an inode that is neither any more. A parent equal
// to ino (the ".." of a subvolume's root) is not recorded.
func (w *ScanWriter) SetParents(ino uint64, parents []uint64) error {
	p := &w.parents
	if !p.fresh {
		p.inos = append(p.inos, ino)
	}
	for i, par := range parents {
		if par != ino && !contains(parents[:i], par) {
			p.rows = append(p.rows, [2]uint64{ino, par})
		}
	}
	if len(p.inos) >= rowsPerStmt || len(p.dirs) >= rowsPerStmt || len(p.rows) >= rowsPerStmt {
		return w.flushParents()
	}
	return nil
}

// SetDirParents is SetParents for a directory, which also drops a tracked
// file's row that holds the same inode number (a file deleted since).
func (w *ScanWriter) SetDirParents(ino uint64, parents []uint64) error {
	w.parents.dirs = append(w.parents.dirs, ino)
	return w.SetParents(ino, parents)
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
			return fmt.Errorf("drop files replaced by directories: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil {
			w.Deleted += int(n)
		}
	}
	if len(p.inos) > 0 {
		if _, err := w.tx.ExecContext(w.ctx, `DELETE FROM InodeParent WHERE vol_id = ? AND ino IN `+inoList(p.inos), w.volID); err != nil {
			return fmt.Errorf("replace parent directories: %w", err)
		}
	}
	for rows := p.rows; len(rows) > 0; {
		n := min(len(rows), rowsPerStmt)
		args := make([]any, 0, 3*n)
		for _, r := range rows[:n] {
			args = append(args, w.volID, int64(r[0]), int64(r[1]))
		}
		q := `INSERT OR IGNORE INTO InodeParent (vol_id, ino, parent) VALUES (?,?,?)` + strings.Repeat(",(?,?,?)", n-1)
		if _, err := w.tx.ExecContext(w.ctx, q, args...); err != nil {
			return fmt.Errorf("record parent directories: %w", err)
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

// Parents lists the recorded parent directories of an inode, in order.
func (d *DB) Parents(ctx context.Context, volID int64, ino uint64) ([]uint64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT parent FROM InodeParent WHERE vol_id = ? AND ino = ? ORDER BY parent`, volID, int64(ino))
	if err != nil {
		return nil, fmt.Errorf("parents of inode %d: %w", ino, err)
	}
	return scanInos(rows)
}

// belowSQL is a recursive query of the inodes below a volume's directories
// (themselves included), from their recorded parents; UNION keeps each
// once, also through hard links and any cycle of stale rows.
func belowSQL(dirs []uint64) string {
	var b strings.Builder
	b.WriteString(`WITH RECURSIVE below(ino) AS (VALUES `)
	for i, d := range dirs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%d)", int64(d))
	}
	b.WriteString(` UNION SELECT p.ino FROM below CROSS JOIN InodeParent p ON p.vol_id = ?1 AND p.parent = below.ino) `)
	return b.String()
}

// InodesBelow lists, in order, the directories and tracked files of a
// volume that are below any of dirs (directory inode numbers) by their
// recorded parents, dirs included: what a pass restricted to them sees.
func (d *DB) InodesBelow(ctx context.Context, volID int64, dirs []uint64) ([]uint64, error) {
	if len(dirs) == 0 {
		return nil, nil
	}
	rows, err := d.db.QueryContext(ctx, belowSQL(dirs)+`SELECT ino FROM below ORDER BY ino`, volID)
	if err != nil {
		return nil, fmt.Errorf("inodes below directories: %w", err)
	}
	return scanInos(rows)
}

func scanInos(rows *sql.Rows) ([]uint64, error) {
	defer rows.Close()
	var out []uint64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, uint64(v))
	}
	return out, rows.Err()
}
