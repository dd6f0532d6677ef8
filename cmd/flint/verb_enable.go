package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/flint-init/flint/unit"
)

func init() {
	for _, v := range []struct{ name, summary string }{
		{"enable", "enable units ([Install] symlinks; --now also starts them)"},
		{"disable", "disable units (remove their [Install] symlinks; --now also stops them)"},
		{"mask", "mask units (link them to /dev/null; --now also stops them)"},
		{"link", "link unit files from outside the unit path into it"},
		{"unmask", "unmask units"},
	} {
		op := v.name
		uses := []string{"quiet"}
		if op == "enable" || op == "disable" || op == "mask" {
			uses = append(uses, "now", "no-block", "job-mode", "fail", "irreversible", "ignore-dependencies")
		}
		register(&verb{name: op, summary: v.summary, uses: uses,
			usage: fmt.Sprintf("usage: flint [--units DIR]... [--user] %s [--now] [-q] UNIT...\n", op),
			run:   func(g *globals, a []string) int { return runInstallVerb(g, op, a, os.Stdout, os.Stderr) }})
	}
}

// nowHook runs after a successful enable/disable --now: it starts (enable) or stops
// (disable) the units through the manager's control socket. It is a variable so the manager
// wiring (or a test) can replace it.
var nowHook = func(g *globals, op string, units []string) int {
	job := "start"
	if op == "disable" || op == "mask" {
		job = "stop"
	}
	return runJobVerb(g, job, units)
}

// mangleName completes a unit name as systemctl does: a name without a unit type suffix
// gets ".service".
func mangleName(n string) string {
	if unit.IsValidName(n) || strings.Contains(n, "/") {
		return n
	}
	if i := strings.LastIndexByte(n, '.'); i > 0 && unit.TypeOf("x."+n[i+1:]) != "" {
		return n
	}
	return n + ".service"
}

// runInstallVerb implements enable, disable, mask, unmask and link with systemctl's output (the
// changes on stderr, one line each) and exit codes (1 on failure).
func runInstallVerb(g *globals, op string, args []string, stdout, stderr io.Writer) int {
	now, quiet := g.now, g.quiet
	var names []string
	for _, a := range args {
		names = append(names, mangleName(a))
	}
	if len(names) == 0 {
		fmt.Fprintln(stderr, "Too few arguments.")
		return 1
	}
	l := newLoader(g)
	var changes []unit.Change
	var err error
	switch op {
	case "enable":
		changes, err = unit.Enable(l, names)
	case "disable":
		changes, err = unit.Disable(l, names)
	case "mask":
		changes, err = unit.Mask(l, names)
	case "unmask":
		changes, err = unit.Unmask(l, names)
	case "link":
		changes, err = unit.Link(l, names)
	}
	if !quiet {
		for _, c := range changes {
			fmt.Fprintln(stderr, c.String())
		}
	}
	if errors.Is(err, unit.ErrNoInstallInfo) {
		if !quiet {
			fmt.Fprintln(stderr, unit.NoInstallInfoWarning)
		}
		err = nil
	}
	if err != nil {
		var ie *unit.InstallError
		if !errors.As(err, &ie) || !ie.Reported || quiet {
			fmt.Fprintln(stderr, err) // a Reported error was printed among the changes
		}
		return 1
	}
	if now && (op == "enable" || op == "disable" || op == "mask") {
		return nowHook(g, op, names)
	}
	return 0
}
