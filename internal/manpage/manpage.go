// Package manpage renders bedup's manual pages, bedup(8) and one page per
// visible command (bedup-dedup(8), ...), from the cobra command tree, so the
// pages say exactly what --help says. The pages are checked into docs/man;
// regenerate them with "make man" after changing a command or a flag.
package manpage

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/bedup/bedup/internal/cli"
)

// Section is the manual section of every page: bedup is an administration
// command (it needs root).
const Section = "8"

// Date is the date every page carries. It is fixed, not today's, so that
// generating the pages twice gives the same bytes; move it forward when the
// pages change in substance.
var Date = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Header is the .TH header of every page.
func Header() *doc.GenManHeader {
	d := Date
	return &doc.GenManHeader{Section: Section, Date: &d, Source: "bedup", Manual: "bedup manual"}
}

// Generate writes the page of root and of each visible command below it
// into dir, which must exist. Hidden commands (dedup-vol) and cobra's help
// command get no page.
func Generate(root *cobra.Command, dir string) error {
	prepare(root)
	return doc.GenManTree(root, Header(), dir)
}

// prepare readies c and the commands below it for rendering: it drops
// cobra's "Auto generated" history line, which carries a date, and keeps
// the indented tables of the help texts as they are laid out.
func prepare(c *cobra.Command) {
	c.DisableAutoGenTag = true
	c.Long = preformat(c.Long)
	for _, sub := range c.Commands() {
		prepare(sub)
	}
}

// preformat turns each run of indented lines in a help text (the tables of
// filters and results) into a Markdown code block, which the page shows as
// written, instead of a paragraph that man would refill.
func preformat(long string) string {
	var out []string
	inBlock := false
	for _, line := range strings.Split(long, "\n") {
		indented := strings.TrimSpace(line) != "" && (line[0] == ' ' || line[0] == '\t')
		switch {
		case indented && !inBlock:
			if len(out) > 0 && out[len(out)-1] != "" {
				out = append(out, "")
			}
			inBlock = true
		case !indented && inBlock && strings.TrimSpace(line) != "":
			out = append(out, "")
			inBlock = false
		}
		if indented {
			line = "    " + line
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// Pages renders bedup's pages and returns them by file name.
func Pages() (map[string][]byte, error) {
	tmp, err := os.MkdirTemp("", "bedup-man-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := Generate(cli.NewRootCommand(), tmp); err != nil {
		return nil, err
	}
	return readPages(tmp)
}

// readPages returns the section-8 pages in dir by file name.
func readPages(dir string) (map[string][]byte, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*."+Section))
	if err != nil {
		return nil, err
	}
	pages := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		pages[filepath.Base(n)] = b
	}
	return pages, nil
}

// Diff compares the pages in dir with the pages the commands give and
// describes each difference ("bedup-dedup.8 differs from what the
// commands say", "bedup-x.8 is missing", "bedup-y.8 is stale: ..."), in
// file name order.
// It returns nil when dir is up to date.
func Diff(dir string) ([]string, error) {
	want, err := Pages()
	if err != nil {
		return nil, err
	}
	have, err := readPages(dir)
	if err != nil {
		return nil, err
	}
	var diffs []string
	for _, name := range sortedKeys(want) {
		got, ok := have[name]
		switch {
		case !ok:
			diffs = append(diffs, name+" is missing")
		case !bytes.Equal(got, want[name]):
			diffs = append(diffs, name+" differs from what the commands say")
		}
	}
	for _, name := range sortedKeys(have) {
		if _, ok := want[name]; !ok {
			diffs = append(diffs, name+" is stale: no visible command has that page")
		}
	}
	return diffs, nil
}

// Update makes dir hold exactly bedup's pages: it writes the pages that
// are missing or differ and removes section-8 pages no command has. It
// returns what it did, one "NAME written" or "NAME removed" per page.
func Update(dir string) ([]string, error) {
	want, err := Pages()
	if err != nil {
		return nil, err
	}
	have, err := readPages(dir)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, name := range sortedKeys(want) {
		if got, ok := have[name]; ok && bytes.Equal(got, want[name]) {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), want[name], 0o644); err != nil {
			return changed, err
		}
		changed = append(changed, name+" written")
	}
	for _, name := range sortedKeys(have) {
		if _, ok := want[name]; ok {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return changed, err
		}
		changed = append(changed, name+" removed")
	}
	return changed, nil
}

// RegenerateHint is the one command that brings docs/man up to date, for
// messages.
const RegenerateHint = "make man (or: go run ./internal/manpage/genman docs/man)"

func sortedKeys(m map[string][]byte) []string { return slices.Sorted(maps.Keys(m)) }
