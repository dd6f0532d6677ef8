package manager

import (
	"errors"
	"syscall"
	"time"

	"github.com/flint-init/flint/internal/listen"
	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// serviceRT is the runtime state of a service unit.
type serviceRT struct {
	mainPID    int
	controlPID int
	queue      []unit.ExecCommand // remaining commands of the current phase
	next       func(ok bool)

	timer    *time.Timer
	timerGen int
	watchdog *time.Timer
	wdGen    int
	// wdUSec is the watchdog in effect (systemd's service_get_watchdog_usec, the WatchdogUSec
	// property): WatchdogSec= as of the last start, or a WATCHDOG_USEC= override, which the
	// next start forgets; wdKnown is false until the first start (WatchdogUSec=infinity).
	wdUSec  time.Duration
	wdKnown bool

	nRestarts int
	// flushRestarts is systemd's flush_n_restarts: the service went down without an automatic
	// restart, so the next start (one not made by the restart timer) zeroes nRestarts. The
	// counter stays visible until then.
	flushRestarts bool
	startLimit    rateLimit // StartLimitIntervalSec=/StartLimitBurst=
	statusText    string
	errno         int
	triggeredBy   string // socket that triggered the last start
	// activationEnv is what the timer that started the service tells it (systemd's
	// activation details: TRIGGER_UNIT=, TRIGGER_TIMER_*=), kept until it is inactive again.
	activationEnv  []string
	instanceOf     *Unit // Accept=yes: the socket unit
	conn           *listen.Conn
	fdstore        []storedFD // fdstore.go
	stopRequested  bool       // a stop job: no restart
	mainExited     bool
	execMainCode   string // exited, killed, dumped
	execMainStatus int
	execMainStart  time.Time
	execMainExit   time.Time
	execMainPID    int
	restartTimer   *time.Timer
	restartGen     int
	notifyReady    bool
	mainCommand    string
	limitHit       bool // the last start was refused by StartLimitBurst= (fails its sockets)
	mainIgnore     bool // the main command has the '-' prefix: its failure counts as success
	mainIndex      int  // the main command's index in ExecStart=
	// autoRestarted: the restart timer moved the service from auto-restart to dead and
	// queued its restart job (jobs.go says what systemd says then).
	autoRestarted bool

	// notifyState is the last of READY=1, RELOADING=1 and STOPPING=1 the service sent ("ready",
	// "reloading", "stopping"; "" before any): systemd's notify_state, which decides where the
	// service goes once a start or reload is over (svcEnterRunning).
	notifyState string
	// reloadResult is systemd's ReloadResult: how the last reload ended (success, exit-code,
	// signal, core-dump, timeout, resources); a reload job whose reload failed fails.
	reloadResult string
	// controlResult is how the last control process that failed ended (exit-code, signal,
	// core-dump; resources when it could not be spawned).
	controlResult string
	// controlStatus is the exit status of that control process when it exited (controlResult
	// exit-code).
	controlStatus int
}

// unitStart dispatches to the unit type's state machine.
func (m *Manager) unitStart(u *Unit) {
	if !m.checkConditions(u) {
		return
	}
	if b := m.inactiveBoundAfter(u); b != nil {
		// systemd's unit_verify_deps: the unit would be stopped at once.
		m.logUnit(u, "Bound to unit %s, but unit isn't active.", b.Name)
		if u.job != nil {
			m.finishJob(u.job, "dependency")
		}
		return
	}
	switch u.cfg.Type {
	case unit.TypeSocket:
		m.sockStart(u)
	case unit.TypeService:
		m.svcStart(u)
	case unit.TypeTimer:
		m.timerStart(u)
	case unit.TypePath:
		m.pathStart(u)
	case "automount":
		// Not run by flint (docs/compatibility.md): the job fails as "unsupported" rather
		// than pretending the unit does its work.
		m.consolef("[UNSUPP] %s: flint does not run .%s units.", u.Name, u.cfg.Type)
		if u.job != nil {
			m.finishJob(u.job, "unsupported")
		}
	default:
		// Targets; and slices, scopes, mounts, swaps and devices, which flint does not manage
		// and takes as present.
		u.result = "success"
		u.invocationID = newInvocationID()
		if u.cfg.Type == unit.TypeTarget {
			m.consolef("[  OK  ] Reached target %s.", describe(u))
		}
		m.setState(u, "active")
	}
}

// inactiveBoundAfter returns a unit that u has BindsTo= and After= on and that is not active
// (nor reloading), or nil: u must not start then (systemd.unit(5), BindsTo=).
func (m *Manager) inactiveBoundAfter(u *Unit) *Unit {
	for _, n := range u.cfg.Unit.BindsTo {
		b := m.load(n)
		if b == u || isActiveOrReloading(b.activeState()) || !m.orderedAfter(u, b) {
			continue
		}
		return b
	}
	return nil
}

// orderedAfter reports whether u is ordered after b: u's After= names b (or an alias of it),
// or b's Before= names u.
func (m *Manager) orderedAfter(u, b *Unit) bool {
	for _, n := range u.cfg.Unit.After {
		if o, ok := m.units[n]; ok && o == b {
			return true
		}
	}
	for _, o := range m.orderIndex.before[u] {
		if o == b {
			return true
		}
	}
	return false
}

func (m *Manager) unitStop(u *Unit) {
	switch u.cfg.Type {
	case unit.TypeSocket:
		if isInactiveOrFailed(u.activeState()) {
			m.jobCheck(u)
			return
		}
		m.sockStop(u)
	case unit.TypeService:
		m.svcStop(u)
	case unit.TypeTimer:
		m.timerStop(u)
	case unit.TypePath:
		m.pathStop(u)
	default:
		if u.sub != "dead" {
			m.consolef("[  OK  ] Stopped target %s.", describe(u))
			m.setState(u, "dead")
		} else {
			m.jobCheck(u)
		}
	}
}

func (m *Manager) unitReload(u *Unit) {
	if u.svc == nil {
		m.setState(u, u.sub)
		return
	}
	m.svcReload(u)
}

// checkConditions evaluates Condition*= and Assert*=; a failed condition leaves the unit
// inactive (the job succeeds), a failed assertion fails the job.
func (m *Manager) checkConditions(u *Unit) bool {
	ok, failed := evalConditions(u.cfg.Unit.Conditions, false, m.opt.Scope)
	u.conditionResult, u.conditionStamp = ok, time.Now()
	u.assertResult, u.assertStamp = false, time.Time{} // not checked when a condition fails
	if !ok {
		u.conditionFailed = failed
		m.consolef("%s was skipped because of an unmet condition check (%s).", describe(u), failed)
		if u.job != nil {
			m.finishJob(u.job, "done")
		}
		return false
	}
	aok, afailed := evalConditions(u.cfg.Unit.Conditions, true, m.opt.Scope)
	u.assertResult, u.assertStamp = aok, time.Now()
	if !aok {
		u.assertFailed = afailed
		m.consolef("Assertion failed for %s (%s).", describe(u), afailed)
		if u.job != nil {
			m.finishJob(u.job, "assert")
		}
		return false
	}
	return true
}

// startLimitHit records a start and reports whether StartLimitBurst= was exceeded.
func (m *Manager) startLimitHit(u *Unit) bool {
	c := &u.cfg.Unit
	return !u.svc.startLimit.below(c.StartLimitInterval, c.StartLimitBurst, time.Now())
}

// rateLimit is systemd's RateLimit (ratelimit_below): a fixed window that opens at the first
// event after the last one closed, in which burst events pass. An interval or burst <= 0 is
// no limit.
type rateLimit struct {
	begin time.Time // zero: no window open
	num   int       // events in the window, the refused ones too
}

// below counts one event at now and reports whether it is within the limit.
func (r *rateLimit) below(interval time.Duration, burst int, now time.Time) bool {
	if interval <= 0 || burst <= 0 {
		return true
	}
	if r.begin.IsZero() || now.Sub(r.begin) > interval {
		r.begin, r.num = now, 0
	}
	r.num++
	return r.num <= burst
}

// svcStart: start limit, ExecCondition, ExecStartPre, ExecStart, then by Type.
func (m *Manager) svcStart(u *Unit) {
	s := u.svc
	cfg := u.cfg.Service
	if s.restartTimer != nil {
		s.restartTimer.Stop()
		s.restartTimer = nil
	}
	if m.startLimitHit(u) {
		m.consolef("[FAILED] %s: Start request repeated too quickly.", u.Name)
		m.logUnitAt(u, priorityWarning, nil, "Start request repeated too quickly.")
		// As systemd, the first failure stays the unit's result (a service that kept exiting
		// with 1 shows Result=exit-code); the limit is remembered apart for its sockets.
		u.setResult("start-limit-hit")
		m.logUnitResult(u)
		s.limitHit = true
		m.emergencyAction(u, u.cfg.Unit.StartLimitAction, true, -1, "unit "+u.Name+" failed")
		m.setState(u, "failed")
		for _, sock := range m.socketsOf(u) {
			m.socketServiceStopped(sock, u)
		}
		return
	}
	s.limitHit = false
	if s.flushRestarts {
		s.nRestarts, s.flushRestarts = 0, false
	}
	u.result = "success"
	u.invocationID = newInvocationID()
	u.runs, u.cpu = nil, 0 // systemd's service_start resets the commands' status and the accounting
	s.stopRequested = false
	s.mainExited = false
	s.notifyReady = false
	s.notifyState = ""
	s.reloadResult = "success"
	s.statusText = ""
	s.wdUSec, s.wdKnown = cfg.WatchdogSec, true
	m.consolef("         Starting %s...", describe(u))
	m.setState(u, "condition")
	m.armTimer(u, cfg.TimeoutStartSec, "start")
	m.runControl(u, cfg.ExecCondition, "condition", func(ok bool) {
		if !ok {
			// As systemd's service_sigchld_event(): an ExecCondition= exit status from 1 to
			// 254 skips the unit (Result=exec-condition, inactive, the start job done); 255,
			// a signal or a command that could not run fails it.
			result := s.controlResult
			if result == "exit-code" && s.controlStatus < 255 {
				result = "exec-condition"
			}
			m.svcEnterSignal(u, "stop-sigterm", result)
			return
		}
		m.setState(u, "start-pre")
		m.runControl(u, cfg.ExecStartPre, "start-pre", func(ok bool) {
			if !ok {
				m.svcEnterSignal(u, "stop-sigterm", "exit-code")
				return
			}
			m.svcStartMain(u)
		})
	})
}

// svcStartMain spawns ExecStart (the first one; oneshot runs them in sequence).
func (m *Manager) svcStartMain(u *Unit) {
	s := u.svc
	cfg := u.cfg.Service
	if len(cfg.ExecStart) == 0 {
		// Type=oneshot without ExecStart (e.g. only ExecStop), or RemainAfterExit units.
		m.svcStartPost(u)
		return
	}
	m.setState(u, "start")
	cmds := cfg.ExecStart
	if cfg.Type == unit.Oneshot {
		s.queue = append([]unit.ExecCommand(nil), cmds[1:]...)
	}
	m.spawnMain(u, cmds[0])
}

// spawnNext starts the next command of a Type=oneshot service's ExecStart=.
func (m *Manager) spawnNext(u *Unit) {
	s := u.svc
	next := s.queue[0]
	s.queue = s.queue[1:]
	m.spawnMain(u, next)
}

// spawnMain starts cmd, the command of ExecStart= that comes before those still queued.
func (m *Manager) spawnMain(u *Unit, cmd unit.ExecCommand) {
	s := u.svc
	cfg := u.cfg.Service
	p := &execParams{}
	if s.conn != nil {
		p.conn = s.conn.File
		// accept4 gave a non-blocking connection; the service gets it per NonBlocking=.
		if rc, err := p.conn.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { syscall.SetNonblock(int(fd), cfg.NonBlocking) })
		}
	} else {
		files, names := m.listenFiles(u)
		// The fd store's files too are handed as they are (spawn.Start neither closes them
		// nor changes their mode).
		for _, sfd := range s.fdstore {
			files = append(files, sfd.f)
			names = append(names, sfd.name)
		}
		p.listenFiles, p.listenNames = files, names
	}
	sp, err := m.spawnCommand(u, cmd, &cfg.Exec, p)
	if err != nil {
		m.execFailed(u, cmd, err)
		return
	}
	pid := sp.Pid
	s.mainPID = pid
	s.mainIndex = len(cfg.ExecStart) - len(s.queue) - 1
	m.execStarted(u, "ExecStart", s.mainIndex, pid)
	if cfg.Type == unit.Forking {
		// The process that forks the daemon is no main process to systemd (its control
		// process): ExecMain* show the daemon, once known (adoptMain).
		s.resetExecMain(0)
	} else {
		s.resetExecMain(pid)
	}
	s.mainCommand = cmd.Raw
	s.mainIgnore = cmd.Flags.IgnoreFailure
	s.mainExited = false
	// A failed exec is logged when the process is reaped (it exits with 203/EXEC & co.).
	m.procs[pid] = &proc{pid: pid, u: u, kind: "main", sid: pid, onExit: m.mainExitHandler(u, pid), sp: sp, path: cmd.Path}
	switch cfg.Type {
	case unit.Simple, unit.Idle, unit.DBus, "":
		m.svcStartPost(u)
	case unit.Exec:
		go func() {
			err := sp.ExecResult()
			m.post(func() {
				if s.mainPID != pid || u.sub != "start" || err != nil {
					return // a failed exec: the process exits with 203; mainExited handles it
				}
				m.svcStartPost(u)
			})
		}()
	}
}

