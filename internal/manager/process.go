package manager

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/unit"
)

// runControl runs cmds one after the other as control processes of u, then calls next(ok):
// ok is false when a command without the '-' prefix failed (or could not be started).
func (m *Manager) runControl(u *Unit, cmds []unit.ExecCommand, phase string, next func(ok bool)) {
	m.runControlEx(u, cmds, phase, false, next)
}

// runControlWithMain is runControl for commands that may refer to the main process ($MAINPID).
func (m *Manager) runControlWithMain(u *Unit, cmds []unit.ExecCommand, phase string, next func(ok bool)) {
	m.runControlEx(u, cmds, phase, true, next)
}

func (m *Manager) runControlEx(u *Unit, cmds []unit.ExecCommand, phase string, withMain bool, next func(ok bool)) {
	if len(cmds) == 0 {
		next(true)
		return
	}
	cmd := cmds[0]
	rest := cmds[1:]
	var ec *unit.ExecContext
	switch {
	case u.svc != nil:
		ec = &u.cfg.Service.Exec
	case u.sock != nil:
		ec = &u.cfg.Socket.Exec
	default:
		next(true)
		return
	}
	p := &execParams{control: true}
	if u.svc != nil {
		p.mainPID = u.svc.mainPID
		// As systemd's service_spawn(): control processes of a StandardInput/Output/Error=socket
		// service get the Accept=yes connection as well (tinysshd's ExecStartPre=).
		if c := u.svc.conn; c != nil && (ec.StandardInput == "socket" || ec.StandardOutput == "socket" || ec.StandardError == "socket") {
			p.conn = c.File
		}
		if phase == "stop-post" || phase == "stop" {
			p.extraEnv = m.serviceResultEnv(u)
		}
	}
	sp, err := m.spawnCommand(u, cmd, ec, p)
	if err != nil {
		m.logUnit(u, "Failed to run '%s' task: %v", phase, err)
		if cmd.Flags.IgnoreFailure {
			m.runControlEx(u, rest, phase, withMain, next)
			return
		}
		m.setControlFailure(u, "resources", 0)
		next(false)
		return
	}
	pid := sp.Pid
	m.setControlPID(u, pid)
	timedOut := false
	var timer *time.Timer
	if u.sock != nil && u.cfg.Socket.TimeoutSec > 0 {
		// Socket control commands are bounded by TimeoutSec= (services by their unit timer).
		timer = time.AfterFunc(u.cfg.Socket.TimeoutSec, func() {
			m.post(func() {
				if u.sock.controlPID != pid {
					return
				}
				m.consolef("%s: %s operation timed out. Terminating.", u.Name, phase)
				m.logUnit(u, "%s operation timed out. Terminating.", phase)
				timedOut = true
				syscall.Kill(pid, syscall.SIGKILL)
			})
		})
	}
	m.procs[pid] = &proc{pid: pid, u: u, kind: "control", onExit: func(ws syscall.WaitStatus) {
		m.adoptOrphans(u)
		if timer != nil {
			timer.Stop()
		}
		// A control process the unit has let go of (a reload that timed out) is no longer
		// its control process: its exit continues nothing.
		current := m.controlPIDOf(u) == pid
		if current {
			m.setControlPID(u, 0)
		}
		ok := ws.Exited() && ws.ExitStatus() == 0
		if !ok {
			code, st := waitCode(ws)
			m.logUnit(u, "Control process exited, code=%s, status=%s", code, statusString(code, st))
			if current && !cmd.Flags.IgnoreFailure {
				m.setControlFailure(u, failureResult(ws), ws.ExitStatus())
			}
		}
		if u.sub != phase || !current {
			// The unit moved on (a stop or a timeout) while this command ran: its
			// continuation is void; let the new state see that the process is gone.
			if u.svc != nil {
				switch u.sub {
				case "stop-sigterm", "stop-sigkill", "stop-watchdog":
					m.svcMaybeStopPost(u)
				case "final-sigterm", "final-sigkill", "final-watchdog":
					m.svcMaybeDead(u)
				}
			}
			return
		}
		if timedOut {
			if u.sock != nil {
				u.setResult("timeout")
			}
			next(false)
			return
		}
		if !ok && !cmd.Flags.IgnoreFailure {
			next(false)
			return
		}
		m.runControlEx(u, rest, phase, withMain, next)
	}, sp: sp, path: cmd.Path}
}

