package manager

import (
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/flint-init/flint/internal/listen"
	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// serviceRT is the runtime state of a service unit.
type serviceRT struct {
	mainPID int
	// mainUnknown: a Type=forking daemon whose main process neither PIDFile= nor the guess
	// named (systemd's !main_pid_known): it runs while its unit has processes.
	mainUnknown bool
	controlPID  int
	mainWatch   *os.File           // the pidfd of a main process that is not flint's child (mainwatch.go)
	queue       []unit.ExecCommand // remaining commands of the current phase
	next        func(ok bool)

	timer    stopper
	timerGen int
	watchdog stopper
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
	restartTimer   stopper
	restartGen     int
	notifyReady    bool
	mainCommand    string
	limitHit       bool // the last start was refused by StartLimitBurst= (fails its sockets)
	mainIgnore     bool // the main command has the '-' prefix: its failure counts as success
	mainIndex      int  // the main command's index in ExecStart=
	// autoRestarted: the restart timer moved the service from auto-restart to dead and
	// queued its restart job (jobs.go says what systemd says then).
	autoRestarted bool

	// notifyState is the last of READY=1, RELOADING=1 and STOPPING=1 the service sent:
	// systemd's notify_state, which decides where the service goes once a start or reload is
	// over (svcEnterRunning).
	notifyState notifyState
	// reloadResult is systemd's ReloadResult: how the last reload ended (success, exit-code,
	// signal, core-dump, timeout, resources); a reload job whose reload failed fails.
	reloadResult Result
	// controlResult is how the last control process that failed ended (exit-code, signal,
	// core-dump; resources when it could not be spawned).
	controlResult Result
	// controlStatus is the exit status of that control process when it exited (controlResult
	// exit-code).
	controlStatus int
}

// notifyState is what the service last said of itself (systemd's NotifyState).
type notifyState uint8

const (
	notifyStateUnknown   notifyState = iota // nothing since the start
	notifyStateReady                        // READY=1
	notifyStateReloading                    // RELOADING=1
	notifyStateStopping                     // STOPPING=1
)

// svcStart: start limit, ExecCondition, ExecStartPre, ExecStart, then by Type.
func (m serviceMachine) svcStart(u *Unit) {
	s := u.service()
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
		u.setResult(resultStartLimitHit)
		m.logUnitResult(u)
		s.limitHit = true
		m.emergencyAction(u, u.cfg.Unit.StartLimitAction, true, -1, "unit "+u.Name+" failed")
		m.setState(u, svcFailed)
		for _, sock := range m.socketsOf(u) {
			m.sockets().socketServiceStopped(sock, u)
		}
		return
	}
	s.limitHit = false
	if s.flushRestarts {
		s.nRestarts, s.flushRestarts = 0, false
	}
	u.result = resultSuccess
	u.hist().invocationID = newInvocationID()
	u.hist().resetRuns() // systemd's service_start resets the commands' status and the accounting
	s.stopRequested = false
	s.mainExited = false
	s.notifyReady = false
	s.notifyState = notifyStateUnknown
	s.reloadResult = resultSuccess
	s.statusText = ""
	s.wdUSec, s.wdKnown = cfg.WatchdogSec, true
	m.consolef("         Starting %s...", describe(u))
	m.setState(u, svcCondition)
	m.armTimer(u, cfg.TimeoutStartSec)
	m.runControl(u, cfg.ExecCondition, svcCondition, func(ok bool) {
		if !ok {
			// As systemd's service_sigchld_event(): an ExecCondition= exit status from 1 to
			// 254 skips the unit (Result=exec-condition, inactive, the start job done); 255,
			// a signal or a command that could not run fails it.
			result := s.controlResult
			if result == resultExitCode && s.controlStatus < 255 {
				result = resultExecCondition
			}
			m.svcEnterSignal(u, svcStopSigterm, result)
			return
		}
		m.setState(u, svcStartPre)
		m.runControl(u, cfg.ExecStartPre, svcStartPre, func(ok bool) {
			if !ok {
				m.svcEnterSignal(u, svcStopSigterm, resultExitCode)
				return
			}
			m.svcStartMain(u)
		})
	})
}

// svcStartMain spawns ExecStart (the first one; oneshot runs them in sequence).
func (m serviceMachine) svcStartMain(u *Unit) {
	s := u.service()
	cfg := u.cfg.Service
	if len(cfg.ExecStart) == 0 {
		// Type=oneshot without ExecStart (e.g. only ExecStop), or RemainAfterExit units.
		m.svcStartPost(u)
		return
	}
	m.setState(u, svcStart)
	cmds := cfg.ExecStart
	if cfg.Type == unit.Oneshot {
		s.queue = append([]unit.ExecCommand(nil), cmds[1:]...)
	}
	m.spawnMain(u, cmds[0])
}

// spawnNext starts the next command of a Type=oneshot service's ExecStart=.
func (m serviceMachine) spawnNext(u *Unit) {
	s := u.service()
	next := s.queue[0]
	s.queue = s.queue[1:]
	m.spawnMain(u, next)
}

// spawnMain starts cmd, the command of ExecStart= that comes before those still queued.
func (m serviceMachine) spawnMain(u *Unit, cmd unit.ExecCommand) {
	s := u.service()
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
	sp, err := m.spawn(u, cmd, cfg.Exec, p)
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
	m.trackMain(u, pid, sp, cmd.Path)
	switch cfg.Type {
	case unit.Simple, unit.Idle, unit.DBus, "":
		m.svcStartPost(u)
	case unit.Exec:
		m.afterExec(sp, func(err error) {
			if s.mainPID != pid || u.sub != svcStart || err != nil {
				return // a failed exec: the process exits with 203; mainExited handles it
			}
			m.svcStartPost(u)
		})
	}
}

