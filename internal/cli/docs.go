package cli

import (
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// NewRootCommand returns bedup's command tree as Run builds it, with the
// help and completion commands cobra adds when it executes, and streams
// that read nothing and discard what is written. It is for generating
// documentation (man pages) from the commands, not for running them: use
// Run for that.
func NewRootCommand() *cobra.Command {
	s := Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}
	root := (&app{Streams: s}).newRoot()
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	return root
}
