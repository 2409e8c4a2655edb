package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Filesystem is a Btrfs filesystem the database knows.
type Filesystem struct {
	ID    int64
	UUID  string // dashed lowercase
	Label string
}

// EnsureFilesystem returns the row of the filesystem with this UUID,
// creating it (or updating its label) as needed.
func (d *DB) EnsureFilesystem(ctx context.Context, uuid, label string) (Filesystem, error) {
	var fs Filesystem
	err := d.db.QueryRowContext(ctx, `
		INSERT INTO Filesystem (uuid, label) VALUES (?, ?)
		ON CONFLICT (uuid) DO UPDATE SET label = excluded.label
		RETURNING id, uuid, coalesce(label, '')`, uuid, label).Scan(&fs.ID, &fs.UUID, &fs.Label)
	if err != nil {
		return fs, fmt.Errorf("record filesystem %s: %w", uuid, err)
	}
	return fs, nil
}

// Filesystems lists every known filesystem, oldest first.
func (d *DB) Filesystems(ctx context.Context) ([]Filesystem, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, uuid, coalesce(label, '') FROM Filesystem ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list filesystems: %w", err)
	}
	defer rows.Close()
	var out []Filesystem
	for rows.Next() {
		var fs Filesystem
		if err := rows.Scan(&fs.ID, &fs.UUID, &fs.Label); err != nil {
			return nil, err
		}
		out = append(out, fs)
	}
	return out, rows.Err()
}

// FilesystemByUUID looks a filesystem up; ok is false when unknown.
func (d *DB) FilesystemByUUID(ctx context.Context, uuid string) (fs Filesystem, ok bool, err error) {
	err = d.db.QueryRowContext(ctx, `SELECT id, uuid, coalesce(label, '') FROM Filesystem WHERE uuid = ?`, uuid).
		Scan(&fs.ID, &fs.UUID, &fs.Label)
	if errors.Is(err, sql.ErrNoRows) {
		return fs, false, nil
	}
	if err != nil {
		return fs, false, fmt.Errorf("look up filesystem %s: %w", uuid, err)
	}
	return fs, true, nil
}

// ForgetFilesystem deletes a filesystem and everything recorded about it:
// its volumes, their inodes and path history, and its dedup events.
func (d *DB) ForgetFilesystem(ctx context.Context, id int64) error {
	if _, err := d.db.ExecContext(ctx, `DELETE FROM Filesystem WHERE id = ?`, id); err != nil {
		return fmt.Errorf("forget filesystem: %w", err)
	}
	return nil
}

// Volume is the tracking state of one subvolume.
type Volume struct {
	ID     int64
	FSID   int64
	RootID uint64
	// LastGeneration is the subvolume generation the last completed scan
	// reached; LastCutoff the size cutoff it used. Scanned is false when no
	// scan has completed (LastCutoff is then meaningless).
	LastGeneration uint64
	LastCutoff     uint64
	Scanned        bool
	// SizeCutoff is the smallest file size tracked from now on.
	SizeCutoff uint64
}

const volumeColumns = `id, fs_id, root_id, last_tracked_generation, last_tracked_size_cutoff, size_cutoff`

func scanVolume(row interface{ Scan(...any) error }) (Volume, error) {
	var v Volume
	var last sql.NullInt64
	err := row.Scan(&v.ID, &v.FSID, &v.RootID, &v.LastGeneration, &last, &v.SizeCutoff)
	v.Scanned, v.LastCutoff = last.Valid, uint64(last.Int64)
	return v, err
}

// EnsureVolume returns the row of subvolume rootID of filesystem fsID,
// creating it with size cutoff defaultCutoff when new.
func (d *DB) EnsureVolume(ctx context.Context, fsID int64, rootID, defaultCutoff uint64) (Volume, error) {
	v, err := scanVolume(d.db.QueryRowContext(ctx, `
		INSERT INTO Volume (fs_id, root_id, size_cutoff) VALUES (?, ?, ?)
		ON CONFLICT (fs_id, root_id) DO UPDATE SET fs_id = fs_id
		RETURNING `+volumeColumns, fsID, rootID, defaultCutoff))
	if err != nil {
		return v, fmt.Errorf("record volume %d: %w", rootID, err)
	}
	return v, nil
}

