package manager

import (
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/show"
)

// runControl runs cmds one after the other as control processes of u, then calls next(ok):
// ok is false when a command without the '-' prefix failed (or could not be started).
func (m *Manager) runControl(u *Unit, cmds []unit.ExecCommand, phase subState, next func(ok bool)) {
	m.runControlEx(u, cmds, 0, phase, false, next)
}

// runControlWithMain is runControl for commands that may refer to the main process ($MAINPID).
func (m *Manager) runControlWithMain(u *Unit, cmds []unit.ExecCommand, phase subState, next func(ok bool)) {
	m.runControlEx(u, cmds, 0, phase, true, next)
}

// execSetting is the Exec*= setting whose commands a phase of runControl runs ("" for a
// state that runs none).
func execSetting(phase subState) string {
	switch phase {
	case svcCondition:
		return "ExecCondition"
	case svcStartPre, sockStartPre:
		return "ExecStartPre"
	case svcStartPost, sockStartPost:
		return "ExecStartPost"
	case svcReload:
		return "ExecReload"
	case svcStop:
		return "ExecStop"
	case sockStopPre:
		return "ExecStopPre"
	case svcStopPost, sockStopPost:
		return "ExecStopPost"
	}
	return ""
}

// runControlEx runs cmds[idx:].
func (m *Manager) runControlEx(u *Unit, cmds []unit.ExecCommand, idx int, phase subState, withMain bool, next func(ok bool)) {
	if idx >= len(cmds) {
		next(true)
		return
	}
	cmd := cmds[idx]
	setting := execSetting(phase)
	if setting == "" {
		m.bug("%s: no commands to run in state %s", u.Name, phase)
	}
	ec := u.execContext()
	if ec == nil {
		next(true)
		return
	}
	p := &execParams{control: true}
	if u.isService() {
		p.mainPID = u.svcState().mainPID
		// As systemd's service_spawn(): control processes of a StandardInput/Output/Error=socket
		// service get the Accept=yes connection as well (tinysshd's ExecStartPre=).
		if c := u.svcState().conn; c != nil && (ec.StandardInput == "socket" || ec.StandardOutput == "socket" || ec.StandardError == "socket") {
			p.conn = c.File
		}
		if phase == svcStopPost || phase == svcStop {
			p.extraEnv = m.serviceResultEnv(u)
		}
	}
	if u.svc != nil && u.cfg.Service.PermissionsStartOnly {
		// As systemd's service_spawn(): no sandbox, user or capability limits for the
		// control processes, as with '+'.
		cmd.Flags.FullPrivilege = true
	}
	sp, err := m.sys().spawn(m, u, cmd, ec, p)
	if err != nil {
		m.logUnit(u, "Failed to run '%s' task: %v", phase, err)
		if cmd.Flags.IgnoreFailure {
			m.runControlEx(u, cmds, idx+1, phase, withMain, next)
			return
		}
		m.setControlFailure(u, resultResources, 0)
		next(false)
		return
	}
	pid := sp.Pid
	m.setControlPID(u, pid)
	m.execStarted(u, setting, idx, pid)
	timedOut := false
	var timer stopper
	if u.sock != nil && u.cfg.Socket.TimeoutSec > 0 {
		// Socket control commands are bounded by TimeoutSec= (services by their unit timer).
		timer = m.sys().afterFunc(m, u.cfg.Socket.TimeoutSec, func() {
			if u.sock.controlPID != pid {
				return
			}
			m.consolef("%s: %s operation timed out. Terminating.", u.Name, phase)
			m.logUnit(u, "%s operation timed out. Terminating.", phase)
			timedOut = true
			m.sys().kill(pid, syscall.SIGKILL)
		})
	}
	m.procs[pid] = &proc{pid: pid, u: u, kind: "control", sid: pid, onExit: func(ws syscall.WaitStatus) {
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
		code, st := waitCode(ws)
		m.execExited(u, setting, idx, pid, code, st)
		m.logProcessExit(u, "Control process", setting, code, st, ok || cmd.Flags.IgnoreFailure)
		if !ok {
			if current && !cmd.Flags.IgnoreFailure {
				m.setControlFailure(u, failureResult(ws), ws.ExitStatus())
			}
		}
		if u.sub != phase || !current {
			// The unit moved on (a stop or a timeout) while this command ran: its
			// continuation is void; let the new state see that the process is gone.
			m.processGone(u)
			return
		}
		if timedOut {
			if u.sock != nil {
				u.setResult(resultTimeout)
			}
			next(false)
			return
		}
		if !ok && !cmd.Flags.IgnoreFailure {
			next(false)
			return
		}
		m.runControlEx(u, cmds, idx+1, phase, withMain, next)
	}, sp: sp, path: cmd.Path}
}

