// Command genman brings bedup's man pages in a directory (docs/man) up to
// date with the commands: "go run ./internal/manpage/genman docs/man", which
// "make man" runs. It prints what it wrote or removed.
package main

import (
	"fmt"
	"os"

	"github.com/bedup/bedup/internal/manpage"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genman DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "genman: %v\n", err)
		os.Exit(1)
	}
	changed, err := manpage.Update(dir)
	for _, c := range changed {
		fmt.Printf("%s: %s\n", dir, c)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "genman: %v\n", err)
		os.Exit(1)
	}
}
