package store

import (
	"context"
	"fmt"
)

// SetFrozen records whether an inode is frozen: identical to files on
// other extents, and left unshared only because its volume was read-only
// in the run (a snapshot nobody named). A frozen inode is not flagged;
// Thaw flags it again. Record the flag first (SetResult, SetFlag): the
// writes of a batch are made in order.
func (b *Batch) SetFrozen(k InodeKey, frozen bool) {
	b.ops = append(b.ops, batchOp{kind: opFrozen, key: k, flagged: frozen})
}

// Thaw flags again the frozen inodes of a volume, for a run that may write
// into it (a snapshot named, or --include-frozen): their size groups are
// decided again, now that they can be merged. It returns how many there
// were.
func (d *DB) Thaw(ctx context.Context, volID int64) (int64, error) {
	res, err := d.db.ExecContext(ctx, `UPDATE Inode INDEXED BY ix_Inode_frozen
		SET has_updates = 1, frozen = 0 WHERE frozen = 1 AND vol_id = ?`, volID)
	if err != nil {
		return 0, fmt.Errorf("thaw frozen files: %w", err)
	}
	return res.RowsAffected()
}

// FrozenInodes lists the frozen inodes of a volume by inode number.
func (d *DB) FrozenInodes(ctx context.Context, volID int64) ([]uint64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT ino FROM Inode INDEXED BY ix_Inode_frozen
		WHERE frozen = 1 AND vol_id = ? ORDER BY ino`, volID)
	if err != nil {
		return nil, fmt.Errorf("list frozen files: %w", err)
	}
	defer rows.Close()
	var out []uint64
	for rows.Next() {
		var ino uint64
		if err := rows.Scan(&ino); err != nil {
			return nil, err
		}
		out = append(out, ino)
	}
	return out, rows.Err()
}