// controlPIDOf is u's control process, 0 if none.
func (m *Manager) controlPIDOf(u *Unit) int {
	switch {
	case u.isService():
		return u.svcState().controlPID
	case u.sock != nil:
		return u.sock.controlPID
	}
	return 0
}

func (m *Manager) setControlPID(u *Unit, pid int) {
	if u.isService() {
		u.service().controlPID = pid
	} else if u.sock != nil {
		u.sock.controlPID = pid
	}
}

// setControlFailure records how u's failed control command ended: result (exit-code,
// signal, core-dump; resources when it could not be spawned) and, for a service, its exit
// status.
func (m *Manager) setControlFailure(u *Unit, result Result, status int) {
	if u.isService() {
		u.service().controlResult, u.service().controlStatus = result, status
	} else if u.sock != nil {
		u.sock.controlResult = result
	}
}

// serviceResultEnv is SERVICE_RESULT, EXIT_CODE, EXIT_STATUS for ExecStop=/ExecStopPost=.
func (m *Manager) serviceResultEnv(u *Unit) []string {
	s := u.service()
	env := []string{"SERVICE_RESULT=" + u.result.String()}
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

// killUnit sends sig per KillMode= and returns how many processes are left to wait for.
// Processes that are not ours to reap (orphans of the session) count too, as systemd waits
// for the whole cgroup.
func (m *Manager) killUnit(u *Unit, sig syscall.Signal, sighupToo bool) int {
	var kc *unit.KillContext
	if u.isService() {
		kc = u.cfg.Service.Kill
	} else {
		kc = u.cfg.Socket.Kill
	}
	mode := kc.KillMode
	if mode == "" {
		mode = "control-group"
	}
	main, control := 0, 0
	if u.isService() {
		main, control = u.svcState().mainPID, u.svcState().controlPID
	}
	if u.sock != nil {
		control = u.sock.controlPID
	}
	// Each process gets sig once (then SIGHUP and SIGCONT), whether it is the main or the
	// control process and in the unit's cgroup too, as systemd's unit_kill_context() signals
	// the cgroup with the main and control pids left out.
	sent := map[int]bool{}
	send := func(pid int, s syscall.Signal) {
		if pid <= 0 || sent[pid] {
			return
		}
		sent[pid] = true
		m.sys().kill(pid, s)
		if sighupToo && kc.SendSIGHUP && s != syscall.SIGKILL {
			m.sys().kill(pid, syscall.SIGHUP)
		}
		if s != syscall.SIGKILL && s != syscall.SIGCONT {
			m.sys().kill(pid, syscall.SIGCONT)
		}
	}
	// KillMode=mixed signals (and waits for) the rest of the unit only with the final SIGKILL.
	whole := mode == "control-group" || mode == "mixed" && (sig == syscall.SIGKILL || sig == u.killFinal())
	var others []int // the unit's processes at signalAll's last look
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
			others = m.signalAll(u, sig, send, sent)
		}
	default: // control-group
		send(main, sig)
		send(control, sig)
		others = m.signalAll(u, sig, send, sent)
	}
	n := 0
	if main > 0 {
		n++
	}
	if control > 0 {
		n++
	}
	if whole && slices.ContainsFunc(others, func(pid int) bool { return pid != main && pid != control }) {
		// Processes flint may not reap itself (or whose reap may come before the main
		// process's): the stop polls for them.
		n = max(n, len(others))
		m.watchStragglers(u)
	}
	return n
}

// signalAll sends sig to every process of u not in sent (send adds to it), and lists them
// again until a list holds none that was not signalled yet, as systemd's cgroup kill loop
// does: a process forked while the signals went out gets one too. It returns the last list,
// the processes left to wait for (killUnit needs no listing of its own).
func (m *Manager) signalAll(u *Unit, sig syscall.Signal, send func(int, syscall.Signal), sent map[int]bool) []int {
	var pids []int
	for round := 0; round < 8; round++ {
		fresh := false
		pids = m.sys().unitPIDs(m, u)
		for _, pid := range pids {
			if sent[pid] {
				continue
			}
			send(pid, sig)
			fresh = true
		}
		if !fresh {
			return pids
		}
	}
	return pids
}

func (u *Unit) killFinal() syscall.Signal {
	if u.isService() && u.cfg.Service.Kill.FinalKillSignal != 0 {
		return u.cfg.Service.Kill.FinalKillSignal
	}
	return syscall.SIGKILL
}

// processGone goes on with a stop of u that waits for its processes, when one that is not its
// main process has been reaped (a void control process, an adopted orphan), as systemd's
// cgroup-empty notification does.
func (m *Manager) processGone(u *Unit) { m.machine(u).processGone(u) }