// execFailed: the process could not even be started (or set up) — systemd reports the
// EXEC/CHDIR/USER... status as if the child had exited with it.
func (m *Manager) execFailed(u *Unit, cmd unit.ExecCommand, err error) {
	s := u.svc
	var re *resourceError
	if errors.As(err, &re) {
		m.logUnit(u, "%v", err)
		m.consolef("%s: %v", u.Name, err)
		m.svcEnterSignal(u, "stop-sigterm", "resources")
		return
	}
	status := 203
	var ee *spawn.ExecError
	if errors.As(err, &ee) {
		status = ee.Status
	}
	m.logUnit(u, "Failed to execute %s: %v", cmd.Path, err)
	m.consolef("%s: Failed at step %s spawning %s: %v", u.Name, spawn.ExitStatusName(status), cmd.Path, err)
	s.execMainCode = "exited"
	s.execMainStatus = status
	s.execMainExit = time.Now()
	if cmd.Flags.IgnoreFailure {
		if len(s.queue) > 0 {
			m.spawnNext(u)
			return
		}
		m.svcStartPost(u)
		return
	}
	m.svcEnterSignal(u, "stop-sigterm", "exit-code")
}

// svcStartPost runs ExecStartPost, then the service is running (or exited for oneshot).
func (m *Manager) svcStartPost(u *Unit) {
	cfg := u.cfg.Service
	if cfg.Type == unit.Notify || cfg.Type == unit.NotifyReload {
		if !u.svc.notifyReady {
			return // READY=1 continues (handleNotify)
		}
	}
	if cfg.Type == unit.Forking && u.sub == "start" {
		return // parent exit continues
	}
	if cfg.Type == unit.Oneshot && u.sub == "start" && u.svc.mainPID != 0 {
		return // main exit continues
	}
	m.setState(u, "start-post")
	m.runControl(u, cfg.ExecStartPost, "start-post", func(ok bool) {
		if !ok {
			m.svcEnterSignal(u, "stop-sigterm", "exit-code")
			return
		}
		m.svcEnterRunning(u)
	})
}

