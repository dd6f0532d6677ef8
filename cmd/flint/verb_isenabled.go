package main

import (
	"fmt"
	"github.com/flint-init/flint/unit/install"
	"io"
	"os"
)

func init() {
	register(&verb{name: "is-enabled", summary: "print the unit file state of units (enabled, static, ...)",
		usage: "usage: flint [--units DIR]... [--user] is-enabled [-q] [-l] UNIT...\n\nWith -l (--full), the symlinks that disable would remove follow each state.\n",
		run:   func(g *globals, a []string) int { return runIsEnabled(g, a, os.Stdout, os.Stderr) }})
}

// runIsEnabled prints one state per unit as systemctl is-enabled; it stops at the first unit
// that does not exist. Exit 0 when any unit is enabled, enabled-runtime, static, alias,
// indirect or generated; 1 otherwise. With --full each state is followed by the unit's
// links, indented.
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
		st, err := install.IsEnabled(l, n)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if install.EnabledExitOK(st) {
			ok = true
		}
		if quiet {
			continue
		}
		fmt.Fprintln(stdout, st)
		if g.full {
			// as systemctl: the symlinks disable would remove, whatever the state
			links, err := install.Links(l, n, g.runtime)
			if err != nil {
				fmt.Fprintf(stderr, "Failed to get unit file links for %s: %v\n", n, err)
				return 1
			}
			for _, p := range links {
				fmt.Fprintf(stdout, "  %s\n", p)
			}
		}
	}
	if ok {
		return 0
	}
	return 1
}
