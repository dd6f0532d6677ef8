package main

import (
	"fmt"
	"io"
	"os"

	"github.com/flint-init/flint/unit"
)

func init() {
	register(&verb{name: "cat", summary: "print unit files and their drop-ins", usage: "usage: flint [--units DIR]... [--root DIR] [--user] cat UNIT...\n", uses: []string{"root"},
		run: func(g *globals, a []string) int { return runCat(g, a, os.Stdout, os.Stderr) }})
}

// runCat prints each unit's fragment and drop-ins as systemctl cat, a blank line between
// units; exit 1 if some unit has no files.
func runCat(g *globals, args []string, stdout, stderr io.Writer) int {
	var names []string
	for _, a := range args {
		names = append(names, mangleName(a))
	}
	if len(names) == 0 {
		fmt.Fprintln(stderr, "Too few arguments.")
		return 1
	}
	l := g.files().l
	rc := 0
	first := true
	for _, n := range names {
		s, err := unit.Cat(l, n)
		if err != nil {
			fmt.Fprintln(stderr, err)
			rc = 1
			continue
		}
		if !first {
			fmt.Fprintln(stdout)
		}
		first = false
		fmt.Fprint(stdout, s)
	}
	return rc
}
