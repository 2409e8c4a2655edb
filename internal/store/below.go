package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// belowSQL starts a statement with the recursive table below(ino): the
// inodes below a volume's directories (themselves included; ?1 is the
// volume), by their recorded parents. UNION keeps each once, also through
// hard links and any cycle of stale rows.
func belowSQL(dirs []uint64) string {
	var b strings.Builder
	b.WriteString(`WITH RECURSIVE below(ino) AS (VALUES `)
	for i, d := range dirs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%d)", int64(d))
	}
	// CROSS JOIN keeps below outside: one index lookup per directory.
	b.WriteString(` UNION SELECT p.ino FROM below CROSS JOIN InodeParent p ON p.vol_id = ?1 AND p.parent = below.ino) `)
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