// svcEnterRunning is systemd's service_enter_running(): the start (after ExecStartPost=) or a
// reload is over. A main process that failed meanwhile stops the service; a running one is
// running, unless the service said RELOADING=1 or STOPPING=1 meanwhile; without one the
// service has exited (RemainAfterExit=) or stops.
func (m *Manager) svcEnterRunning(u *Unit) {
	s := u.svc
	cfg := u.cfg.Service
	reloaded := u.sub == "reload"
	m.disarmTimer(u)
	if u.result != "success" {
		m.svcEnterSignal(u, "stop-sigterm", u.result)
		return
	}
	if s.mainPID != 0 {
		switch s.notifyState {
		case "reloading":
			m.svcEnterReloadByNotify(u)
			return
		case "stopping":
			m.svcEnterStopByNotify(u)
			return
		}
		if cfg.RuntimeMaxSec != unit.DurationInfinity {
			// RuntimeMaxSec=0 is a real limit (systemd 252 times the service out at once). It
			// counts from when the service became active, which a reload does not change.
			d := cfg.RuntimeMaxSec
			if reloaded {
				d -= time.Since(u.activeEnter)
			}
			m.armTimer(u, max(d, time.Nanosecond), "runtime")
		}
		if !reloaded {
			m.armWatchdog(u)
			m.consolef("[  OK  ] Started %s.", describe(u))
		}
		m.setState(u, "running")
		return
	}
	if cfg.RemainAfterExit {
		if !reloaded {
			m.consolef("[  OK  ] Finished %s.", describe(u))
		}
		m.setState(u, "exited")
		return
	}
	if cfg.Type == unit.Oneshot && !reloaded {
		m.consolef("[  OK  ] Finished %s.", describe(u))
	}
	// No main process left and nothing to remain for: stop (runs ExecStop=).
	m.svcEnterStop(u, "success")
}

