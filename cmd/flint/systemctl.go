package main

import (
	"fmt"
	"os"
	"strings"
)

// Multi-call: installed as `systemctl` (a symlink to flint), flint behaves as the systemctl
// subset it implements, so that `RUN systemctl enable foo.socket` in a container build works.
// Options may come before the verb, as systemctl allows (`systemctl --now enable foo`,
// `systemctl -q is-active foo`); without a verb it lists units. When no manager runs, verbs
// that need one and change state (start, daemon-reload, ...) are ignored with a warning and
// exit 0, as systemctl does in a chroot; offline verbs (enable, disable, mask, cat, ...) work.

// versionString is what --version prints.
const versionString = "flint (systemd 252 compatible: systemctl subset, systemd-socket-activate)"

// invokedAs is the program name used in messages ("See \"flint status foo.service\"").
var invokedAs = "flint"

func progName() string { return invokedAs }

// systemctlValueOptions are the systemctl options whose value may be the next argument.
var systemctlValueOptions = map[string]bool{
	"-t": true, "--type": true, "-p": true, "--property": true, "-P": true, "-s": true,
	"--signal": true, "-n": true, "--lines": true, "--state": true, "--kill-whom": true,
	"--kill-who": true, "--job-mode": true,
}

// systemctlIgnorable are verbs skipped (exit 0) when no manager runs.
var systemctlIgnorable = map[string]bool{
	"start": true, "stop": true, "restart": true, "reload": true, "try-restart": true,
	"reload-or-restart": true, "try-reload-or-restart": true, "daemon-reload": true, "reset-failed": true, "kill": true,
	"condstop": true, "condrestart": true, "force-reload": true, "condreload": true, "reload-or-try-restart": true,
	"isolate": true, "exit": true, "poweroff": true, "halt": true, "reboot": true,
}

func runSystemctl(argv []string) int {
	invokedAs = "systemctl"
	g, rest, err := parseGlobals(argv[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "systemctl:", err)
		return 2
	}
	g.systemctl = true
	// Find the verb: the first argument that is not an option or an option's value.
	verbAt := -1
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			if systemctlValueOptions[a] {
				i++
			}
			continue
		}
		verbAt = i
		break
	}
	for _, a := range rest {
		if a == "--version" {
			fmt.Println(versionString)
			return 0
		}
		if a == "-h" || a == "--help" {
			if verbAt < 0 {
				usage(os.Stdout)
				return 0
			}
		}
	}
	name := "list-units"
	var args []string
	if verbAt >= 0 {
		name = rest[verbAt]
		args = append(append(args, rest[:verbAt]...), rest[verbAt+1:]...)
	} else {
		args = rest
	}
	v, ok := verbs[name]
	if !ok || name == "run" || name == "activate" || name == "analyze" || name == "logs" || name == "completion" {
		fmt.Fprintf(os.Stderr, "Unknown command verb '%s'.\n", name)
		return 1
	}
	if systemctlIgnorable[name] {
		if _, err := os.Stat(g.control); err != nil {
			fmt.Fprintf(os.Stderr, "No flint manager is running, ignoring command '%s'.\n", name)
			return 0
		}
	}
	return v.run(g, args)
}