// Volumes lists the volumes of a filesystem by subvolume id.
func (d *DB) Volumes(ctx context.Context, fsID int64) ([]Volume, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+volumeColumns+` FROM Volume WHERE fs_id = ? ORDER BY root_id`, fsID)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	defer rows.Close()
	var out []Volume
	for rows.Next() {
		v, err := scanVolume(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// SetSizeCutoff stores the cutoff later scans of the volume use. A raised
// cutoff drops, in the same transaction, the tracked inodes below it (and
// counts them in dropped): they are no candidates any more. The completed
// scan position's cutoff is raised with it, so that lowering the cutoff
// again finds the dropped band anew.
func (d *DB) SetSizeCutoff(ctx context.Context, volID int64, cutoff uint64) (dropped int, err error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("set size cutoff: %w", d.explain(err))
	}
	defer tx.Rollback()
	c := int64(min(cutoff, 1<<63-1))
	if _, err := tx.ExecContext(ctx, `UPDATE Volume SET size_cutoff = ?,
		last_tracked_size_cutoff = max(last_tracked_size_cutoff, ?) WHERE id = ?`, c, c, volID); err != nil {
		return 0, fmt.Errorf("set size cutoff: %w", d.explain(err))
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM Inode WHERE vol_id = ? AND size < ?`, volID, c)
	if err != nil {
		return 0, fmt.Errorf("drop inodes below the size cutoff: %w", d.explain(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("set size cutoff: %w", d.explain(err))
	}
	return int(n), nil
}

// RecordPath remembers that the volume was seen at path; the newest path
// is its "last seen at" once it is no longer mounted.
func (d *DB) RecordPath(ctx context.Context, volID int64, path string) error {
	_, err := d.db.ExecContext(ctx, `
		INSERT INTO VolumePathHistory (vol_id, path) VALUES (?, ?)
		ON CONFLICT (vol_id, path) DO NOTHING`, volID, path)
	if err != nil {
		return fmt.Errorf("record volume path: %w", err)
	}
	return nil
}

// LastPath returns the path the volume was most recently recorded at.
func (d *DB) LastPath(ctx context.Context, volID int64) (string, bool, error) {
	var p string
	err := d.db.QueryRowContext(ctx, `SELECT path FROM VolumePathHistory WHERE vol_id = ? ORDER BY id DESC LIMIT 1`, volID).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("volume path: %w", err)
	}
	return p, true, nil
}

// ResetVolume forgets every tracked inode of a volume, the parent
// directories recorded for its inodes, and its scan position, so the next
// scan starts from generation 0. The size cutoff and the dedup history
// stay.
func (d *DB) ResetVolume(ctx context.Context, volID int64) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM Inode WHERE vol_id = ?`, volID); err != nil {
		return fmt.Errorf("reset volume: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM InodeParent WHERE vol_id = ?`, volID); err != nil {
		return fmt.Errorf("reset volume: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE Volume SET last_tracked_generation = 0, last_tracked_size_cutoff = NULL WHERE id = ?`, volID); err != nil {
		return fmt.Errorf("reset volume: %w", err)
	}
	return tx.Commit()
}

// inodeCountsSQL counts the inodes and flagged inodes of the volumes of
// filesystem ? from indexes alone: the rows of a volume are spread over
// the size-ordered table, its index by inode holds their sizes, and the
// flagged index their volumes.
const inodeCountsSQL = `
	SELECT v.id,
		(SELECT count(*) FROM Inode INDEXED BY ix_Inode_ino
			WHERE vol_id = v.id AND size >= v.size_cutoff),
		(SELECT count(*) FROM Inode INDEXED BY ix_Inode_flagged
			WHERE has_updates = 1 AND vol_id = v.id AND size >= v.size_cutoff)
	FROM Volume v WHERE v.fs_id = ?`

// InodeCounts returns how many inodes each volume of a filesystem tracks
// under its size cutoff, and how many of them are flagged as changed since
// the last dedup. (Rows below the cutoff, which an older bedup kept when
// the cutoff was raised, are not counted.)
func (d *DB) InodeCounts(ctx context.Context, fsID int64) (map[int64][2]int64, error) {
	rows, err := d.db.QueryContext(ctx, inodeCountsSQL, fsID)
	if err != nil {
		return nil, fmt.Errorf("count inodes: %w", err)
	}
	defer rows.Close()
	out := map[int64][2]int64{}
	for rows.Next() {
		var id, n, flagged int64
		if err := rows.Scan(&id, &n, &flagged); err != nil {
			return nil, err
		}
		out[id] = [2]int64{n, flagged}
	}
	return out, rows.Err()
}

// DedupTotals sums a filesystem's dedup history: events, files that
// received a share (destinations), and bytes freed.
type DedupTotals struct {
	Events, Files, BytesDeduplicated, BytesFreed int64
}

// Totals returns the dedup history of a filesystem.
func (d *DB) Totals(ctx context.Context, fsID int64) (DedupTotals, error) {
	var t DedupTotals
	err := d.db.QueryRowContext(ctx, `
		SELECT count(*), coalesce(sum(n - 1), 0), coalesce(sum(item_size * (n - 1)), 0), coalesce(sum(bytes_freed), 0)
		FROM (SELECT e.id, e.item_size, e.bytes_freed, count(ei.id) AS n
		      FROM DedupEvent e JOIN DedupEventInode ei ON ei.event_id = e.id
		      WHERE e.fs_id = ? GROUP BY e.id)`, fsID).Scan(&t.Events, &t.Files, &t.BytesDeduplicated, &t.BytesFreed)
	if err != nil {
		return t, fmt.Errorf("dedup totals: %w", err)
	}
	return t, nil
}

// TrackedInode is an inode row with what it takes to open it by handle.
type TrackedInode struct {
	FSUUID     string
	VolID      int64
	RootID     uint64
	Ino        uint64
	Generation uint64
	Size       uint64
}

// InodesOfSize lists the tracked inodes of one size, by filesystem, volume
// and inode number.
func (d *DB) InodesOfSize(ctx context.Context, size uint64) ([]TrackedInode, error) {
	rows, err := d.db.QueryContext(ctx, `
		SELECT f.uuid, v.id, v.root_id, i.ino, i.generation, i.size
		FROM Inode i JOIN Volume v ON v.id = i.vol_id JOIN Filesystem f ON f.id = v.fs_id
		WHERE i.size = ? ORDER BY f.id, v.root_id, i.ino`, size)
	if err != nil {
		return nil, fmt.Errorf("inodes of size %d: %w", size, err)
	}
	defer rows.Close()
	var out []TrackedInode
	for rows.Next() {
		var t TrackedInode
		if err := rows.Scan(&t.FSUUID, &t.VolID, &t.RootID, &t.Ino, &t.Generation, &t.Size); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteInode drops one tracked inode (it was deleted or replaced).
func (d *DB) DeleteInode(ctx context.Context, volID int64, ino uint64) error {
	if _, err := d.db.ExecContext(ctx, `DELETE FROM Inode WHERE vol_id = ? AND ino = ?`, volID, ino); err != nil {
		return fmt.Errorf("drop inode %d: %w", ino, err)
	}
	return nil
}

// ForgetInodes drops tracked inodes that were deleted, in one
// transaction. A row is dropped only while it still holds the creation
// generation it was read with: a scan may have recorded another file under
// the same inode number since.
func (d *DB) ForgetInodes(ctx context.Context, gone []TrackedInode) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("drop deleted inodes: %w", d.explain(err))
	}
	defer tx.Rollback()
	for _, r := range gone {
		if _, err := tx.ExecContext(ctx, `DELETE FROM Inode WHERE vol_id = ? AND ino = ? AND generation = ?`,
			r.VolID, int64(r.Ino), int64(r.Generation)); err != nil {
			return fmt.Errorf("drop inode %d: %w", r.Ino, d.explain(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("drop deleted inodes: %w", d.explain(err))
	}
	return nil
}

// IntegrityCheck runs SQLite's integrity check and returns its verdict
// ("ok" when sound).
func (d *DB) IntegrityCheck(ctx context.Context) (string, error) {
	var s string
	err := d.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&s)
	return s, err
}

// InodeState is a tracked inode as the dedup step and tests see it.
type InodeState struct {
	Ino, Size, Generation, Transid uint64
	Flagged                        bool
}

// Inodes lists the tracked inodes of a volume by inode number.
func (d *DB) Inodes(ctx context.Context, volID int64) ([]InodeState, error) {
	rows, err := d.db.QueryContext(ctx, `
		SELECT ino, size, generation, transid, has_updates FROM Inode WHERE vol_id = ? ORDER BY ino`, volID)
	if err != nil {
		return nil, fmt.Errorf("list inodes: %w", err)
	}
	defer rows.Close()
	var out []InodeState
	for rows.Next() {
		var s InodeState
		if err := rows.Scan(&s.Ino, &s.Size, &s.Generation, &s.Transid, &s.Flagged); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ClearFlags marks every inode of a volume as handled.
func (d *DB) ClearFlags(ctx context.Context, volID int64) error {
	if _, err := d.db.ExecContext(ctx, `UPDATE Inode SET has_updates = 0 WHERE vol_id = ?`, volID); err != nil {
		return fmt.Errorf("clear flags: %w", err)
	}
	return nil
}

// VolumeByRoot looks up a volume without creating it.
func (d *DB) VolumeByRoot(ctx context.Context, fsID int64, rootID uint64) (Volume, bool, error) {
	v, err := scanVolume(d.db.QueryRowContext(ctx, `SELECT `+volumeColumns+` FROM Volume WHERE fs_id = ? AND root_id = ?`, fsID, rootID))
	if errors.Is(err, sql.ErrNoRows) {
		return v, false, nil
	}
	if err != nil {
		return v, false, fmt.Errorf("look up volume %d: %w", rootID, err)
	}
	return v, true, nil
}
