package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/unit"
)

func init() {
	register(&verb{name: "set-property", summary: "change properties of a unit at runtime (Description=)", manager: true,
		usage: `usage: flint set-property [--runtime] UNIT NAME=VALUE...

Change properties of a loaded unit as systemctl set-property: the manager writes each to a
drop-in 50-NAME.conf in its control directory (/etc/systemd/system.control; with --runtime
/run/systemd/system.control, gone when the manager exits) and applies it at once. flint
changes Description=; the cgroup resource settings systemd can change this way are refused
(flint does not enforce them).
`,
		run: runSetProperty})
}

func runSetProperty(g *globals, args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "Too few arguments.")
		return 1
	}
	name := mangleName(args[0])
	known := map[string]bool{}
	for _, d := range unit.Directives() {
		known[d.Name] = true
	}
	for _, a := range args[1:] {
		// systemctl parses the assignments before it sends them
		key, _, ok := strings.Cut(a, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "Not an assignment: %s\n", a)
			return 1
		}
		if !known[key] {
			fmt.Fprintf(os.Stderr, "Unknown assignment: %s\n", a)
			return 1
		}
	}
	if err := client.New(g.control).SetProperty(name, args[1:], g.runtime); err != nil {
		if ce, ok := err.(*client.Error); ok {
			fmt.Fprintf(os.Stderr, "Failed to set unit properties on %s: %s\n", name, ce.Msg)
			return 1
		}
		return reportClientError(err)
	}
	return 0
}
