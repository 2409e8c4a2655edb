package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// Rows per multi-row statement, and rows per transaction (and per sorted
// write of inode rows, see Upsert). Multi-row statements cut the per-call
// overhead of database/sql and the driver, which dominates single-row
// upserts; a bounded transaction keeps the WAL small and lets an
// interrupted scan keep what it wrote.
const (
	rowsPerStmt = 128
	rowsPerTx   = 32768
)

// InodeRow is what a scan learns about one candidate file.
type InodeRow struct {
	Ino        uint64
	Size       uint64
	Generation uint64 // creation transid
	Transid    uint64 // last-change transid
	// Inline says the file's data is all in its metadata (one inline
	// extent covering its size): there is nothing to share, so it is
	// recorded unflagged, as the dedup step would leave it after opening
	// it to find that out. About half of a copied system tree is such
	// files.
	Inline bool
}

// ScanWriter writes one volume's scan results in batches. Rows written
// before an interruption stay (upserts are idempotent), but the volume's
// scan position moves only in Finish, so an interrupted scan is redone
// from where the last completed one ended.
type ScanWriter struct {
	d       *DB
	ctx     context.Context
	volID   int64
	tx      *sql.Tx
	upsert  *sql.Stmt
	del     *sql.Stmt
	rows    []InodeRow
	inTx    int
	parents parentBuf
	// Upserted counts the rows inserted or changed (a row that already
	// held the same inode state is not), Deleted the rows dropped.
	Upserted, Deleted int
}

// upsertSQL builds the statement for n rows. An inode whose creation
// generation changed is another file that reuses the number: its hash and
// extent map are dropped. A changed file keeps them: the dedup step
// decides from the extent map whether they still hold.
func upsertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO Inode (vol_id, ino, size, generation, transid, has_updates) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?)")
	}
	// A row already holding this very inode state is left alone: that is
	// how a file bedup itself deduplicated (its transid recorded after the
	// share) does not come back as changed.
	b.WriteString(` ON CONFLICT (vol_id, ino) DO UPDATE SET
		size = excluded.size, transid = excluded.transid, has_updates = excluded.has_updates,
		hash = iif(Inode.generation = excluded.generation, Inode.hash, NULL),
		hash_transid = iif(Inode.generation = excluded.generation, Inode.hash_transid, NULL),
		extents = iif(Inode.generation = excluded.generation, Inode.extents, NULL),
		generation = excluded.generation
		WHERE Inode.transid <> excluded.transid OR Inode.size <> excluded.size OR Inode.generation <> excluded.generation`)
	return b.String()
}

// NewScanWriter starts writing scan results for a volume. Cancelling ctx
// does not tear a batch apart (database/sql would roll the transaction
// back under the writer's feet): the scan stops between batches and calls
// Abort.
func (d *DB) NewScanWriter(ctx context.Context, volID int64) *ScanWriter {
	return &ScanWriter{d: d, ctx: context.WithoutCancel(ctx), volID: volID, rows: make([]InodeRow, 0, rowsPerStmt)}
}

func (w *ScanWriter) begin() error {
	if w.tx != nil {
		return nil
	}
	tx, err := w.d.db.BeginTx(w.ctx, nil)
	if err != nil {
		return fmt.Errorf("begin scan batch: %w", w.d.explain(err))
	}
	w.tx = tx
	if err := w.parents.begin(w); err != nil {
		return err
	}
	if w.upsert, err = tx.PrepareContext(w.ctx, upsertSQL(rowsPerStmt)); err != nil {
		return err
	}
	w.del, err = tx.PrepareContext(w.ctx, `DELETE FROM Inode WHERE vol_id = ? AND ino = ?`)
	return err
}

// Upsert records a new or changed candidate and flags it for dedup
// (unless its data is inline).
//
// Rows are written a transaction's worth at a time, sorted by size: the
// table is kept in size order, and rows in inode order (as a scan finds
// them) would land on a random page each, more pages than SQLite's cache
// holds. An inode number that does not follow the buffered ones writes
// them first, so that a later row for an inode still wins.
func (w *ScanWriter) Upsert(r InodeRow) error {
	if n := len(w.rows); n > 0 && r.Ino <= w.rows[n-1].Ino {
		if err := w.flush(); err != nil {
			return err
		}
	}
	w.rows = append(w.rows, r)
	if len(w.rows) == rowsPerTx {
		return w.flush()
	}
	return nil
}

