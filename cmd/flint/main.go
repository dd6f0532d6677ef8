// Command flint is a systemd-compatible, socket-activating service manager. `flint run` is the
// manager; every other verb is a client of its control socket or works on unit files alone.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// verb is one sub-command. run gets the global options and the arguments after the verb name,
// and returns the process exit code.
type verb struct {
	name    string
	summary string
	run     func(g *globals, args []string) int
	// rawArgs: the arguments after the verb are the verb's own (a command line to run);
	// global options are not looked for among them.
	rawArgs bool
	// hidden: a legacy name, left out of the usage and of completion.
	hidden bool
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
	switch filepath.Base(argv[0]) {
	case "systemctl":
		// multi-call: behave as the systemctl subset (see systemctl.go)
		return runSystemctl(argv)
	case "systemd-socket-activate":
		// multi-call: every argument is the tool's own
		return runActivate(argv[1:], os.Stderr)
	}
	g, rest, err := parseGlobals(argv[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "flint:", err)
		return 2
	}
	if len(rest) > 0 && rest[0] == "--version" {
		fmt.Println(versionString)
		return 0
	}
	if len(rest) == 0 || rest[0] == "help" || rest[0] == "--help" || rest[0] == "-h" {
		usage(os.Stdout)
		if len(rest) == 0 {
			return 2
		}
		return 0
	}
	v, ok := verbs[rest[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "flint: unknown command %q (see 'flint --help')\n", rest[0])
		return 2
	}
	return v.run(g, rest[1:])
}
