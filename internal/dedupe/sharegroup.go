package dedupe

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
)

// GroupResult is what ShareGroup did with one group.
type GroupResult struct {
	// Source is the index of the path shared from, or -1 when no member
	// could serve as one.
	Source int
	// Results hold one outcome per path, in order; the source's is unused.
	Results []Result
}

// errNotBtrfs explains a member skipped as ReasonOtherFS that is on no
// Btrfs filesystem at all.
var errNotBtrfs = errors.New("not on a Btrfs filesystem")

// groupMember is one path of a group, opened.
type groupMember struct {
	f    File
	c    Candidate
	fsid [16]byte
	ok   bool // open, described and ranked
}

// ShareGroup makes the files at paths, said to be identical (a group
// fdupes or jdupes printed), share the data of the best source among them
// as a dedup pass would choose it (BestSource). The kernel's compare
// (FIDEDUPERANGE, through Share) is the only proof of equality: nothing is
// read here, and a member whose bytes differ from the source's is reported
// OutcomeDiffers and left as it is. Paths are opened as typed, read-only.
// A member that does not exist (ReasonMissing), is no regular file
// (ReasonNotRegular), cannot be examined (ReasonUnreadable) or is on
// another filesystem than most of the group (ReasonOtherFS) is skipped;
// the others are still shared. A path naming the same file as an earlier
// one gets that one's outcome (OutcomeAlreadyShared for the source's).
func ShareGroup(paths []string) GroupResult {
	res := GroupResult{Source: -1, Results: make([]Result, len(paths))}
	ms := make([]groupMember, len(paths))
	defer func() {
		for _, m := range ms {
			if m.f.F != nil {
				m.f.F.Close()
			}
		}
	}()
	for i, p := range paths {
		res.Results[i] = openMember(p, &ms[i])
	}
	fsid, _ := mostCommonFS(ms)
	same := make([]int, len(ms)) // index of an earlier path naming the same file, or -1
	var cands []Candidate
	var idx []int
	for i := range ms {
		same[i] = -1
		m := &ms[i]
		if !m.ok {
			continue
		}
		if m.fsid != fsid {
			res.Results[i] = Result{Outcome: OutcomeSkipped, Reason: ReasonOtherFS}
			continue
		}
		for _, j := range idx {
			if ms[j].f.Dev == m.f.Dev && ms[j].f.Ino == m.f.Ino {
				same[i] = j
			}
		}
		if same[i] < 0 {
			cands, idx = append(cands, m.c), append(idx, i)
		}
	}
	if len(idx) == 0 {
		return res
	}
	res.Source = idx[BestSource(cands)]
	shareFromSource(ms, idx, res)
	for i, j := range same {
		switch {
		case j < 0:
		case j == res.Source:
			res.Results[i] = Result{Outcome: OutcomeAlreadyShared}
		default:
			res.Results[i] = res.Results[j]
		}
	}
	return res
}

// shareFromSource shares res.Source into the other members listed in idx
// and records their outcomes.
func shareFromSource(ms []groupMember, idx []int, res GroupResult) {
	var dests []File
	var di []int
	for _, i := range idx {
		if i != res.Source {
			dests, di = append(dests, ms[i].f), append(di, i)
		}
	}
	out, err := Share(ms[res.Source].f, dests, ShareOptions{})
	for k, i := range di {
		if err != nil {
			res.Results[i] = Result{Outcome: OutcomeSkipped, Reason: ReasonUnreadable, Err: fmt.Errorf("source: %w", err)}
		} else {
			res.Results[i] = out[k]
		}
	}
}

// openMember opens the file at p into m and ranks it as a source. On
// failure m.ok stays false and the returned result says why the member is
// skipped.
func openMember(p string, m *groupMember) Result {
	skip := func(r Reason, err error) Result { return Result{Outcome: OutcomeSkipped, Reason: r, Err: err} }
	f, err := btrfs.OpenFile(p)
	switch {
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR):
		return skip(ReasonMissing, nil)
	case errors.Is(err, btrfs.ErrNotRegular) || errors.Is(err, unix.EISDIR):
		return skip(ReasonNotRegular, nil)
	case err != nil:
		return skip(ReasonUnreadable, err)
	}
	m.f.F = f
	info, err := btrfs.GetFSInfo(f)
	if btrfs.IsNotBtrfs(err) {
		return skip(ReasonOtherFS, errNotBtrfs)
	}
	if err != nil {
		return skip(ReasonUnreadable, err)
	}
	m.fsid = info.FSID
	if m.f, err = Describe(f); err != nil {
		m.f.F = f // closed with the others
		return skip(ReasonUnreadable, err)
	}
	if m.c, err = CandidateOf(m.f); err != nil {
		return skip(ReasonUnreadable, err)
	}
	m.ok = true
	return Result{}
}

// mostCommonFS returns the filesystem most of the opened members are on
// (of equals, the one that got there first), and how many are.
func mostCommonFS(ms []groupMember) ([16]byte, int) {
	count := map[[16]byte]int{}
	var best [16]byte
	n := 0
	for _, m := range ms {
		if !m.ok {
			continue
		}
		count[m.fsid]++
		if c := count[m.fsid]; c > n {
			best, n = m.fsid, c
		}
	}
	return best, n
}