// resetExecMain records a new main process as systemd's exec_status_start does: the previous
// one's exit (ExecMainCode, ExecMainStatus, ExecMainExitTimestamp) no longer shows.
func (s *serviceRT) resetExecMain(pid int) {
	s.execMainPID = pid
	s.execMainStart = time.Time{}
	if pid != 0 {
		s.execMainStart = time.Now()
	}
	s.execMainExit = time.Time{}
	s.execMainCode, s.execMainStatus = "", 0
}

// mainExited handles the main process's exit in every state.
func (m *Manager) mainExited(u *Unit, pid int, ws syscall.WaitStatus) {
	s := u.svc
	cfg := u.cfg.Service
	if s.mainPID != pid {
		return
	}
	if !(u.sub == "start" && cfg.Type == unit.Forking) && m.pidFileMoved(u, false) {
		// As systemd: a daemon may move to a new pid, writing it to its PIDFile= before the
		// old one exits.
		return
	}
	s.mainPID = 0
	s.mainExited = true
	code, status := waitCode(ws)
	if s.execMainPID == pid {
		s.execMainExit = time.Now()
		s.execMainCode, s.execMainStatus = code, status
	}
	m.execExited(u, "ExecStart", s.mainIndex, pid, code, status)
	clean := m.cleanExit(cfg, ws)
	result := "success"
	m.logProcessExit(u, "Main process", "ExecStart", code, status, clean || s.mainIgnore)
	if !clean {
		result = failureResult(ws)
		if result == "signal" && m.cgroupOOMKilled(u) {
			result = "oom-kill"
		}
		m.consolef("%s: Main process exited, code=%s, status=%s", u.Name, code, statusString(code, status))
		if s.mainIgnore {
			// ExecStart=-...: the failure is recorded (ExecMainStatus) but counts as success.
			clean, result = true, "success"
		}
	}
	switch u.sub {
	case "start":
		switch cfg.Type {
		case unit.Oneshot:
			if !clean {
				m.svcEnterSignal(u, "stop-sigterm", result)
				return
			}
			if len(s.queue) > 0 {
				m.spawnNext(u)
				return
			}
			m.svcStartPost(u)
		case unit.Forking:
			if !clean {
				m.svcEnterSignal(u, "stop-sigterm", result)
				return
			}
			if cfg.PIDFile != "" {
				pid, err := m.loadPIDFile(u)
				if err != nil {
					m.logUnit(u, "%v", err)
					if len(m.unitPIDs(u)) == 0 {
						m.svcEnterSignal(u, "stop-sigterm", "protocol")
						return
					}
					// As systemd's service_demand_pid_file(): the daemon may still write it;
					// TimeoutStartSec= bounds the wait.
					m.awaitPIDFile(u)
					return
				}
				if pid > 0 {
					m.adoptMain(u, pid)
				}
			} else if cfg.GuessMainPID {
				if g := m.guessMainPID(u); g > 0 {
					m.adoptMain(u, g)
				}
			}
			m.forkingStartPost(u)
		default:
			// simple/exec/notify exited during start.
			if cfg.Type == unit.Notify || cfg.Type == unit.NotifyReload {
				if clean && s.notifyReady {
					m.svcEnterRunning(u)
					return
				}
				if clean {
					result = "protocol"
				}
			}
			if clean && cfg.Type != unit.Notify {
				m.svcEnterRunning(u)
				return
			}
			m.svcEnterSignal(u, "stop-sigterm", result)
		}
	case "start-post", "running", "reload":
		if u.sub != "running" && s.controlPID != 0 {
			// As systemd: ExecStartPost= or ExecReload= still runs; when it ends,
			// svcEnterRunning goes on with this exit's result.
			if !clean {
				u.setResult(result)
			}
			return
		}
		if u.sub == "reload" {
			// A reload without a control process (RELOADING=1): systemd's
			// service_sigchld_event() stops the service.
			m.svcEnterStop(u, result)
			return
		}
		if cfg.RemainAfterExit && clean {
			m.setState(u, "exited")
			return
		}
		if u.sub == "running" {
			// systemd's service_enter_running(): a failed main process skips ExecStop=.
			if !clean {
				m.svcEnterSignal(u, "stop-sigterm", result)
			} else {
				m.svcEnterStop(u, result)
			}
		}
	case "stop", "stop-sigterm", "stop-sigkill", "stop-watchdog":
		if u.sub == "stop" && s.controlPID != 0 {
			return // ExecStop still running
		}
		// As systemd's service_sigchld_event: an unclean exit is the unit's result even when
		// a stop killed it — a daemon that exits 1 on SIGTERM fails (SuccessExitStatus=
		// accepts it), and so does a oneshot killed by SIGTERM while it ran.
		if !clean {
			u.setResult(result)
		}
		if u.sub != "stop" {
			m.svcMaybeStopPost(u)
		}
	case "stop-post", "final-sigterm", "final-sigkill", "final-watchdog":
		m.svcMaybeDead(u)
	}
}

