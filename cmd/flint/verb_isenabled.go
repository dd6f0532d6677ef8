package main

import (
	"fmt"
	"io"
	"os"

	"github.com/flint-init/flint/unit"
)

func init() {
	register(&verb{name: "is-enabled", summary: "print the unit file state of units (enabled, static, ...)",
		usage: "usage: flint [--units DIR]... [--user] is-enabled [-q] UNIT...\n", uses: []string{"quiet", "root"},
		run: func(g *globals, a []string) int { return runIsEnabled(g, a, os.Stdout, os.Stderr) }})
}

// runIsEnabled prints one state per unit as systemctl is-enabled; it stops at the first unit
// that does not exist. Exit 0 when any unit is enabled, enabled-runtime, static, alias,
// indirect or generated; 1 otherwise.
func runIsEnabled(g *globals, args []string, stdout, stderr io.Writer) int {
	quiet := g.quiet
	var names []string
	for _, a := range args {
		names = append(names, mangleName(a))
	}
	if len(names) == 0 {
		fmt.Fprintln(stderr, "Too few arguments.")
		return 1
	}
	l := g.files().l
	ok := false
	for _, n := range names {
		st, err := unit.IsEnabled(l, n)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if unit.EnabledExitOK(st) {
			ok = true
		}
		if !quiet {
			fmt.Fprintln(stdout, st)
		}
	}
	if ok {
		return 0
	}
	return 1
}