// flush writes the buffered rows and parent rows in a transaction of
// their own. Between flushes no transaction is open, so that scans of
// other volumes, walking at the same time, get the database's one
// connection while this one walks.
func (w *ScanWriter) flush() error {
	if err := w.flushRows(); err != nil {
		return err
	}
	if err := w.flushParents(); err != nil {
		return err
	}
	return w.commit()
}

func (w *ScanWriter) flushRows() error {
	if len(w.rows) == 0 {
		return nil
	}
	if err := w.begin(); err != nil {
		return err
	}
	slices.SortFunc(w.rows, func(a, b InodeRow) int {
		return cmp.Or(cmp.Compare(a.Size, b.Size), cmp.Compare(a.Ino, b.Ino))
	})
	args := make([]any, 0, 6*rowsPerStmt)
	for rows := w.rows; len(rows) > 0; {
		n := min(len(rows), rowsPerStmt)
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, w.volID, int64(r.Ino), int64(r.Size), int64(r.Generation), int64(r.Transid), !r.Inline)
		}
		if err := w.upsertRows(n, args); err != nil {
			return err
		}
		rows = rows[n:]
	}
	w.inTx += len(w.rows)
	w.rows = w.rows[:0]
	return nil
}

// upsertRows upserts n rows (args holds their values); the statement of
// rowsPerStmt rows is prepared once per transaction.
func (w *ScanWriter) upsertRows(n int, args []any) error {
	stmt := w.upsert
	if n != rowsPerStmt {
		var err error
		if stmt, err = w.tx.PrepareContext(w.ctx, upsertSQL(n)); err != nil {
			return err
		}
		defer stmt.Close()
	}
	res, err := stmt.ExecContext(w.ctx, args...)
	if err != nil {
		return fmt.Errorf("record inodes: %w", w.d.explain(err))
	}
	if n, err := res.RowsAffected(); err == nil {
		w.Upserted += int(n)
	}
	return nil
}

// Delete drops an inode that left the candidates (shrunk below the cutoff,
// unlinked), with its parent rows. It reports whether the inode was
// tracked.
func (w *ScanWriter) Delete(ino uint64) (bool, error) {
	if err := w.flushRows(); err != nil { // keep the order of writes
		return false, err
	}
	if err := w.flushParents(); err != nil {
		return false, err
	}
	if err := w.begin(); err != nil {
		return false, err
	}
	res, err := w.del.ExecContext(w.ctx, w.volID, int64(ino))
	if err != nil {
		return false, fmt.Errorf("drop inode %d: %w", ino, w.d.explain(err))
	}
	w.inTx++
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	w.Deleted++
	return true, nil
}

func (w *ScanWriter) commit() error {
	if w.tx == nil {
		return nil
	}
	err := w.tx.Commit()
	w.tx, w.inTx = nil, 0
	if err == nil {
		w.parents.committed()
	}
	if err != nil {
		return fmt.Errorf("commit scan batch: %w", w.d.explain(err))
	}
	return nil
}

// Finish writes what is left and, in the same transaction, records that
// the volume is now scanned up to generation with cutoff.
func (w *ScanWriter) Finish(generation, cutoff uint64) error {
	if err := w.flushRows(); err != nil {
		return err
	}
	if err := w.flushParents(); err != nil {
		return err
	}
	if err := w.begin(); err != nil {
		return err
	}
	if _, err := w.tx.ExecContext(w.ctx, `
		UPDATE Volume SET last_tracked_generation = ?, last_tracked_size_cutoff = ?, size_cutoff = ?
		WHERE id = ?`, int64(generation), int64(cutoff), int64(cutoff), w.volID); err != nil {
		return fmt.Errorf("record scan position: %w", w.d.explain(err))
	}
	return w.commit()
}

// Abort rolls back the open batch (rows of committed batches stay).
func (w *ScanWriter) Abort() {
	if w.tx != nil {
		w.tx.Rollback()
		w.tx, w.inTx = nil, 0
	}
	w.rows = w.rows[:0]
	w.parents.reset()
}