// forkingStartPost goes on with a Type=forking start once the daemon has forked (and its
// PIDFile= was read).
func (m *Manager) forkingStartPost(u *Unit) {
	m.setState(u, "start-post")
	m.runControl(u, u.cfg.Service.ExecStartPost, "start-post", func(ok bool) {
		if !ok {
			m.svcEnterSignal(u, "stop-sigterm", "exit-code")
			return
		}
		m.svcEnterRunning(u)
	})
}

// svcEnterStop runs ExecStop= (with the main process still running, or after it exited).
func (m *Manager) svcEnterStop(u *Unit, result string) {
	cfg := u.cfg.Service
	u.setResult(result)
	m.disarmTimer(u)
	m.disarmWatchdog(u)
	m.setState(u, "stop")
	m.armTimer(u, cfg.TimeoutStopSec, "stop")
	m.runControlWithMain(u, cfg.ExecStop, "stop", func(ok bool) {
		// As systemd: a failing ExecStop= (without "-") is the unit's result.
		r := "success"
		if !ok {
			r = "exit-code"
		}
		m.svcEnterSignal(u, "stop-sigterm", r)
	})
}

// svcEnterSignal enters state (stop- or final-: sigterm, watchdog, sigkill; systemd's
// service_enter_signal): it kills the unit's processes (KillMode=) with KillSignal=,
// WatchdogSignal= (the watchdog's, or TimeoutStartFailureMode=/TimeoutStopFailureMode=abort)
// or FinalKillSignal=, and waits TimeoutStopSec= (TimeoutAbortSec= for the watchdog states);
// with nothing to kill it goes on at once. result becomes the unit's unless it failed before.
func (m *Manager) svcEnterSignal(u *Unit, state, result string) {
	s := u.svc
	cfg := u.cfg.Service
	u.setResult(result)
	m.disarmTimer(u)
	m.disarmWatchdog(u)
	watchdog := state == "stop-watchdog" || state == "final-watchdog"
	sig := cfg.Kill.KillSignal
	switch {
	case state == "stop-sigkill" || state == "final-sigkill":
		sig = cfg.Kill.FinalKillSignal
		if sig == 0 {
			sig = syscall.SIGKILL
		}
	case watchdog:
		sig = cfg.Kill.WatchdogSignal
		if sig == 0 {
			sig = syscall.SIGABRT
		}
	}
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	if s.stopRequested && cfg.Kill.RestartKillSignal != 0 && u.job != nil && u.job.typ == "restart" && state == "stop-sigterm" {
		sig = cfg.Kill.RestartKillSignal
	}
	n := m.killUnit(u, sig, state == "stop-sigterm" || state == "final-sigterm")
	if n == 0 {
		// Nothing to wait for: go on as systemd's service_enter_signal() does, through the
		// SIGKILL state (which, with KillMode=mixed, is when the rest of the unit is killed).
		switch state {
		case "stop-sigterm", "stop-watchdog":
			if cfg.Kill.SendSIGKILL {
				m.svcEnterSignal(u, "stop-sigkill", "success")
			} else {
				m.svcEnterStopPost(u)
			}
		case "stop-sigkill":
			m.svcEnterStopPost(u)
		case "final-sigterm", "final-watchdog":
			if cfg.Kill.SendSIGKILL {
				m.svcEnterSignal(u, "final-sigkill", "success")
			} else {
				m.svcEnterDead(u, "")
			}
		default:
			m.svcEnterDead(u, "")
		}
		return
	}
	m.setState(u, state)
	timeout := cfg.TimeoutStopSec
	if watchdog {
		// TimeoutAbortSec= (it follows TimeoutStopSec= unless set); 0 is SIGKILL at once.
		timeout = cfg.TimeoutAbortSec
		if timeout == 0 {
			timeout = time.Nanosecond
		}
	}
	m.armTimer(u, timeout, state)
}

