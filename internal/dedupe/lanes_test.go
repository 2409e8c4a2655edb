package dedupe

import (
	"errors"
	"testing"
)

// The lanes keep the first reason they ended for, but an error coming
// after a halt (which ends them with no error) is not lost; once ended,
// no lane is taken.
func TestLanesEnd(t *testing.T) {
	errA, errB := errors.New("a"), errors.New("b")
	for _, c := range []struct {
		name       string
		ends       []error
		commits    []bool
		want       error
		wantCommit bool
	}{
		{"done", nil, nil, nil, false},
		{"halted", []error{nil}, []bool{false}, nil, false},
		{"failed", []error{errA}, []bool{false}, errA, false},
		{"first failure stands", []error{errA, errB}, []bool{false, true}, errA, false},
		{"failure after a halt", []error{nil, errB}, []bool{false, true}, errB, true},
		{"halt after a failure", []error{errA, nil}, []bool{true, false}, errA, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLanes(2)
			for range 2 {
				if !l.take() {
					t.Fatal("a free lane not taken")
				}
			}
			for i, err := range c.ends {
				l.end(err, c.commits[i])
			}
			l.give()
			l.give()
			if len(c.ends) > 0 && l.take() {
				t.Error("a lane was taken after the end")
			}
			commit, err := l.wait()
			if err != c.want || commit != c.wantCommit {
				t.Errorf("wait = %v, %v; want %v, %v", commit, err, c.wantCommit, c.want)
			}
		})
	}
}
