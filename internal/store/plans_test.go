package store

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The queries run per size group, per file or per page walk the access
// paths they were written for, in whole and restricted scopes: the table's
// size order for size groups and large files, the index by inode for
// single inodes, the whole key for a batch's writes (InodeKey), indexes
// alone for counts; none reads the whole table.
// (SQLite's planner, without statistics, can prefer otherwise: it walked
// every inode by number for StaleIndexed until told not to.)
func TestQueryPlans(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	restricted := &Scope{d: d, vols: []int64{1, 2}, whole: []int64{1}, table: "temp.bedup_scope_plans"}
	if _, err := d.db.ExecContext(ctx, `CREATE TABLE `+restricted.table+` (
		vol_id INTEGER NOT NULL, ino INTEGER NOT NULL, PRIMARY KEY (vol_id, ino)) WITHOUT ROWID`); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Scope{Volumes([]int64{1, 2}), restricted} {
		for _, c := range []struct {
			name, query string
			want        []string // plan lines, in order
		}{
			{"Members", membersSQL(s.cond()), []string{"SEARCH Inode USING PRIMARY KEY (size=? AND vol_id=?)"}},
			{"MembersOf", membersOfSQL(s.cond(), 16), []string{"SEARCH Inode USING PRIMARY KEY (size=? AND vol_id=?)"}},
			{"StaleIndexed", staleIndexedSQL(s), []string{"SEARCH i USING PRIMARY KEY (size>? AND (size,vol_id,ino)<(?,?,?))"}},
			{"update", updateSQL(setResult | setFlag), []string{"SEARCH Inode USING PRIMARY KEY (size=? AND vol_id=? AND ino=?)"}},
			{"drop", dropSQL(2), []string{"SEARCH Inode USING PRIMARY KEY (size=? AND vol_id=? AND ino=?)"}},
			{"InodeCounts", inodeCountsSQL, []string{"SEARCH Inode USING COVERING INDEX ix_Inode_ino (vol_id=?)",
				"SEARCH Inode USING COVERING INDEX ix_Inode_flagged (size>?)"}},
		} {
			plan := queryPlan(t, d, c.query)
			rest := plan
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("%s (restricted %v): plan lacks %q:\n%s", c.name, s.table != "", w, plan)
					break
				}
				rest = rest[i+len(w):]
			}
			if strings.Contains(plan, "SCAN Inode") || strings.Contains(plan, "SCAN i ") {
				t.Errorf("%s (restricted %v): reads the whole table:\n%s", c.name, s.table != "", plan)
			}
		}
	}
}

// queryPlan returns the lines of SQLite's query plan for q, its
// parameters bound to 1.
func queryPlan(t *testing.T, d *DB, q string) string {
	t.Helper()
	stmt, err := d.db.Prepare("EXPLAIN QUERY PLAN " + q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer stmt.Close()
	var args []any
	for range numParams(q) {
		args = append(args, 1)
	}
	rows, err := stmt.Query(args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// numParams counts the parameters of q: the largest ?N, or the ?s.
func numParams(q string) int {
	n := 0
	for _, m := range regexp.MustCompile(`\?(\d+)`).FindAllStringSubmatch(q, -1) {
		k, _ := strconv.Atoi(m[1])
		n = max(n, k)
	}
	if n == 0 {
		n = strings.Count(q, "?")
	}
	return n
}
