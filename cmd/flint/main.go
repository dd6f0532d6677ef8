// Command flint is a systemd-compatible, socket-activating service manager. `flint run` is the
// manager; every other verb is a client of its control socket or works on unit files alone.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/flint-init/flint/internal/getopt"
)

// verb is one sub-command. run gets the options and the operands after the verb name, and
// returns the process exit code.
type verb struct {
	name    string
	summary string
	// usage is printed by -h/--help after the verb.
	usage string
	run   func(g *globals, args []string) int
	// rawArgs: the arguments after the verb are the verb's own (its own option table, or a
	// command line to run); systemctl's options are only looked for before the verb.
	rawArgs bool
	// hidden: a legacy name, left out of the usage and of completion.
	hidden bool
	// manager: needs a running manager; without one it fails with where it looked. (Verbs
	// that are neither offline nor manager print what they can without one.)
	manager bool
}

var verbs = map[string]*verb{}

// register adds a verb; each verb file calls it from init.
func register(v *verb) { verbs[v.name] = v }

func main() {
	os.Exit(run(os.Args))
}

func run(argv []string) int {
	// Re-exec shim for starting services (see internal/spawn): must be handled before anything
	// else touches the process.
	if len(argv) > 1 && argv[1] == spawnShimVerb {
		return runSpawnShim(argv[2:])
	}
	if len(argv) > 1 && argv[1] == sandboxShimVerb {
		return runSandboxShim(argv[2:])
	}
	prog, args := argv[0], argv[1:]
	switch filepath.Base(prog) {
	case "systemctl":
		return runSystemctl(prog, args, os.Stdout, os.Stderr)
	case "systemd-socket-activate":
		// multi-call: every argument is the tool's own
		return runActivate(args, os.Stderr)
	case "journalctl":
		return runJournalctl(prog, args)
	case "systemd-notify":
		return runNotify(prog, args, os.Stdout, os.Stderr)
	case "systemd-analyze":
		return runAnalyzeTool(prog, args)
	case "systemd-tmpfiles":
		return runTmpfiles(prog, args, os.Stdin, os.Stdout, os.Stderr)
	}
	return runFlintCLI(prog, args, os.Stdout, os.Stderr)
}

// runFlintCLI is flint's own command line: systemctl's options (before and after the verb)
// and verbs, and flint's verbs with option tables of their own (logs, analyze, run,
// activate, completion), whose options come after the verb.
func runFlintCLI(prog string, args []string, stdout, stderr io.Writer) int {
	g := newGlobals(prog)
	// The options before the verb, in systemctl's table; the verb is the first operand.
	p := (&getopt.Spec{Options: ctlSpec.Options, NoPermute: true}).Parse(args)
	if code, done := applyCtlOptions(g, p, stdout, stderr); done {
		return code
	}
	rest := p.Operands()
	if len(rest) == 0 {
		usage(stdout, prog)
		return 2
	}
	name := rest[0]
	if name == "help" && len(rest) == 1 {
		usage(stdout, prog)
		return 0
	}
	v, ok := verbs[name]
	if !ok {
		fmt.Fprintf(stderr, "Unknown command verb %s.\n", name)
		return 1
	}
	g.verb = name
	if v.rawArgs {
		g.resolveControl()
		return v.run(g, rest[1:])
	}
	// The options after the verb, between and after its operands.
	p = ctlSpec.Parse(rest[1:])
	if code, done := applyCtlOptions(g, p, stdout, stderr); done {
		return code
	}
	return runCtlVerb(g, v, p.Operands(), stdout, stderr)
}

// runSystemctl is flint under the name systemctl: the whole command line in systemctl's
// table, the verb the first operand (list-units when there is none).
func runSystemctl(prog string, args []string, stdout, stderr io.Writer) int {
	invokedAs = "systemctl"
	g := newGlobals(prog)
	g.systemctl = true
	p := ctlSpec.Parse(args)
	if code, done := applyCtlOptions(g, p, stdout, stderr); done {
		return code
	}
	ops := p.Operands()
	name := "list-units"
	if len(ops) > 0 {
		name, ops = ops[0], ops[1:]
	}
	v, ok := verbs[name]
	if !ok || v.rawArgs || name == "completion" {
		fmt.Fprintf(stderr, "Unknown command verb %s.\n", name)
		return 1
	}
	g.verb = name
	return runCtlVerb(g, v, ops, stdout, stderr)
}

// applyCtlOptions reads the options p finds into g. done is true when the command is over:
// an error (reported, exit 1), or something printed (help, version, -t help).
func applyCtlOptions(g *globals, p *getopt.Parser, stdout, stderr io.Writer) (code int, done bool) {
	for {
		f, ok, err := p.Next()
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", g.prog, err)
			return 1, true
		}
		if !ok {
			return 0, false
		}
		if err := g.setCtlOption(f, stdout); err != nil {
			if errors.Is(err, helpDone{}) {
				if g.help {
					printHelp(g, stdout)
				}
				return 0, true
			}
			fmt.Fprintln(stderr, err)
			return 1, true
		}
	}
}

// printHelp prints the verb's usage, or the general one.
func printHelp(g *globals, w io.Writer) {
	if v, ok := verbs[g.verb]; ok && v.usage != "" && !g.systemctl {
		fmt.Fprint(w, v.usage)
		return
	}
	usage(w, g.prog)
}

// runCtlVerb runs a verb of systemctl's command line once every option is read: the checks
// systemctl makes then, the options flint refuses for the verb, the manager's presence.
func runCtlVerb(g *globals, v *verb, operands []string, stdout, stderr io.Writer) int {
	g.resolveControl()
	if err := g.checkCtlOptions(v.name, operands); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := checkVerbOptions(g, v); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if g.root != "" && !slices.Contains(rootVerbs, v.name) {
		if v.name == "is-system-running" {
			if !g.quiet {
				fmt.Fprintln(stdout, "offline")
			}
			return 1
		}
		fmt.Fprintf(stderr, "Verb '%s' cannot be used with --root= or --image=.\n", v.name)
		return 1
	}
	if v.manager && ignoredOffline() {
		fmt.Fprintf(stderr, "Running in chroot, ignoring command '%s'\n", v.name)
		return 0
	}
	return v.run(g, operands)
}
