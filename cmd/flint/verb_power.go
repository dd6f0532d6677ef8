package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/client"
)

// flint exit, poweroff, halt and reboot: systemctl's, for the manager flint run is.

func init() {
	for _, v := range []struct{ name, summary string }{
		{"exit", "stop every unit and make flint run exit (with CODE)"},
		{"poweroff", "stop every unit, then power off (flint run as PID 1) or exit"},
		{"halt", "stop every unit, then halt (flint run as PID 1) or exit"},
		{"reboot", "stop every unit, then reboot (flint run as PID 1) or exit"},
	} {
		name := v.name
		register(&verb{name: name, summary: v.summary, usage: fmt.Sprintf(powerUsage, "flint", v.summary), manager: true, run: func(g *globals, args []string) int { return runPowerVerb(g, name, args) }})
	}
}

const powerUsage = `usage: %[1]s exit [--force] [CODE]
       %[1]s poweroff|halt|reboot [--force]

%[2]s.

Without --force, start exit.target (poweroff.target, halt.target, reboot.target) in mode
replace-irreversibly and return once the job is queued: the units that conflict with
shutdown.target (those with default dependencies) stop, then the target's service
(systemd-exit.service, ...) makes the manager stop every unit left and quit. With --force
(or -f, once or twice), the manager stops every unit at once and quits.

flint run then exits with CODE (exit; 0 when not given, or the code set before). Only flint
run as PID 1 powers off, halts or reboots, with reboot(2), which in a container ends the
container; any other flint run just exits, 0 unless an exit code was set: it never powers
off the machine it runs on. poweroff, halt and reboot are for a system manager only.
`

func runPowerVerb(g *globals, name string, args []string) int {
	// --force once or twice: systemctl reboot(2)s at once with twice; flint's manager
	// stops every unit at once and quits either way. --no-block: the verbs are asynchronous.
	force, code, rest := g.force > 0, -1, args
	max := 0
	if name == "exit" {
		max = 1
	}
	if len(rest) > max {
		fmt.Fprintln(os.Stderr, "Too many arguments.")
		return 1
	}
	if len(rest) == 1 {
		n, err := strconv.ParseUint(rest[0], 10, 8)
		if err != nil {
			fmt.Fprintln(os.Stderr, "Invalid exit code.")
			return 1
		}
		code = int(n)
	}
	if name != "exit" && g.user {
		fmt.Fprintln(os.Stderr, "Bad action for user mode.")
		return 1
	}
	c := client.New(g.control)
	fail := func(err error) int {
		if ce := (*client.Error)(nil); errors.As(err, &ce) {
			fmt.Fprintf(os.Stderr, "Failed to execute operation: %s\n", ce.Msg)
			return 1
		}
		return reportClientError(err)
	}
	if code >= 0 {
		// systemctl sets the code first, then exits (or starts exit.target).
		if err := c.Do(&client.Request{Verb: api.VerbSetExitCode, ExitCode: &code}, nil); err != nil {
			if ce := (*client.Error)(nil); errors.As(err, &ce) {
				fmt.Fprintf(os.Stderr, "Failed to set exit code: %s\n", ce.Msg)
				return 1
			}
			return fail(err)
		}
	}
	if force {
		if err := c.Do(&client.Request{Verb: api.Verb(name)}, nil); err != nil {
			return fail(err)
		}
		return 0
	}
	// As systemctl when logind is not there: the job in no-block mode.
	return queueJobs(g, "start", jobArgs{noBlock: true, mode: "replace-irreversibly", units: []string{name + ".target"}})
}
