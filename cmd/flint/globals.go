package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/flint-init/flint/unit"
)

// globals are the options accepted before (and, for convenience, after) the verb.
type globals struct {
	control    string   // control socket path
	controlSet bool     // given by --control or FLINT_CONTROL (not the default)
	units      []string // --units DIR, repeatable; replaces the search path
	user       bool     // --user
	noPager    bool
	output     string // --output=json|short
	// systemctl: invoked under the name systemctl (multi-call); a verb that needs a manager
	// then is ignored with a warning when none runs, as systemctl does in a chroot.
	systemctl bool
	// manager is where the manager on control finds units, asked once (managerPath).
	manager *managerSearchPath
}

// parseGlobals takes the global options wherever they appear and returns the rest in order.
func parseGlobals(args []string) (*globals, []string, error) {
	g := &globals{}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func(name string) (string, error) {
			if strings.HasPrefix(a, name+"=") {
				return a[len(name)+1:], nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("option %s needs a value", name)
			}
			i++
			return args[i], nil
		}
		switch {
		case a == "--":
			rest = append(rest, args[i:]...)
			i = len(args)
		case a == "--control" || strings.HasPrefix(a, "--control="):
			v, err := val("--control")
			if err != nil {
				return nil, nil, err
			}
			g.control = v
		case a == "--units" || strings.HasPrefix(a, "--units="):
			v, err := val("--units")
			if err != nil {
				return nil, nil, err
			}
			g.units = append(g.units, v)
		case a == "--user":
			g.user = true
		case a == "--system":
			g.user = false
		case a == "--no-pager":
			g.noPager = true
		case a == "--output" || strings.HasPrefix(a, "--output=") || a == "-o" && len(rest) > 0 && rest[0] != "logs":
			v, err := val(strings.SplitN(a, "=", 2)[0])
			if err != nil {
				return nil, nil, err
			}
			g.output = v
		default:
			if len(rest) == 0 && !strings.HasPrefix(a, "-") {
				if v, ok := verbs[a]; ok && v.rawArgs {
					rest = append(rest, args[i:]...)
					i = len(args)
					continue
				}
			}
			rest = append(rest, a)
		}
	}
	g.controlSet = g.control != ""
	if g.control == "" {
		g.control = os.Getenv("FLINT_CONTROL")
		g.controlSet = g.control != ""
	}
	if g.control == "" {
		g.control = defaultControl(g.user || os.Getuid() != 0)
	}
	return g, rest, nil
}

func defaultControl(user bool) string {
	if !user {
		return "/run/flint/control.sock"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "flint", "control.sock")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("flint-%d", os.Getuid()), "control.sock")
}

// scope is the unit search scope the options select.
func (g *globals) scope() unit.Scope {
	if g.user {
		return unit.User
	}
	return unit.System
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: flint [--control PATH] [--units DIR]... [--user] VERB [ARGS...]")
	fmt.Fprintln(w, "\nverbs:")
	for _, n := range sortedVerbs() {
		fmt.Fprintf(w, "  %-20s %s\n", n, verbs[n].summary)
	}
}
