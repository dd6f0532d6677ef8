package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/install"
)

func init() {
	register(&verb{name: "get-default", summary: "print the default target (what default.target is an alias of)",
		usage: "usage: flint [--units DIR]... [--root DIR] [--user] get-default\n",
		run:   func(g *globals, a []string) int { return runGetDefault(g, a, os.Stdout, os.Stderr) }})
	register(&verb{name: "set-default", summary: "make a target the default target",
		usage: "usage: flint [--units DIR]... [--root DIR] [--user] set-default TARGET\n",
		run:   func(g *globals, a []string) int { return runSetDefault(g, a, os.Stderr) }})
	for _, name := range []string{"add-wants", "add-requires"} {
		requires := name == "add-requires"
		register(&verb{name: name, summary: "make a target " + map[bool]string{false: "want", true: "require"}[requires] + " units (symlinks in TARGET." +
			map[bool]string{false: "wants", true: "requires"}[requires] + "/)",
			usage: fmt.Sprintf("usage: flint [--units DIR]... [--root DIR] [--user] %s [--runtime] TARGET UNIT...\n", name),
			run:   func(g *globals, a []string) int { return runAddDependency(g, a, requires, os.Stderr) }})
	}
}

// mangleTarget completes a name without a unit type suffix with ".target", as systemctl's
// set-default, add-wants and add-requires do.
func mangleTarget(n string) string {
	if unit.IsValidName(n) {
		return n
	}
	return n + ".target"
}

// defaultTarget is get-default's answer, or systemctl's message for why there is none.
func defaultTarget(fs *fileScope) (string, string) {
	name, err := install.GetDefault(fs.l)
	if err == nil {
		return name, ""
	}
	var ie *install.Error
	switch {
	case errors.Is(err, install.ErrNotFound):
		return "", "No such file or directory"
	case errors.As(err, &ie) && fs.online() && ie.Server != "":
		return "", ie.Server
	}
	return "", err.Error()
}

// runGetDefault is systemctl get-default.
func runGetDefault(g *globals, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "Too many arguments.")
		return 1
	}
	name, msg := defaultTarget(g.files())
	if msg != "" {
		fmt.Fprintf(stderr, "Failed to get default target: %s\n", msg)
		return 1
	}
	fmt.Fprintln(stdout, name)
	return 0
}

// runSetDefault is systemctl set-default: default.target in the configuration directory
// becomes a link to the target's unit file.
func runSetDefault(g *globals, args []string, stderr io.Writer) int {
	switch {
	case len(args) < 1:
		fmt.Fprintln(stderr, "Too few arguments.")
		return 1
	case len(args) > 1:
		fmt.Fprintln(stderr, "Too many arguments.")
		return 1
	}
	name := mangleTarget(args[0])
	fs := g.files()
	changes, err := install.SetDefault(fs.l, name)
	if code := fs.reportChanges(g, "set default target", changes, err, stderr); code != 0 {
		return code
	}
	if code := fs.reload(g, stderr); code != 0 {
		return code
	}
	if !g.quiet {
		final, msg := defaultTarget(fs)
		if msg != "" {
			fmt.Fprintf(stderr, "Failed to get default target: %s\n", msg)
			return 1
		}
		if final != name {
			fmt.Fprintf(stderr, "Note: \"%s\" is the default unit (possibly a runtime override).\n", final)
		}
	}
	return 0
}

// runAddDependency is systemctl add-wants and add-requires.
func runAddDependency(g *globals, args []string, requires bool, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintln(stderr, "Too few arguments.")
		return 1
	}
	target := mangleTarget(args[0])
	var names []string
	for _, a := range args[1:] {
		names = append(names, mangleName(a))
	}
	fs := g.files()
	changes, err := install.AddDependency(fs.l, target, names, requires, installOptions(g))
	if code := fs.reportChanges(g, "add dependency", changes, err, stderr); code != 0 {
		return code
	}
	return fs.reload(g, stderr)
}
