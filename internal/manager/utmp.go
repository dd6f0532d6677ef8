package manager

import (
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/flint-init/flint/internal/utmp"
	"github.com/flint-init/flint/unit"
)

// UtmpIdentifier=: a process of the unit gets utmp and wtmp records (internal/utmp) when it
// starts, as systemd's exec_child writes them (INIT_PROCESS; LOGIN_PROCESS for
// UtmpMode=login; USER_PROCESS too for user, with User= or the name of the uid it runs as),
// and its record is marked DEAD_PROCESS when it exits (exec_status_exit). systemd ignores
// a failure to write them; so does flint. flint writes the start records right after the
// fork, systemd in the child before its exec.

// utmpFiles are the files written (a variable for tests).
var utmpFiles = utmp.Default

// utmpStarted writes the records of process pid of ec, started with credentials cr (nil:
// the manager's).
func utmpStarted(ec *unit.ExecContext, pid int, cr *creds) {
	id := ec.UtmpIdentifier
	if id == "" {
		return
	}
	typ := utmp.InitProcess
	switch ec.UtmpMode {
	case "login":
		typ = utmp.LoginProcess
	case "user":
		typ = utmp.UserProcess
	}
	var name string
	if cr != nil && cr.name != "" {
		name = cr.name
	} else if typ == utmp.UserProcess {
		uid := syscall.Getuid()
		if cr != nil {
			uid = int(cr.uid)
		}
		name = strconv.Itoa(uid)
		if u, err := user.LookupId(name); err == nil {
			name = u.Username
		}
	}
	line := ec.TTYPath
	if l, ok := strings.CutPrefix(line, "/dev/"); ok {
		line = l
	}
	// The process is the leader of its own session (spawn's NewSession): sid = pid.
	utmpFiles.InitProcess(id, pid, pid, line, typ, name)
}

// utmpExited marks the record of u's process pid dead, if it is its.
func utmpExited(u *Unit, pid int, ws syscall.WaitStatus) {
	if u == nil || u.cfg == nil {
		return
	}
	ec := u.execContext()
	if ec == nil || ec.UtmpIdentifier == "" {
		return
	}
	code, status := 1, ws.ExitStatus() // CLD_EXITED
	if ws.Signaled() {
		code, status = 2, int(ws.Signal()) // CLD_KILLED
		if ws.CoreDump() {
			code = 3 // CLD_DUMPED
		}
	}
	utmpFiles.DeadProcess(ec.UtmpIdentifier, pid, code, status)
}
