package main

import (
	"fmt"
	"os"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/client"
)

func init() {
	register(&verb{name: "daemon-reexec", summary: "re-execute the manager (re-read everything, running services kept)", manager: true,
		usage: `usage: flint daemon-reexec

Have the manager start over on its unit files as systemctl daemon-reexec has systemd
re-execute itself: every unit file is read anew and the running services are kept. (flint
does not replace its own process for that: a re-exec is a daemon-reload.)
`,
		run: runDaemonReexec})
}

func runDaemonReexec(g *globals, args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(os.Stderr, "Too many arguments.")
		return 1
	}
	if err := client.New(g.control).Simple(&client.Request{Verb: api.VerbDaemonReexec}); err != nil {
		return reportClientError(err)
	}
	return 0
}
