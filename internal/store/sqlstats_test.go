package store

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/driver"
)

// sqlStats counts what a database's connection runs, through SQLite's
// own counters: statement executions (one per run to completion or reset,
// as SQLite's profile trace reports them; statements that sqlite3_exec
// runs without arguments, BEGIN and COMMIT among them, are not seen),
// the rows they return and the VDBE instructions they take, and the page
// cache's hits, misses, writes and spills. Go allocations are counted
// alongside. Benchmarks report them per file.
type sqlStats struct {
	conn *sqlite3.Conn
	mu   sync.Mutex
	by   map[string]*stmtStats // by statement, abbreviated
	abbr map[string]string     // statement -> abbreviated
}

type stmtStats struct {
	runs, rows, steps int64
}

// sqlCounts is a snapshot of the counters.
type sqlCounts struct {
	runs, rows, steps            int64
	hits, misses, writes, spills int64
	mallocs                      uint64
	byStmt                       map[string]stmtStats
}

// watchSQL installs the counters on the database's only connection.
func watchSQL(tb testing.TB, d *DB) *sqlStats {
	tb.Helper()
	s := &sqlStats{by: map[string]*stmtStats{}, abbr: map[string]string{}}
	c, err := d.db.Conn(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	err = c.Raw(func(dc any) error {
		s.conn = dc.(driver.Conn).Raw()
		return s.conn.Trace(sqlite3.TRACE_PROFILE|sqlite3.TRACE_ROW, s.trace)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func (s *sqlStats) trace(evt sqlite3.TraceEvent, arg1, _ any) error {
	st, ok := arg1.(*sqlite3.Stmt)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := st.SQL()
	k, ok := s.abbr[q]
	if !ok {
		k = abbrev(q)
		s.abbr[q] = k
	}
	e := s.by[k]
	if e == nil {
		e = &stmtStats{}
		s.by[k] = e
	}
	switch evt {
	case sqlite3.TRACE_ROW:
		e.rows++
	case sqlite3.TRACE_PROFILE:
		e.runs++
		e.steps += int64(st.Status(sqlite3.STMTSTATUS_VM_STEP, true))
	}
	return nil
}

// abbrev names a statement by its first words, its multi-row forms
// together.
func abbrev(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if i := strings.Index(q, "VALUES"); i >= 0 {
		q = q[:i+len("VALUES")]
	}
	if i := strings.Index(q, " IN ("); i >= 0 {
		q = q[:i+len(" IN (")]
	}
	return q[:min(len(q), 70)]
}

// snap reads the counters. It runs between statements (the connection is
// not in use).
func (s *sqlStats) snap() sqlCounts {
	var c sqlCounts
	c.byStmt = map[string]stmtStats{}
	s.mu.Lock()
	for k, e := range s.by {
		c.runs += e.runs
		c.rows += e.rows
		c.steps += e.steps
		c.byStmt[k] = *e
	}
	s.mu.Unlock()
	for _, x := range []struct {
		op  sqlite3.DBStatus
		dst *int64
	}{
		{sqlite3.DBSTATUS_CACHE_HIT, &c.hits},
		{sqlite3.DBSTATUS_CACHE_MISS, &c.misses},
		{sqlite3.DBSTATUS_CACHE_WRITE, &c.writes},
		{sqlite3.DBSTATUS_CACHE_SPILL, &c.spills},
	} {
		*x.dst, _, _ = s.conn.Status(x.op, false)
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	c.mallocs = m.Mallocs
	return c
}

// sub is the difference of two snapshots.
func (c sqlCounts) sub(old sqlCounts) sqlCounts {
	d := sqlCounts{
		runs: c.runs - old.runs, rows: c.rows - old.rows, steps: c.steps - old.steps,
		hits: c.hits - old.hits, misses: c.misses - old.misses, writes: c.writes - old.writes, spills: c.spills - old.spills,
		mallocs: c.mallocs - old.mallocs, byStmt: map[string]stmtStats{},
	}
	for k, e := range c.byStmt {
		o := old.byStmt[k]
		if e.runs != o.runs || e.rows != o.rows {
			d.byStmt[k] = stmtStats{e.runs - o.runs, e.rows - o.rows, e.steps - o.steps}
		}
	}
	return d
}

// add sums two differences.
func (c sqlCounts) add(d sqlCounts) sqlCounts {
	s := sqlCounts{
		runs: c.runs + d.runs, rows: c.rows + d.rows, steps: c.steps + d.steps,
		hits: c.hits + d.hits, misses: c.misses + d.misses, writes: c.writes + d.writes, spills: c.spills + d.spills,
		mallocs: c.mallocs + d.mallocs, byStmt: map[string]stmtStats{},
	}
	for _, m := range []map[string]stmtStats{c.byStmt, d.byStmt} {
		for k, e := range m {
			o := s.byStmt[k]
			s.byStmt[k] = stmtStats{o.runs + e.runs, o.rows + e.rows, o.steps + e.steps}
		}
	}
	return s
}

// report adds the counters per file to the benchmark's metrics, under
// the phase's name, and logs them by statement.
func (c sqlCounts) report(b *testing.B, phase string, files int) {
	f := float64(files)
	b.ReportMetric(float64(c.runs)/f, phase+"-stmts/file")
	b.ReportMetric(float64(c.steps)/f, phase+"-vmsteps/file")
	b.ReportMetric(float64(c.misses)/f, phase+"-misses/file")
	b.ReportMetric(float64(c.writes+c.spills)/f, phase+"-pagewrites/file")
	b.ReportMetric(float64(c.mallocs)/f, phase+"-allocs/file")
	keys := make([]string, 0, len(c.byStmt))
	for k := range c.byStmt {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int { return int(c.byStmt[y].steps - c.byStmt[x].steps) })
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s per file: %.3f stmts, %.2f rows, %.0f vm steps, %.2f cache hits, %.3f misses, %.3f writes, %.3f spills, %.1f allocs\n",
		phase, float64(c.runs)/f, float64(c.rows)/f, float64(c.steps)/f, float64(c.hits)/f, float64(c.misses)/f, float64(c.writes)/f, float64(c.spills)/f, float64(c.mallocs)/f)
	for _, k := range keys {
		e := c.byStmt[k]
		fmt.Fprintf(&sb, "  %8d runs %9d rows %11d steps  %s\n", e.runs, e.rows, e.steps, k)
	}
	b.Log(sb.String())
}
