package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/flint-init/flint/unit"
)

func init() {
	register(&verb{name: "cat", summary: "print unit files and their drop-ins", usage: "usage: flint [--units DIR]... [--root DIR] [--user] cat UNIT...\n",
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
	fs := g.files()
	rc := 0
	first := true
	for _, n := range names {
		s, err := unit.Cat(fs.l, n)
		if err != nil {
			fmt.Fprintln(stderr, err)
			rc = 1
			continue
		}
		if !first {
			fmt.Fprintln(stdout)
		}
		first = false
		if fs.online() && !strings.HasPrefix(s, "# Unit ") {
			if sts, err := fs.c.Show([]string{n}, []string{"NeedDaemonReload"}); err == nil && len(sts) == 1 &&
				propMap(sts[0].Props)["NeedDaemonReload"] == "yes" {
				user := ""
				if g.user {
					user = " --user"
				}
				fmt.Fprintf(stderr, catOutdated, n, progName(), user)
			}
		}
		fmt.Fprint(stdout, s)
	}
	return rc
}

// catOutdated is systemctl cat's warning about a unit whose files changed since the manager
// loaded them.
const catOutdated = `# Warning: %s changed on disk, the version systemd has loaded is outdated.
# This output shows the current version of the unit's original fragment and drop-in files.
# If fragments or drop-ins were added or removed, they are not properly reflected in this output.
# Run '%s%s daemon-reload' to reload units.
`
