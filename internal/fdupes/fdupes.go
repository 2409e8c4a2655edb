// Package fdupes reads the lists of identical files that fdupes and jdupes
// print: one path per line, groups separated by an empty line.
//
// What `jdupes -r DIR` and `fdupes -r DIR` print by default is accepted as
// it is: paths as given on their command line (relative ones stay
// relative), any number of empty lines between groups, an empty line after
// the last group or none, a last line with or without its newline. With
// --size (-S) both print a header "N bytes each:" (or "1 byte each:")
// before each group; such a line is taken as a header when it opens a
// group, so a file of exactly that name cannot be the first of a group.
// With Options.Null, paths end with a NUL byte and groups with an empty
// path (jdupes -0, --print-null), so names may hold newlines.
//
// A path is taken byte for byte: spaces, a trailing carriage return and
// bytes that are not UTF-8 are part of it. Nothing is unescaped: neither
// tool escapes names in this format.
package fdupes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"regexp"
)

// MaxPath is the longest path (in bytes) a line may hold. Linux rejects
// paths over 4096 bytes; the bound keeps a malformed input (a binary file,
// output with the wrong separator) from being buffered whole.
const MaxPath = 64 << 10

// Options change how the input is read.
type Options struct {
	// Null: every path ends with a NUL byte instead of a newline, and an
	// empty path (a second NUL) ends a group.
	Null bool
}

// Group is one group of files the tool found identical.
type Group struct {
	// Line is the number of the input line (record, with Null) holding
	// the group's first path, counting from 1: for messages.
	Line int
	// Paths are the group's paths in input order, never empty.
	Paths []string
}

// SyntaxError is input that no fdupes-style tool prints.
type SyntaxError struct {
	Line int // 1-based line (record) number
	Msg  string
}

// Error says where the input went wrong.
func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// sizeHeader is the line fdupes -S and jdupes -S print before a group.
// jdupes -S -0 ends it with a newline too, so with Null it opens the
// group's first record.
var sizeHeader = regexp.MustCompile(`^[0-9]+ bytes? each:(\n|$)`)

// Parse returns the groups of r one at a time, as they are read: only the
// group being read is held in memory. A read error, an over-long line or
// (without Null) a NUL byte ends the sequence with a non-nil error (a
// *SyntaxError for the input's form), after the groups before it.
func Parse(r io.Reader, o Options) iter.Seq2[Group, error] {
	return func(yield func(Group, error) bool) {
		p := parser{br: bufio.NewReaderSize(r, 64<<10), sep: '\n', yield: yield}
		if o.Null {
			p.sep = 0
		}
		p.run()
	}
}

// parser is the state of one Parse.
type parser struct {
	br     *bufio.Reader
	sep    byte
	yield  func(Group, error) bool
	g      Group
	header bool // the open group had its size header
}

func (p *parser) run() {
	for line := 1; ; line++ {
		rec, err := readRecord(p.br, p.sep)
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, errTooLong) {
				err = &SyntaxError{Line: line, Msg: fmt.Sprintf("longer than %d bytes", MaxPath)}
			}
			p.fail(err)
			return
		}
		if p.sep != 0 && bytes.IndexByte(rec, 0) >= 0 {
			p.fail(&SyntaxError{Line: line, Msg: "holds a NUL byte (output of jdupes -0? read it with --null)"})
			return
		}
		if rec != nil && !p.record(rec, line) {
			return
		}
		if err != nil { // io.EOF
			p.flush()
			return
		}
	}
}

// record takes one record in; false when the consumer stopped.
func (p *parser) record(rec []byte, line int) bool {
	if len(rec) == 0 {
		return p.flush()
	}
	if len(p.g.Paths) == 0 && !p.header {
		if m := sizeHeader.FindIndex(rec); m != nil {
			p.header = true
			if rec = rec[m[1]:]; len(rec) == 0 {
				return true
			}
		}
	}
	if len(p.g.Paths) == 0 {
		p.g.Line = line
	}
	p.g.Paths = append(p.g.Paths, string(rec))
	return true
}

// flush hands the open group, if any, to the consumer and starts the next
// one; false when the consumer stopped.
func (p *parser) flush() bool {
	g := p.g
	p.g, p.header = Group{}, false
	if len(g.Paths) == 0 {
		return true
	}
	return p.yield(g, nil)
}

// fail hands the open group over, then err.
func (p *parser) fail(err error) {
	if p.flush() {
		p.yield(Group{}, err)
	}
}

var errTooLong = errors.New("record too long")

// readRecord reads up to sep and returns the record without it. At the
// end of input it returns the last record with io.EOF when that record had
// no separator, or a nil record and io.EOF when nothing was left.
func readRecord(br *bufio.Reader, sep byte) ([]byte, error) {
	var rec []byte
	for {
		chunk, err := br.ReadSlice(sep)
		n := len(rec) + len(chunk)
		if err == nil {
			n-- // the separator
		}
		if n > MaxPath {
			return nil, errTooLong
		}
		switch {
		case err == nil:
			if rec == nil {
				return chunk[:len(chunk)-1], nil
			}
			return append(rec, chunk[:len(chunk)-1]...), nil
		case errors.Is(err, bufio.ErrBufferFull):
			rec = append(rec, chunk...)
		case errors.Is(err, io.EOF):
			rec = append(rec, chunk...)
			if len(rec) == 0 {
				return nil, io.EOF
			}
			return rec, io.EOF
		default:
			return nil, fmt.Errorf("read: %w", err)
		}
	}
}
