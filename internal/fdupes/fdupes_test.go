package fdupes_test

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/bedup/bedup/internal/fdupes"
)

// collect reads every group of in, and the error that ended them.
func collect(r io.Reader, o fdupes.Options) ([]fdupes.Group, error) {
	var gs []fdupes.Group
	for g, err := range fdupes.Parse(r, o) {
		if err != nil {
			return gs, err
		}
		gs = append(gs, g)
	}
	return gs, nil
}

type g = fdupes.Group

func TestParse(t *testing.T) {
	long := strings.Repeat("x", fdupes.MaxPath)
	tests := []struct {
		name    string
		in      string
		null    bool
		want    []fdupes.Group
		errLine int // a *SyntaxError on this line; 0: no error
	}{
		{name: "empty", in: "", want: nil},
		{name: "only blank lines", in: "\n\n\n", want: nil},
		// What jdupes -r prints: no blank line after the last group.
		{name: "jdupes default", in: "t/a\nt/sub/d\nt/with space/b c\n\nt/x\nt/y\n",
			want: []g{{Line: 1, Paths: []string{"t/a", "t/sub/d", "t/with space/b c"}}, {Line: 5, Paths: []string{"t/x", "t/y"}}}},
		// What fdupes -r prints: a blank line after every group.
		{name: "fdupes default", in: "/m/a\n/m/b\n\n/m/c\n/m/d\n\n",
			want: []g{{Line: 1, Paths: []string{"/m/a", "/m/b"}}, {Line: 4, Paths: []string{"/m/c", "/m/d"}}}},
		{name: "no final newline", in: "a\nb\n\nc\nd",
			want: []g{{Line: 1, Paths: []string{"a", "b"}}, {Line: 4, Paths: []string{"c", "d"}}}},
		{name: "several blank lines and leading ones", in: "\n\na\nb\n\n\n\nc\n",
			want: []g{{Line: 3, Paths: []string{"a", "b"}}, {Line: 8, Paths: []string{"c"}}}},
		{name: "spaces, tabs, CR and non-UTF-8 kept", in: " lead\ntrail \ntab\tx\ncr\r\nbad\xff\n",
			want: []g{{Line: 1, Paths: []string{" lead", "trail ", "tab\tx", "cr\r", "bad\xff"}}}},
		// jdupes -S / fdupes -S: a size header opens each group.
		{name: "size headers", in: "6 bytes each:\nt/a\nt/b\n\n1 byte each:\nt/c\nt/d\n\n",
			want: []g{{Line: 2, Paths: []string{"t/a", "t/b"}}, {Line: 6, Paths: []string{"t/c", "t/d"}}}},
		{name: "a header-like name inside a group is a path", in: "a\n6 bytes each:\n",
			want: []g{{Line: 1, Paths: []string{"a", "6 bytes each:"}}}},
		{name: "only one header per group", in: "6 bytes each:\n7 bytes each:\nb\n",
			want: []g{{Line: 2, Paths: []string{"7 bytes each:", "b"}}}},
		{name: "header alone", in: "6 bytes each:\n\na\n", want: []g{{Line: 3, Paths: []string{"a"}}}},
		{name: "not a header", in: "6 bytes each\nx bytes each:\n",
			want: []g{{Line: 1, Paths: []string{"6 bytes each", "x bytes each:"}}}},
		// jdupes -0: NUL after each path, a second one between groups.
		{name: "null", null: true, in: "t/a\x00new\nline\x00\x00t/x\x00t/y\x00",
			want: []g{{Line: 1, Paths: []string{"t/a", "new\nline"}}, {Line: 4, Paths: []string{"t/x", "t/y"}}}},
		// jdupes -S -0 ends the header with a newline.
		{name: "null with size headers", null: true, in: "6 bytes each:\nt/a\x00t/b\x00\x002 bytes each:\nt/c\x00t/d\x00\x00",
			want: []g{{Line: 1, Paths: []string{"t/a", "t/b"}}, {Line: 4, Paths: []string{"t/c", "t/d"}}}},
		{name: "NUL without null", in: "a\nb\n\nt/a\x00t/b\x00\n",
			want: []g{{Line: 1, Paths: []string{"a", "b"}}}, errLine: 4},
		{name: "longest path", in: long + "\n" + long, want: []g{{Line: 1, Paths: []string{long, long}}}},
		{name: "too long", in: "a\n\n" + long + "y\nb\n", want: []g{{Line: 1, Paths: []string{"a"}}}, errLine: 3},
		{name: "too long at the end", in: "a\n" + long + "y", want: []g{{Line: 1, Paths: []string{"a"}}}, errLine: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte at a time as well: records cross every read.
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				got, err := collect(r, fdupes.Options{Null: tt.null})
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("groups = %+v, want %+v", got, tt.want)
				}
				var se *fdupes.SyntaxError
				switch {
				case tt.errLine == 0 && err != nil:
					t.Errorf("err = %v", err)
				case tt.errLine != 0 && (!errors.As(err, &se) || se.Line != tt.errLine):
					t.Errorf("err = %v, want a syntax error on line %d", err, tt.errLine)
				}
			}
		})
	}
}

func TestParseReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("a\nb\n\nc\n"), iotest.ErrReader(boom))
	got, err := collect(r, fdupes.Options{})
	want := []g{{Line: 1, Paths: []string{"a", "b"}}, {Line: 4, Paths: []string{"c"}}}
	if !reflect.DeepEqual(got, want) || !errors.Is(err, boom) {
		t.Errorf("got %+v, %v; want %+v and the read error", got, err, want)
	}
}

// A consumer may stop early; the parser must not call it again.
func TestParseStop(t *testing.T) {
	n := 0
	for range fdupes.Parse(strings.NewReader("a\n\nb\n\nc\x00\n"), fdupes.Options{}) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("%d groups after break", n)
	}
}

// FuzzParse: any input parses without panicking into non-empty groups of
// non-empty paths without a separator; printed back the way jdupes -S
// prints them, they parse to the same groups.
func FuzzParse(f *testing.F) {
	f.Add("t/a\nt/sub/d\nt/with space/b c\n\nt/x\nt/y\n", false)
	f.Add("6 bytes each:\nt/a\nt/b\n\n", false)
	f.Add("t/a\x00t/b\x00\x00t/c\x00", true)
	f.Add("6 bytes each:\nt/a\x00t/b\x00\x00", true)
	f.Fuzz(func(t *testing.T, in string, null bool) {
		o := fdupes.Options{Null: null}
		sep := "\n"
		if null {
			sep = "\x00"
		}
		groups, _ := collect(strings.NewReader(in), o)
		var b strings.Builder
		for _, g := range groups {
			if len(g.Paths) == 0 || g.Line < 1 {
				t.Fatalf("bad group %+v", g)
			}
			for _, p := range g.Paths {
				if p == "" || strings.Contains(p, sep) || len(p) > fdupes.MaxPath {
					t.Fatalf("bad path %q", p)
				}
			}
			// A header is recognised once per group: writing one keeps a
			// header-like first path a path.
			b.WriteString("1 byte each:\n" + strings.Join(g.Paths, sep) + sep + sep)
		}
		again, err := collect(strings.NewReader(b.String()), o)
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if len(again) != len(groups) {
			t.Fatalf("reparse: %d groups, want %d", len(again), len(groups))
		}
		for i := range groups {
			if !reflect.DeepEqual(again[i].Paths, groups[i].Paths) {
				t.Fatalf("reparse: group %d = %q, want %q", i, again[i].Paths, groups[i].Paths)
			}
		}
	})
}