// watchStragglers waits for processes of u that are not our children (we get no SIGCHLD for
// them) and continues the stop once they are gone: told by the cgroup's cgroup.events where
// the unit has a cgroup2 group (cgroup_events.go), else polled every 50 ms.
func (m *Manager) watchStragglers(u *Unit) {
	// gone goes on with the stop once the processes are gone; false while some are left.
	gone := func() bool {
		if !u.isService() {
			return true
		}
		switch u.sub {
		case svcStopSigterm, svcStopSigkill, svcStopWatchdog:
			if u.svcState().mainPID == 0 && u.svcState().controlPID == 0 && len(m.sys().unitPIDs(m, u)) == 0 {
				serviceMachine{m}.svcEnterStopPost(u)
				return true
			}
		case svcFinalSigterm, svcFinalSigkill, svcFinalWatchdog:
			if u.svcState().mainPID == 0 && u.svcState().controlPID == 0 && len(m.sys().unitPIDs(m, u)) == 0 {
				serviceMachine{m}.svcEnterDead(u, resultNone)
				return true
			}
		default:
			return true
		}
		return false
	}
	if m.cgroupWatchEmpty(u, gone) {
		return
	}
	var tick func()
	tick = func() {
		m.sys().afterFunc(m, 50*time.Millisecond, func() {
			if !gone() {
				tick()
			}
		})
	}
	tick()
}

// adoptMain makes pid (read from PIDFile=, sent as MAINPID=, or guessed) u's main process and
// arranges to learn of its exit: reaped by us when it is our child (flint is a child subreaper,
// so a daemon whose parent exited is), else watched (watchForeignMain). A process of another unit stays that
// unit's: u watches it, and both see it exit (as systemd's unit_watch_pid, which lets several
// units watch one pid).
func (m *Manager) adoptMain(u *Unit, pid int) {
	m.stateChanged(u)
	s := u.service()
	m.dropMainWatch(s)
	s.mainPID, s.mainUnknown = pid, false
	if s.execMainPID != pid {
		s.resetExecMain(pid) // the daemon of a Type=forking service, a MAINPID= of notify
	}
	if p, ok := m.procs[pid]; ok {
		if p.u == u {
			p.kind = "main"
			p.onExit = m.mainExitHandler(u, pid)
		} else if !slices.Contains(p.watchers, u) {
			p.watchers = append(p.watchers, u)
		}
		return
	}
	pi, ok := readProcInfo(pid)
	if !ok || pi.ppid != os.Getpid() {
		m.stateAdopted(u, pid)
		m.watchForeignMain(u, pid)
		return
	}
	p := &proc{pid: pid, u: u, kind: "main", sid: pi.sid, trusted: true, onExit: m.mainExitHandler(u, pid)}
	if ad, ok := m.adopted[pid]; ok {
		delete(m.adopted, pid)
		p.trusted = !ad.exact
		if ad.u != u {
			p.u, p.kind, p.onExit, p.watchers = ad.u, "adopted", nil, []*Unit{u}
		}
	}
	delete(m.alone, pid)
	m.procs[pid] = p
}

// orphanExited handles the exit of a child flint did not start (an orphan reparented to it):
// every unit whose main process it was (watched by watchForeignMain until it became flint's
// child) ends with its real status now.
func (m *Manager) orphanExited(pid int, ws syscall.WaitStatus) {
	for _, u := range m.order {
		if u.isService() && u.svcState().mainPID == pid {
			serviceMachine{m}.mainExited(u, pid, ws)
		}
	}
}

func (m *Manager) killProcess(pid int, sig syscall.Signal) {
	if pid > 0 {
		m.sys().kill(pid, sig)
	}
}

// guessMainPID picks the main process of a Type=forking service without PIDFile= after its
// forking process exited, as systemd's unit_search_main_pid(): the only child of the manager
// among the unit's processes (0 if there is none, or more than one).
func (m *Manager) guessMainPID(u *Unit) int {
	self, found := os.Getpid(), 0
	for _, pid := range m.sys().unitPIDs(m, u) {
		if pid == u.svcState().controlPID || procPPid(pid) != self {
			continue
		}
		if found != 0 {
			return 0
		}
		found = pid
	}
	return found
}

func unixSignalName(s syscall.Signal) string { return unix.SignalName(s) }

// execStarted records that command index of setting of u runs as pid (systemd's
// exec_status_start).
func (m *Manager) execStarted(u *Unit, setting string, index, pid int) {
	if u.hs().ex().runs == nil {
		u.hist().wex().runs = map[execKey]*show.ExecRun{}
	}
	u.hist().wex().runs[execKey{setting, index}] = &show.ExecRun{PID: pid, Start: time.Now()}
}

// execExited records how that command ended (exec_status_exit).
func (m *Manager) execExited(u *Unit, setting string, index, pid int, code string, status int) {
	if r := u.hs().ex().runs[execKey{setting, index}]; r != nil && r.PID == pid {
		r.Exit, r.Code, r.Status = time.Now(), code, status
	}
}