// svcMaybeStopPost continues once no main/control process is left.
func (m *Manager) svcMaybeStopPost(u *Unit) {
	s := u.svc
	if s.mainPID != 0 || s.controlPID != 0 {
		return
	}
	if u.cfg.Service.Kill.KillMode == "control-group" || u.cfg.Service.Kill.KillMode == "" {
		if len(m.unitPIDs(u)) > 0 {
			return
		}
	}
	m.svcEnterStopPost(u)
}

func (m *Manager) svcEnterStopPost(u *Unit) {
	cfg := u.cfg.Service
	m.disarmTimer(u)
	m.setState(u, "stop-post")
	m.armTimer(u, cfg.TimeoutStopSec, "stop-post")
	m.runControl(u, cfg.ExecStopPost, "stop-post", func(ok bool) {
		r := "success"
		if !ok {
			r = "exit-code" // as for ExecStop=
		}
		m.svcEnterSignal(u, "final-sigterm", r)
	})
}

func (m *Manager) svcMaybeDead(u *Unit) {
	s := u.svc
	if s.mainPID != 0 || s.controlPID != 0 {
		return
	}
	if u.sub == "final-sigterm" || u.sub == "final-sigkill" || u.sub == "final-watchdog" {
		if len(m.unitPIDs(u)) > 0 {
			return
		}
		m.svcEnterDead(u, "")
	}
}

