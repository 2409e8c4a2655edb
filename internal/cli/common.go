package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/volume"
)

// parseSize reads a size in bytes: a whole number with an optional binary
// suffix K, M, G or T (KiB, MiB, ... and a trailing B are accepted too).
func parseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	u := strings.ToUpper(t)
	u = strings.TrimSuffix(u, "B")
	u = strings.TrimSuffix(u, "I")
	shift := 0
	if n := len(u); n > 0 {
		switch u[n-1] {
		case 'K':
			shift = 10
		case 'M':
			shift = 20
		case 'G':
			shift = 30
		case 'T':
			shift = 40
		}
		if shift > 0 {
			u = u[:n-1]
		}
	}
	if u == "" || u != strings.TrimSpace(u) || strings.ContainsAny(u, "+-") {
		return 0, fmt.Errorf("size %q is not a number of bytes (K, M, G and T suffixes allowed)", s)
	}
	n, err := strconv.ParseUint(u, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is not a number of bytes (K, M, G and T suffixes allowed)", s)
	}
	if n > (^uint64(0))>>shift {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n << shift, nil
}

// humanBytes formats a byte count with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), 0
	for f >= unit*unit || f <= -unit*unit {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", f/unit, "KMGTPE"[i])
}

// dbFlags is the --db-path flag every command that keeps state has.
type dbFlags struct{ path string }

func (f *dbFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.path, "db-path", "", "tracking database (default $XDG_DATA_HOME/bedup/db.sqlite)")
}

// open opens the tracking database for writing (with its lock).
func (f *dbFlags) open(ctx context.Context) (*store.DB, error) {
	p, create := f.path, false
	if p == "" {
		var err error
		if p, err = store.DefaultPath(); err != nil {
			return nil, err
		}
		create = true
	}
	return store.Open(ctx, p, store.Options{CreateDir: create})
}

// openReadOnly opens the database for queries; ok is false when there is
// none yet.
func (f *dbFlags) openReadOnly(ctx context.Context) (db *store.DB, ok bool, err error) {
	p := f.path
	if p == "" {
		if p, err = store.DefaultPath(); err != nil {
			return nil, false, err
		}
	}
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil, false, nil // nothing tracked yet
	}
	db, err = store.Open(ctx, p, store.Options{ReadOnly: true})
	return db, err == nil, err
}

// discover resolves volume filters, turning a malformed filter into a
// usage error. Print the set's notices with a.notices once the run is
// sure to go ahead, so that a fatal error stays the only line.
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
	for _, n := range set.Notices {
		fmt.Fprintf(a.Err, "bedup: %s\n", n)
	}
}

// excludes maps each volume to the inode numbers of the database files it
// holds, which must never become candidates.
func excludes(db *store.DB, v *volume.Volume) map[uint64]bool {
	st, err := v.Dir.Stat()
	if err != nil {
		return nil
	}
	dev := st.Sys().(*syscall.Stat_t).Dev
	var m map[uint64]bool
	for _, p := range db.Files() {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if s := fi.Sys().(*syscall.Stat_t); s.Dev == dev {
			if m == nil {
				m = map[uint64]bool{}
			}
			m[s.Ino] = true
		}
	}
	return m
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
