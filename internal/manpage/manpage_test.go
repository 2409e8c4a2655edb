package manpage

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/bedup/bedup/internal/cli"
)

var update = flag.Bool("update", false, "rewrite docs/man instead of comparing with it")

// manDir is docs/man, relative to this package.
var manDir = filepath.Join("..", "..", "docs", "man")

// TestManPagesUpToDate fails when the checked-in pages in docs/man are not
// what the commands give: a flag or help text changed (or a command came or
// went) without regenerating the pages.
func TestManPagesUpToDate(t *testing.T) {
	if *update {
		changed, err := Update(manDir)
		for _, c := range changed {
			t.Logf("docs/man: %s", c)
		}
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	diffs, err := Diff(manDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Errorf("docs/man/%s", d)
	}
	if len(diffs) > 0 {
		t.Errorf("the man pages are stale; regenerate them with: %s", RegenerateHint)
	}
}

// TestPagesDeterministic renders the pages twice and checks they are the
// same bytes and carry the fixed date, not today's.
func TestPagesDeterministic(t *testing.T) {
	a, err := Pages()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Pages()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("%d pages, then %d", len(a), len(b))
	}
	for name, page := range a {
		if !bytes.Equal(page, b[name]) {
			t.Errorf("%s differs between two renderings", name)
		}
		if !bytes.Contains(page, []byte(`"`+Date.Format("Jan 2006")+`"`)) {
			t.Errorf("%s does not carry the fixed date %s", name, Date.Format("Jan 2006"))
		}
		if bytes.Contains(page, []byte("Auto generated")) {
			t.Errorf("%s carries cobra's dated history line", name)
		}
	}
}

// TestPageSet checks that every visible command has a page, the hidden
// ones none, and that the pages name each command's flags.
func TestPageSet(t *testing.T) {
	pages, err := Pages()
	if err != nil {
		t.Fatal(err)
	}
	root := cli.NewRootCommand()
	for _, c := range root.Commands() {
		name := "bedup-" + c.Name() + ".8"
		if _, ok := pages[name]; ok != c.IsAvailableCommand() {
			t.Errorf("%s: page %v, command visible %v", name, ok, c.IsAvailableCommand())
		}
	}
	for _, name := range []string{"bedup.8", "bedup-dedup.8", "bedup-completion.8", "bedup-completion-bash.8"} {
		if _, ok := pages[name]; !ok {
			t.Errorf("no page %s", name)
		}
	}
	if _, ok := pages["bedup-dedup-vol.8"]; ok {
		t.Error("the hidden dedup-vol command has a page")
	}
	dedup, _, err := root.Find([]string{"dedup"})
	if err != nil {
		t.Fatal(err)
	}
	page := string(pages["bedup-dedup.8"])
	dedup.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if !strings.Contains(page, "--"+f.Name) {
			t.Errorf("bedup-dedup.8 does not mention --%s", f.Name)
		}
	})
	if _, err := os.Stat(manDir); err != nil {
		t.Errorf("no docs/man: %v", err)
	}
}
