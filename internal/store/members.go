package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Member is a tracked inode taking part in a size group.
type Member struct {
	VolID      int64
	Ino        uint64
	Generation uint64
	Transid    uint64
	Flagged    bool
	Hash       []byte // as stored by SetResult, or nil
	Extents    []byte // extent-map fingerprint the hash was taken with, or nil
	Frozen     bool   // as stored by SetFrozen
	// HashTransid: no data written after this transaction is in Hash (0:
	// unknown).
	HashTransid uint64
}

// MembersQuery lists the inodes of size groups in a scope, through
// statements prepared once (a pass asks it for every size group): one
// size at a time (Members), or a window's sizes at once (MembersOf).
type MembersQuery struct {
	d     *DB
	cond  string            // the scope's condition
	stmt  *sql.Stmt         // Members'
	batch map[int]*sql.Stmt // MembersOf's, by number of sizes
}

// memberColumns are the columns of a Member, in Member's order.
const memberColumns = `vol_id, ino, generation, transid, has_updates, hash, extents, frozen, coalesce(hash_transid, 0)`

// membersSQL lists the members of size ? in the scope of condition cond.
func membersSQL(cond string) string {
	return `SELECT ` + memberColumns + ` FROM Inode WHERE size = ? AND ` + cond + ` ORDER BY vol_id, ino`
}

// membersOfSQL lists, with their sizes, the members of n sizes in the
// scope of condition cond. The table's order is the one asked for: the
// rows come without sorting.
func membersOfSQL(cond string, n int) string {
	return `SELECT size, ` + memberColumns + ` FROM Inode
		WHERE size IN (` + strings.Repeat("?,", n-1) + `?) AND ` + cond + ` ORDER BY size, vol_id, ino`
}

// PrepareMembers prepares the query for the scope.
func (d *DB) PrepareMembers(ctx context.Context, s *Scope) (*MembersQuery, error) {
	q := &MembersQuery{d: d, cond: s.cond(), batch: map[int]*sql.Stmt{}}
	var err error
	q.stmt, err = d.db.PrepareContext(ctx, membersSQL(q.cond))
	if err != nil {
		return nil, fmt.Errorf("prepare size group query: %w", err)
	}
	return q, nil
}

// Close releases the statements.
func (q *MembersQuery) Close() error {
	err := q.stmt.Close()
	for _, s := range q.batch {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Members lists the inodes of one size, by volume and inode number.
func (q *MembersQuery) Members(ctx context.Context, size uint64) ([]Member, error) {
	rows, err := q.stmt.QueryContext(ctx, int64(size))
	if err != nil {
		return nil, fmt.Errorf("size group %d: %w", size, err)
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.VolID, &m.Ino, &m.Generation, &m.Transid, &m.Flagged, &m.Hash, &m.Extents, &m.Frozen, &m.HashTransid); err != nil {
			return nil, fmt.Errorf("size group %d: %w", size, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("size group %d: %w", size, err)
	}
	return out, nil
}

// membersChunks are the numbers of sizes a MembersOf statement asks for,
// largest first: the sizes go through statements of the smallest of these
// that holds them (of the largest while more are left), padded with
// NULLs, which match nothing. A window's sizes (200 by default) take one
// statement, and few statements need preparing.
var membersChunks = []int{256, 64, 16, 4, 1}

// MembersOf lists the inodes of each of sizes, as Members lists them for
// one size, through one statement per up to 256 sizes. A size without a
// member (or listed twice) has no entry (or one).
func (q *MembersQuery) MembersOf(ctx context.Context, sizes []uint64) (map[uint64][]Member, error) {
	out := make(map[uint64][]Member, len(sizes))
	for len(sizes) > 0 {
		n := membersChunks[0]
		for _, c := range membersChunks {
			if c >= len(sizes) {
				n = c
			}
		}
		chunk := sizes[:min(n, len(sizes))]
		sizes = sizes[len(chunk):]
		if err := q.membersOf(ctx, n, chunk, out); err != nil {
			return nil, fmt.Errorf("size groups %d to %d: %w", chunk[0], chunk[len(chunk)-1], err)
		}
	}
	return out, nil
}

// membersOf lists the members of sizes into out through the statement
// for n sizes.
func (q *MembersQuery) membersOf(ctx context.Context, n int, sizes []uint64, out map[uint64][]Member) error {
	stmt := q.batch[n]
	if stmt == nil {
		var err error
		stmt, err = q.d.db.PrepareContext(ctx, membersOfSQL(q.cond, n))
		if err != nil {
			return err
		}
		q.batch[n] = stmt
	}
	args := make([]any, n)
	for i, s := range sizes {
		args[i] = int64(s)
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	// One array holds every member; each size gets its run of it, rows
	// coming in size order.
	var all []Member
	var runs []uint64 // size of each run, in order
	var starts []int
	for rows.Next() {
		var size uint64
		var m Member
		if err := rows.Scan(&size, &m.VolID, &m.Ino, &m.Generation, &m.Transid, &m.Flagged, &m.Hash, &m.Extents, &m.Frozen, &m.HashTransid); err != nil {
			return err
		}
		if len(runs) == 0 || runs[len(runs)-1] != size {
			runs = append(runs, size)
			starts = append(starts, len(all))
		}
		all = append(all, m)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	starts = append(starts, len(all))
	for i, size := range runs {
		out[size] = all[starts[i]:starts[i+1]:starts[i+1]]
	}
	return nil
}
