package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/flint-init/flint/client"
)

func init() {
	for _, v := range []struct{ name, summary string }{
		{"start", "start units"},
		{"stop", "stop units"},
		{"restart", "stop, then start units"},
		{"reload", "reload units (ExecReload=)"},
		{"try-restart", "restart units that are running"},
		{"reload-or-restart", "reload units if they support it, else restart them"},
	} {
		name := v.name
		register(&verb{name: name, summary: v.summary, run: func(g *globals, args []string) int { return runJobVerb(g, name, args) }})
	}
}

func runJobVerb(g *globals, name string, args []string) int {
	noBlock := false
	var units []string
	for _, a := range args {
		switch a {
		case "--no-block":
			noBlock = true
		case "-h", "--help":
			fmt.Printf("usage: flint %s [--no-block] UNIT...\n", name)
			return 0
		default:
			if len(a) > 1 && a[0] == '-' {
				fmt.Fprintf(os.Stderr, "flint %s: unknown option %s\n", name, a)
				return 2
			}
			units = append(units, a)
		}
	}
	if len(units) == 0 {
		fmt.Fprintf(os.Stderr, "Too few arguments.\n")
		return 1
	}
	c := client.New(g.control)
	_, err := c.Jobs(name, units, noBlock)
	if err != nil {
		return reportClientError(err)
	}
	return 0
}

// reportClientError prints err as systemctl would and returns the exit code.
func reportClientError(err error) int {
	var ce *client.Error
	if errors.As(err, &ce) {
		fmt.Fprintln(os.Stderr, ce.Msg)
		switch ce.Code {
		case "not-found":
			return 5
		case "permission":
			return 4
		}
		return 1
	}
	if errors.Is(err, client.ErrNoManager) {
		fmt.Fprintf(os.Stderr, "flint: %v (start one with 'flint run')\n", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "flint:", err)
	return 1
}
