// Package cli wires bedup's commands to the packages that do the work. It
// parses arguments, prints results and errors, and returns an error whose
// kind (usage, interrupted, other) main turns into the exit code. Each
// command lives in its own file.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/run"
	"github.com/bedup/bedup/internal/ui"
)

// Version and Revision are the program's version and the commit it was
// built from; the Makefile sets them with -ldflags "-X …" (Go's own VCS
// stamping is used when they are empty).
var (
	Version  = ""
	Revision = ""
)

// version is the module version and the VCS revision the binary was
// built from: "v1.2.3 (revision 0123abcd4567)" or "(devel) (revision
// 0123abcd4567, modified)".
func version() string {
	v := Version
	bi, ok := debug.ReadBuildInfo()
	if v == "" {
		v = "(devel)"
		if ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	rev, modified := Revision, ""
	if rev == "" && ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = ", modified"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
	}
	if rev == "" {
		return v
	}
	return fmt.Sprintf("%s (revision %s%s)", v, rev, modified)
}

// Streams are the standard streams a command reads and writes.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// app is the state shared by every command of one invocation.
type app struct {
	Streams
	ran        bool // a command's RunE was reached: errors after that are not usage errors
	cpuProfile string
	out        ui.Printer // the running command's printer, if it made one
}

// Run parses args (without the program name) and runs the command they
// name. It prints a fatal error as one line "bedup: <what>: <why>" on
// s.Err and returns it for main to choose the exit code (see IsUsage and
// context.Canceled, IsStopped).
func Run(ctx context.Context, args []string, s Streams) error {
	s.Out = &cancellableWriter{ctx: ctx, w: s.Out}
	a := &app{Streams: s}
	root := a.newRoot()
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	_, err := root.ExecuteContextC(ctx)
	if err == nil {
		return nil
	}
	if !a.ran && !IsUsage(err) {
		// Cobra failed before any command ran: unknown command, bad flag,
		// wrong argument count.
		err = &UsageError{Err: fmt.Errorf("%w (see 'bedup --help')", err)}
	}
	var sig *Signalled
	switch {
	case IsStopped(err):
		// A clean end, as asked: nothing to tell.
	case errors.As(err, &sig):
		fmt.Fprintf(s.Err, "bedup: %v\n", sig)
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(s.Err, "bedup: interrupted")
	default:
		fmt.Fprintf(s.Err, "bedup: %v\n", err)
	}
	return err
}

func (a *app) newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "bedup",
		Short: "Deduplicate files on Btrfs, incrementally",
		Long: `bedup finds files with identical contents on Btrfs filesystems and makes them
share their data extents, with the kernel's compare-and-share ioctl
(FIDEDUPERANGE): only identical bytes are ever shared, and no file's content,
times, owner, mode, flags or attributes change. It remembers the transaction
generation it last scanned, so a rescan asks the kernel only for what changed.

Exit status:
  0    success
  1    failure
  2    usage error
  3    finished, but some files were deferred to the next run: each is named
       on standard error with the reason (an I/O error, a read-only or full
       filesystem, a busy subvolume, a change meanwhile), and the next run
       tries them again
  130  interrupted`,
		Version:           version(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false}, // "bedup completion" is listed in --help
	}
	root.SetVersionTemplate("bedup {{.Version}}\n")
	// A developer's aid for performance work, kept out of --help.
	root.PersistentFlags().StringVar(&a.cpuProfile, "cpuprofile", "", "write a CPU profile to this file")
	root.PersistentFlags().MarkHidden("cpuprofile")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if !c.HasParent() {
			return usagef("%v (see 'bedup --help')", err)
		}
		return usagef("%s: %v (see '%s --help')", c.Name(), err, c.CommandPath())
	})
	root.AddCommand(a.dedupCmd("dedup", false), a.dedupCmd("dedup-vol", true), a.scanCmd(), a.showCmd(), a.resetCmd(), a.forgetFSCmd(), a.sizeLookupCmd(),
		a.findNewCmd(), a.generationCmd(), a.dedupFilesCmd(), a.historyCmd(), a.watchCmd())
	return root
}

// runE wraps a command body so that errors after argument parsing are
// never mistaken for usage errors, and each carries the command's name.
func (a *app) runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.ran = true
		// Every command works through ioctls and opens only root may use.
		if err := btrfs.CheckPrivileges(); err != nil {
			return err
		}
		if a.cpuProfile != "" {
			f, err := os.Create(a.cpuProfile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		err := fn(cmd, args)
		if a.out != nil {
			if err != nil && !IsStopped(err) && !IsDeferred(err) { // deferred: the summary says it
				a.out.Error(err)
			}
			if cerr := a.out.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("write output: %w", cerr)
			}
		}
		if err != nil && cmd.Context().Err() != nil && !IsStopped(err) {
			// Interrupted: whatever failed on the way out (a query the
			// driver cut short, say) is the interrupt.
			return context.Cause(cmd.Context())
		}
		if err == nil || errors.Is(err, context.Canceled) || IsStopped(err) {
			return err
		}
		var fe *run.FilterError
		var nf *run.NotAFilesystemError
		if errors.As(err, &fe) || errors.As(err, &nf) {
			err = &UsageError{Err: err}
		}
		if IsUsage(err) {
			return &UsageError{Err: fmt.Errorf("%s: %w (see 'bedup %s --help')", cmd.Name(), err, cmd.Name())}
		}
		return fmt.Errorf("%s: %w", cmd.Name(), err)
	}
}

// argsRange is cobra.RangeArgs with a usage error naming the command.
func argsRange(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || (hi >= 0 && len(args) > hi) {
			want := fmt.Sprintf("%d to %d", lo, hi)
			switch {
			case hi < 0:
				want = fmt.Sprintf("at least %d", lo)
			case lo == hi:
				want = fmt.Sprint(lo)
			}
			return usagef("%s: takes %s arguments, got %d (see 'bedup %s --help')", cmd.Name(), want, len(args), cmd.Name())
		}
		return nil
	}
}