// svcEnterDead: the service is down; decide about restarting.
func (m *Manager) svcEnterDead(u *Unit, result string) {
	s := u.svc
	cfg := u.cfg.Service
	u.setResult(result)
	m.disarmTimer(u)
	m.disarmWatchdog(u)
	s.queue = nil
	if u.result != "success" && u.result != "exec-condition" {
		m.consolef("%s: Failed with result '%s'.", u.Name, u.result)
	}
	m.logUnitResult(u)
	restart := !s.stopRequested && !m.shuttingDown && m.shouldRestart(u)
	// RuntimeDirectoryPreserve=restart keeps the directories across automatic and requested
	// restarts only.
	if cfg.Exec.RuntimeDirectoryPreserve != "restart" || !restart && (u.job == nil || u.job.typ != "restart") {
		removeRuntimeDirs(m.opt.Scope, &cfg.Exec)
	}
	if restart && u.result != "start-limit-hit" {
		// As systemd, which passes through failed (or dead) before auto-restart: a start job
		// ends now, with this run's result, and the restart is a job of its own.
		if j := u.job; j != nil && j.running && j.typ == "start" {
			if u.result == "success" {
				m.finishJob(j, "done")
			} else {
				m.finishJob(j, "failed")
			}
		}
		// systemd 252 passes through failed (or dead) on its way to auto-restart
		// (service_enter_dead); flint goes there at once, but runs what that state change
		// runs in systemd: FailureAction= (SuccessAction=), and the stop of the units bound
		// to it (BindsTo=, PropagatesStopTo=; they are not started again by the restart,
		// whose try-restart finds them down). OnFailure= waits, as in systemd.
		if u.result == "success" {
			m.unitActions(u, u.activeState(), Inactive)
		} else {
			m.unitActions(u, u.activeState(), Failed)
		}
		m.logResources(u)
		m.stopBound(u, true)
		// Its timestamps as if it had passed through failed (dead): active until now,
		// inactive for no time.
		now := time.Now()
		u.activeExit, u.inactiveEnter, u.inactiveExit, u.inactiveExitSeq = now, now, now, m.logs.LastSeq()
		m.setState(u, "auto-restart")
		// As systemd's socket_trigger_notify(): while the restart is pending the sockets are
		// watched again (a connection then waits for the restart; no second start is queued).
		for _, sock := range m.socketsOf(u) {
			if sock.sock != nil && !sock.cfg.Socket.Accept && sock.sub == "running" {
				m.sockEnterListening(sock)
			}
		}
		s.restartGen++
		gen := s.restartGen
		d := cfg.RestartSec
		s.restartTimer = time.AfterFunc(d, func() {
			m.post(func() {
				if s.restartGen != gen || u.sub != "auto-restart" {
					return
				}
				s.nRestarts++
				s.flushRestarts = false
				m.consolef("%s: Scheduled restart job, restart counter is at %d.", u.Name, s.nRestarts)
				m.logRestartScheduled(u, s.nRestarts)
				m.setState(u, "dead")
				s.autoRestarted = true
				m.enqueue("restart", u, "replace", nil)
			})
		})
		return
	}
	s.flushRestarts = true
	switch u.result {
	case "success", "exec-condition":
		if s.stopRequested {
			m.consolef("[  OK  ] Stopped %s.", describe(u))
		}
		m.setState(u, "dead")
	default:
		m.setState(u, "failed")
	}
}

