package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/run"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/ui"
	"github.com/bedup/bedup/internal/volume"
)

// parseSize reads a size for a flag or argument: a usage error when it
// is not one.
func parseSize(s string) (uint64, error) {
	n, err := ui.ParseSize(s)
	if err != nil {
		return 0, &UsageError{Err: err}
	}
	return n, nil
}

// outputFlags choose the output's form: text (the default, -v more, -q
// less) or JSON.
type outputFlags struct {
	json, verbose, quiet bool
}

func (f *outputFlags) add(cmd *cobra.Command, verbosity bool) {
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON (see docs/json.md) instead of text")
	if verbosity {
		cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "print a line per share, per skipped file and per size group")
		cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "print only errors and the summary")
	}
}

// printer makes the command's printer; runE closes it and reports the
// command's error to it.
func (a *app) printer(cmd *cobra.Command, f *outputFlags, o ui.Options) (ui.Printer, error) {
	if f.verbose && f.quiet {
		return nil, usagef("--verbose and --quiet exclude each other")
	}
	o.Verbose, o.Quiet, o.Command = f.verbose, f.quiet, cmd.Name()
	if f.json {
		a.out = ui.NewJSON(a.Out, o)
	} else {
		a.out = ui.NewText(a.Out, a.Err, o)
	}
	return a.out, nil
}

// dbFlags is the --db-path flag every command that keeps state has, and
// --wait of those that write it (see addWait).
type dbFlags struct {
	path string
	wait waitValue
}

func (f *dbFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.path, "db-path", "", "tracking database (default $BEDUP_DB, else /var/lib/bedup/bedup.db)")
}

// location is the database the command uses: --db-path, else the default
// (see store.DefaultLocation); create says whether its directory may be
// created.
func (f *dbFlags) location(rep run.Reporter) (path string, create bool, err error) {
	if f.path != "" {
		return f.path, false, nil
	}
	loc, err := store.DefaultLocation()
	if err != nil {
		return "", false, err
	}
	if loc.Legacy && rep != nil {
		rep.Notice(run.Notice{Code: run.NoticeLegacyDatabase, Subject: loc.Path, Detail: loc.Preferred})
	}
	return loc.Path, true, nil
}

// open opens the tracking database for writing (with its lock), telling
// rep when the database at the old default location is used.
func (f *dbFlags) open(ctx context.Context, rep run.Reporter) (*store.DB, error) {
	p, create, err := f.location(rep)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, p, f.storeOptions(p, create, rep))
}

// openReadOnly opens the database for queries; ok is false when there is
// none yet.
func (f *dbFlags) openReadOnly(ctx context.Context) (db *store.DB, ok bool, err error) {
	p, _, err := f.location(nil)
	if err != nil {
		return nil, false, err
	}
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil, false, nil // nothing tracked yet
	}
	db, err = store.Open(ctx, p, store.Options{ReadOnly: true})
	return db, err == nil, err
}

// discover resolves volume filters for the commands that only need the
// volumes (reset), turning a malformed filter into a usage error.
func (a *app) discover(filters []string, o volume.Options) (*volume.Set, error) {
	set, err := volume.Discover(filters, o)
	var fe *volume.FilterError
	if errors.As(err, &fe) {
		return nil, &UsageError{Err: err}
	}
	return set, err
}

// notices prints discovery notices on stderr.
func (a *app) notices(set *volume.Set) {
	p := a.textPrinter()
	for _, n := range set.Notices {
		p.Notice(run.DiscoveryNotice(n))
	}
}

// confirm asks a yes/no question on errw and reads the answer from in:
// y or yes, n or no (any case); an empty answer or end of input is No.
func confirm(in *bufio.Reader, errw io.Writer, question string) (bool, error) {
	for {
		fmt.Fprintf(errw, "%s (y/N) ", question)
		line, err := in.ReadString('\n')
		answer := strings.ToLower(strings.TrimSpace(line))
		switch answer {
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		case "":
			if err != nil && err != io.EOF {
				return false, err
			}
			if err == io.EOF {
				fmt.Fprintln(errw)
			}
			return false, nil
		}
		if err != nil {
			fmt.Fprintln(errw)
			return false, nil
		}
	}
}

// textPrinter is the printer of the interactive commands (reset,
// forget-fs), which print text only.
func (a *app) textPrinter() ui.Printer {
	if a.out == nil {
		a.out = ui.NewText(a.Out, a.Err, ui.Options{})
	}
	return a.out
}