// execFailed: the process could not even be started (or set up) — systemd reports the
// EXEC/CHDIR/USER... status as if the child had exited with it.
func (m serviceMachine) execFailed(u *Unit, cmd unit.ExecCommand, err error) {
	s := u.service()
	var re *resourceError
	if errors.As(err, &re) {
		m.logUnit(u, "%v", err)
		m.consolef("%s: %v", u.Name, err)
		m.svcEnterSignal(u, svcStopSigterm, resultResources)
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
	m.svcEnterSignal(u, svcStopSigterm, resultExitCode)
}

// svcStartPost runs ExecStartPost, then the service is running (or exited for oneshot).
func (m serviceMachine) svcStartPost(u *Unit) {
	cfg := u.cfg.Service
	if cfg.Type == unit.Notify || cfg.Type == unit.NotifyReload {
		if !u.service().notifyReady {
			return // READY=1 continues (handleNotify)
		}
	}
	if cfg.Type == unit.Forking && u.sub == svcStart {
		return // parent exit continues
	}
	if cfg.Type == unit.Oneshot && u.sub == svcStart && u.service().mainPID != 0 {
		return // main exit continues
	}
	m.setState(u, svcStartPost)
	m.runControl(u, cfg.ExecStartPost, svcStartPost, func(ok bool) {
		if !ok {
			m.svcEnterSignal(u, svcStopSigterm, resultExitCode)
			return
		}
		m.svcEnterRunning(u)
	})
}

// svcEnterRunning is systemd's service_enter_running(): the start (after ExecStartPost=) or a
// reload is over. A main process that failed meanwhile stops the service; a running one is
// running, unless the service said RELOADING=1 or STOPPING=1 meanwhile; without one the
// service has exited (RemainAfterExit=) or stops.
func (m serviceMachine) svcEnterRunning(u *Unit) {
	s := u.service()
	cfg := u.cfg.Service
	reloaded := u.sub == svcReload
	m.disarmTimer(u)
	if u.result != resultSuccess {
		m.svcEnterSignal(u, svcStopSigterm, u.result)
		return
	}
	if s.mainPID != 0 {
		switch s.notifyState {
		case notifyStateReloading:
			m.svcEnterReloadByNotify(u)
			return
		case notifyStateStopping:
			m.svcEnterStopByNotify(u)
			return
		}
		if cfg.RuntimeMaxSec != unit.DurationInfinity {
			// RuntimeMaxSec=0 is a real limit (systemd 252 times the service out at once). It
			// counts from when the service became active, which a reload does not change.
			d := cfg.RuntimeMaxSec + runtimeExtra(cfg) // RuntimeRandomizedExtraSec= (execprocess.go)
			if reloaded {
				d -= monoOf(time.Now()) - u.hs().activeEnter.monotonic()
			}
			m.armRuntimeTimer(u, max(d, time.Nanosecond))
		}
		if !reloaded {
			m.armWatchdog(u)
			m.consolef("[  OK  ] Started %s.", describe(u))
		}
		m.setState(u, svcRunning)
		return
	}
	if s.mainUnknown && cfg.Type == unit.Forking && len(m.processesOf(u)) > 0 {
		// systemd's service_enter_running(): main_pid_good() < 0, the cgroup is good.
		if !reloaded {
			m.consolef("[  OK  ] Started %s.", describe(u))
		}
		m.setState(u, svcRunning)
		m.watchUnknownMain(u)
		return
	}
	if cfg.RemainAfterExit {
		if !reloaded {
			m.consolef("[  OK  ] Finished %s.", describe(u))
		}
		m.setState(u, svcExited)
		return
	}
	if cfg.Type == unit.Oneshot && !reloaded {
		m.consolef("[  OK  ] Finished %s.", describe(u))
	}
	// No main process left and nothing to remain for: stop (runs ExecStop=).
	m.svcEnterStop(u, resultSuccess)
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

// svcReload runs ExecReload= (Type=notify-reload: sends SIGHUP and waits for READY=1). As
// systemd's service_enter_reload(), the service runs on whatever the reload's result: a
// failure shows in ReloadResult and fails the reload job (jobCheck), not the service.
func (m serviceMachine) svcReload(u *Unit) {
	s := u.service()
	cfg := u.cfg.Service
	if len(cfg.ExecReload) == 0 && cfg.Type != unit.NotifyReload {
		if u.job != nil {
			m.finishJob(u.job, "failed")
		}
		return
	}
	s.reloadResult = resultSuccess
	m.setState(u, svcReload)
	m.armTimer(u, cfg.TimeoutStartSec)
	if cfg.Type == unit.NotifyReload && len(cfg.ExecReload) == 0 {
		m.killProcess(s.mainPID, syscall.SIGHUP)
		return
	}
	m.runControlWithMain(u, cfg.ExecReload, svcReload, func(ok bool) {
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
func (m serviceMachine) svcEnterReloadByNotify(u *Unit) {
	m.armTimer(u, u.cfg.Service.TimeoutStartSec)
	m.setState(u, svcReload)
	m.propagateReload(u)
}