// controlPIDOf is u's control process, 0 if none.
func (m *Manager) controlPIDOf(u *Unit) int {
	switch {
	case u.svc != nil:
		return u.svc.controlPID
	case u.sock != nil:
		return u.sock.controlPID
	}
	return 0
}

func (m *Manager) setControlPID(u *Unit, pid int) {
	if u.svc != nil {
		u.svc.controlPID = pid
	} else if u.sock != nil {
		u.sock.controlPID = pid
	}
}

// setControlFailure records how u's failed control command ended: result (exit-code,
// signal, core-dump; resources when it could not be spawned) and, for a service, its exit
// status.
func (m *Manager) setControlFailure(u *Unit, result string, status int) {
	if u.svc != nil {
		u.svc.controlResult, u.svc.controlStatus = result, status
	} else if u.sock != nil {
		u.sock.controlResult = result
	}
}

// serviceResultEnv is SERVICE_RESULT, EXIT_CODE, EXIT_STATUS for ExecStop=/ExecStopPost=.
func (m *Manager) serviceResultEnv(u *Unit) []string {
	s := u.svc
	env := []string{"SERVICE_RESULT=" + u.result}
	if s.execMainCode != "" {
		env = append(env, "EXIT_CODE="+s.execMainCode)
		if s.execMainCode == "exited" {
			env = append(env, "EXIT_STATUS="+strconv.Itoa(s.execMainStatus))
		} else {
			env = append(env, "EXIT_STATUS="+signalName(syscall.Signal(s.execMainStatus)))
		}
	}
	return env
}

// procSession reads the session id and state of pid from /proc/pid/stat.
func procSession(pid int) (sid int, state string, ok bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, "", false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 4 {
		return 0, "", false
	}
	sid, err = strconv.Atoi(f[3])
	return sid, f[0], err == nil
}