// shouldRestart applies Restart= and the exit status overrides (REFERENCE.md table).
func (m *Manager) shouldRestart(u *Unit) bool {
	cfg := u.cfg.Service
	s := u.svc
	code, status := s.execMainCode, s.execMainStatus
	inSet := func(set unit.ExitStatusSet) bool {
		if code == "exited" {
			for _, c := range set.Codes {
				if c == status {
					return true
				}
			}
		} else if code == "killed" || code == "dumped" {
			for _, sg := range set.Signals {
				if int(sg) == status {
					return true
				}
			}
		}
		return false
	}
	if s.execMainCode != "" && inSet(cfg.RestartPreventExitStatus) {
		return false
	}
	if s.execMainCode != "" && inSet(cfg.RestartForceExitStatus) {
		return true
	}
	r := u.result
	switch cfg.Restart {
	case "always":
		return r != "exec-condition"
	case "on-success":
		return r == "success"
	case "on-failure":
		return r != "success" && r != "exec-condition"
	case "on-abnormal":
		return r == "signal" || r == "core-dump" || r == "timeout" || r == "watchdog"
	case "on-abort":
		return r == "signal" || r == "core-dump"
	case "on-watchdog":
		return r == "watchdog"
	}
	return false
}

// svcStop handles a stop job in any state.
func (m *Manager) svcStop(u *Unit) {
	s := u.svc
	s.stopRequested = true
	if s.restartTimer != nil {
		s.restartTimer.Stop()
		s.restartTimer = nil
	}
	switch u.sub {
	case "dead", "failed":
		m.jobCheck(u)
	case "auto-restart":
		m.setState(u, "dead")
	case "condition", "start-pre", "start", "start-post", "reload":
		m.svcEnterSignal(u, "stop-sigterm", "success")
	case "running", "exited":
		m.svcEnterStop(u, "success")
	default:
		// already stopping
	}
}

// svcReload runs ExecReload= (Type=notify-reload: sends SIGHUP and waits for READY=1). As
// systemd's service_enter_reload(), the service runs on whatever the reload's result: a
// failure shows in ReloadResult and fails the reload job (jobCheck), not the service.
func (m *Manager) svcReload(u *Unit) {
	s := u.svc
	cfg := u.cfg.Service
	if len(cfg.ExecReload) == 0 && cfg.Type != unit.NotifyReload {
		if u.job != nil {
			m.finishJob(u.job, "failed")
		}
		return
	}
	s.reloadResult = "success"
	m.setState(u, "reload")
	m.armTimer(u, cfg.TimeoutStartSec, "reload")
	if cfg.Type == unit.NotifyReload && len(cfg.ExecReload) == 0 {
		m.killProcess(s.mainPID, syscall.SIGHUP)
		return
	}
	m.runControlWithMain(u, cfg.ExecReload, "reload", func(ok bool) {
		if !ok {
			s.reloadResult = s.controlResult
		} else if !m.pidFileMoved(u, true) && s.mainPID == 0 && cfg.GuessMainPID && cfg.Type == unit.Forking {
			// As systemd's service_sigchld_event() after a reload: the PID file, else a guess.
			if g := m.guessMainPID(u); g > 0 {
				m.adoptMain(u, g)
			}
		}
		m.svcEnterRunning(u)
	})
}

// svcEnterReloadByNotify: the running service said RELOADING=1 (systemd's
// service_enter_reload_by_notify): it is reloading until it says READY=1, for at most
// TimeoutStartSec=, and the reload propagates to its PropagatesReloadTo= units.
func (m *Manager) svcEnterReloadByNotify(u *Unit) {
	m.armTimer(u, u.cfg.Service.TimeoutStartSec, "reload")
	m.setState(u, "reload")
	m.propagateReload(u)
}

// svcEnterStopByNotify: the running service said STOPPING=1 (systemd's
// service_enter_stop_by_notify): it is stopping, as if it had been sent SIGTERM, until its
// processes exit, for at most TimeoutStopSec=.
func (m *Manager) svcEnterStopByNotify(u *Unit) {
	m.disarmWatchdog(u)
	m.armTimer(u, u.cfg.Service.TimeoutStopSec, "stop-sigterm")
	m.setState(u, "stop-sigterm")
}
