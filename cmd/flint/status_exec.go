package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// What systemctl status says of a unit's commands: a "Process:" line for each command that
// ran and exited, from its Exec*= property's runtime part, and the exit words of the main
// process.

// execRun is what an Exec*= property line says of one command.
type execRun struct {
	argv   string
	pid    string
	code   string // exited, killed, dumped; "(null)" while it runs or before
	status string
}

// parseExecProperty reads one Exec*= value as `show` prints it: "{ path=P ; argv[]=A ;
// ignore_errors=no ; start_time=[...] ; stop_time=[...] ; pid=N ; code=C ; status=S }".
// The command line may hold " ; " itself, so the fields after it are read from the end.
func parseExecProperty(v string) (execRun, bool) {
	v = strings.TrimSuffix(strings.TrimPrefix(v, "{ "), " }")
	_, rest, ok := strings.Cut(v, " ; argv[]=")
	if !ok {
		return execRun{}, false
	}
	i := strings.LastIndex(rest, " ; ignore_errors=")
	if i < 0 {
		i = strings.LastIndex(rest, " ; flags=")
	}
	if i < 0 {
		return execRun{}, false
	}
	r := execRun{argv: rest[:i]}
	for _, f := range strings.Split(rest[i+3:], " ; ") {
		k, val, _ := strings.Cut(f, "=")
		switch k {
		case "pid":
			r.pid = val
		case "code":
			r.code = val
		case "status":
			r.status = val
		}
	}
	return r, true
}

// printProcesses prints a "Process:" line for every command of the unit that exited, in
// the order of its Exec*= properties (not their ...Ex twins).
func printProcesses(w io.Writer, props []client.Property) {
	for _, p := range props {
		if !strings.HasPrefix(p.Name, "Exec") || strings.HasPrefix(p.Name, "ExecMain") || strings.HasSuffix(p.Name, "Ex") {
			continue
		}
		r, ok := parseExecProperty(p.Value)
		if !ok || r.code == "" || r.code == "(null)" || r.pid == "0" {
			continue
		}
		status, _, _ := strings.Cut(r.status, "/")
		fmt.Fprintf(w, "    Process: %s %s=%s (%s)\n", r.pid, p.Name, unit.Printable(r.argv), exitWords(r.code, status))
	}
}

// exitWords is how systemctl status words an exit: "code=exited, status=1/FAILURE" (the
// name only for libc's and systemd's own statuses: 0, 1, 200 and up, not the LSB or BSD
// ones), "code=killed, signal=KILL".
func exitWords(code, status string) string {
	n, err := strconv.Atoi(status)
	if err != nil {
		return "code=" + code + ", status=" + status
	}
	if code != "exited" {
		name := strings.TrimPrefix(unix.SignalName(syscall.Signal(n)), "SIG")
		if name == "" {
			name = status
		}
		return "code=" + code + ", signal=" + name
	}
	if n <= 1 || n >= 200 {
		if name := spawn.ExitStatusName(n); name != "" {
			return fmt.Sprintf("code=exited, status=%d/%s", n, name)
		}
	}
	return fmt.Sprintf("code=exited, status=%d", n)
}

// activeDuration is systemctl status's Duration: how long a unit that is inactive or
// failed now was active the last time.
func activeDuration(p map[string]string) (time.Duration, bool) {
	if s := p["ActiveState"]; s != "inactive" && s != "failed" {
		return 0, false
	}
	enter, err1 := strconv.ParseInt(p["ActiveEnterTimestampMonotonic"], 10, 64)
	exit, err2 := strconv.ParseInt(p["ActiveExitTimestampMonotonic"], 10, 64)
	if err1 != nil || err2 != nil || enter <= 0 || exit <= 0 || exit < enter {
		return 0, false
	}
	return time.Duration(exit-enter) * time.Microsecond, true
}