// killUnit sends sig per KillMode= and returns how many processes are left to wait for.
// Processes that are not ours to reap (orphans of the session) count too, as systemd waits
// for the whole cgroup.
func (m *Manager) killUnit(u *Unit, sig syscall.Signal, sighupToo bool) int {
	var kc *unit.KillContext
	if u.svc != nil {
		kc = &u.cfg.Service.Kill
	} else {
		kc = &u.cfg.Socket.Kill
	}
	mode := kc.KillMode
	if mode == "" {
		mode = "control-group"
	}
	main, control := 0, 0
	if u.svc != nil {
		main, control = u.svc.mainPID, u.svc.controlPID
	}
	if u.sock != nil {
		control = u.sock.controlPID
	}
	send := func(pid int, s syscall.Signal) {
		if pid <= 0 {
			return
		}
		syscall.Kill(pid, s)
		if sighupToo && kc.SendSIGHUP && s != syscall.SIGKILL {
			syscall.Kill(pid, syscall.SIGHUP)
		}
		if s != syscall.SIGKILL && s != syscall.SIGCONT {
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	// KillMode=mixed signals (and waits for) the rest of the unit only with the final SIGKILL.
	whole := mode == "control-group" || mode == "mixed" && (sig == syscall.SIGKILL || sig == u.killFinal())
	others := 0 // the unit's processes at signalAll's last look
	switch mode {
	case "none":
		n := 0
		if main > 0 {
			n++
		}
		if control > 0 {
			send(control, sig)
			n++
		}
		return n
	case "process":
		send(main, sig)
		send(control, sig)
	case "mixed":
		send(main, sig)
		send(control, sig)
		if whole {
			others = m.signalAll(u, sig, send)
		}
	default: // control-group
		others = m.signalAll(u, sig, send)
		send(main, sig)
		send(control, sig)
	}
	n := 0
	if main > 0 {
		n++
	}
	if control > 0 {
		n++
	}
	if whole && others > n {
		n = others
		m.watchStragglers(u)
	}
	return n
}

// signalAll sends sig to every process of u, and lists them again until a list holds none
// that was not signalled yet, as systemd's cgroup kill loop does: a process forked while the
// signals went out gets one too. It returns how many processes the last list held, those
// left to wait for (killUnit needs no listing of its own).
func (m *Manager) signalAll(u *Unit, sig syscall.Signal, send func(int, syscall.Signal)) int {
	var sent map[int]bool
	n := 0
	for round := 0; round < 8; round++ {
		fresh := false
		pids := m.unitPIDs(u)
		n = len(pids)
		for _, pid := range pids {
			if sent[pid] {
				continue
			}
			if sent == nil {
				sent = map[int]bool{}
			}
			sent[pid] = true
			send(pid, sig)
			fresh = true
		}
		if !fresh {
			return n
		}
	}
	return n
}

func (u *Unit) killFinal() syscall.Signal {
	if u.svc != nil && u.cfg.Service.Kill.FinalKillSignal != 0 {
		return u.cfg.Service.Kill.FinalKillSignal
	}
	return syscall.SIGKILL
}

// watchStragglers polls for processes of u that are not our children (we get no SIGCHLD for
// them) and continues the stop once they are gone.
func (m *Manager) watchStragglers(u *Unit) {
	var tick func()
	tick = func() {
		time.AfterFunc(50*time.Millisecond, func() {
			m.post(func() {
				if u.svc == nil {
					return
				}
				switch u.sub {
				case "stop-sigterm", "stop-sigkill", "stop-watchdog":
					if u.svc.mainPID == 0 && u.svc.controlPID == 0 && len(m.unitPIDs(u)) == 0 {
						m.svcEnterStopPost(u)
						return
					}
				case "final-sigterm", "final-sigkill", "final-watchdog":
					if u.svc.mainPID == 0 && u.svc.controlPID == 0 && len(m.unitPIDs(u)) == 0 {
						m.svcEnterDead(u, "")
						return
					}
				default:
					return
				}
				tick()
			})
		})
	}
	tick()
}

// adoptMain makes pid (read from PIDFile=, sent as MAINPID=, or guessed) u's main process and
// arranges to learn of its exit: reaped by us when it is our child (flint is a child subreaper,
// so a daemon whose parent exited is), else polled.
func (m *Manager) adoptMain(u *Unit, pid int) {
	m.stateChanged(u)
	s := u.svc
	s.mainPID = pid
	if s.execMainPID != pid {
		s.resetExecMain(pid) // the daemon of a Type=forking service, a MAINPID= of notify
	}
	if p, ok := m.procs[pid]; ok {
		p.kind = "main"
		p.onExit = m.mainExitHandler(u, pid)
		return
	}
	if procPPid(pid) == os.Getpid() {
		m.procs[pid] = &proc{pid: pid, u: u, kind: "main", onExit: m.mainExitHandler(u, pid)}
		return
	}
	m.stateAdopted(u, pid)
	m.watchForeignMain(u, pid)
}

// orphanExited handles the exit of a process reparented to flint that was not registered: if
// it is a main process being polled (watchForeignMain), its real status ends the service now.
func (m *Manager) orphanExited(pid int, ws syscall.WaitStatus) {
	for _, u := range m.order {
		if u.svc != nil && u.svc.mainPID == pid {
			m.mainExited(u, pid, ws)
			return
		}
	}
}

// procPPid reads the parent pid of pid from /proc (0 if unknown).
func procPPid(pid int) int {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

func (m *Manager) killProcess(pid int, sig syscall.Signal) {
	if pid > 0 {
		syscall.Kill(pid, sig)
	}
}

// guessMainPID picks the only remaining process of the unit after a forking parent exited.
func (m *Manager) guessMainPID(u *Unit, parent int) int {
	pids := m.unitPIDs(u)
	if len(pids) == 1 {
		return pids[0]
	}
	return 0
}

func unixSignalName(s syscall.Signal) string { return unix.SignalName(s) }

// logUnit records a manager message about u in its log.
func (m *Manager) logUnit(u *Unit, format string, a ...any) {
	text := format
	if len(a) > 0 {
		text = sprintf(format, a...)
	}
	m.logs.Append(logs.Line{Time: time.Now(), Unit: u.Name, Stream: "manager", Priority: 6, Text: text})
}
