package manager

import (
	"syscall"
	"time"

	"github.com/flint-init/flint/unit"
)

// A service stops: ExecStop=, the signal states, ExecStopPost=, the final states, and dead,
// failed or auto-restart (Restart=).

// svcStop handles a stop job in any state.
func (m serviceMachine) svcStop(u *Unit) {
	s := u.service()
	s.stopRequested = true
	if s.restartTimer != nil {
		s.restartTimer.Stop()
		s.restartTimer = nil
	}
	switch u.sub {
	case svcDead, svcFailed:
		m.jobCheck(u)
	case svcAutoRestart:
		m.setState(u, svcDead)
	case svcCondition, svcStartPre, svcStart, svcStartPost, svcReload:
		m.svcEnterSignal(u, svcStopSigterm, resultSuccess)
	case svcRunning, svcExited:
		m.svcEnterStop(u, resultSuccess)
	case svcStop, svcStopWatchdog, svcStopSigterm, svcStopSigkill, svcStopPost,
		svcFinalWatchdog, svcFinalSigterm, svcFinalSigkill:
		// already stopping
	default:
		m.bug("%s: stop in invalid state %s", u.Name, u.sub)
	}
}

// svcEnterStop runs ExecStop= (with the main process still running, or after it exited).
func (m serviceMachine) svcEnterStop(u *Unit, result Result) {
	cfg := u.cfg.Service
	u.setResult(result)
	m.disarmTimer(u)
	m.disarmWatchdog(u)
	m.setState(u, svcStop)
	m.armTimer(u, cfg.TimeoutStopSec)
	m.runControlWithMain(u, cfg.ExecStop, svcStop, func(ok bool) {
		// As systemd: a failing ExecStop= (without "-") is the unit's result.
		r := resultSuccess
		if !ok {
			r = resultExitCode
		}
		m.svcEnterSignal(u, svcStopSigterm, r)
	})
}

// svcEnterSignal enters state (stop- or final-: sigterm, watchdog, sigkill; systemd's
// service_enter_signal): it kills the unit's processes (KillMode=) with KillSignal=,
// WatchdogSignal= (the watchdog's, or TimeoutStartFailureMode=/TimeoutStopFailureMode=abort)
// or FinalKillSignal=, and waits TimeoutStopSec= (TimeoutAbortSec= for the watchdog states);
// with nothing to kill it goes on at once. result becomes the unit's unless it failed before.
func (m serviceMachine) svcEnterSignal(u *Unit, state serviceState, result Result) {
	s := u.service()
	cfg := u.cfg.Service
	u.setResult(result)
	m.disarmTimer(u)
	m.disarmWatchdog(u)
	watchdog := state == svcStopWatchdog || state == svcFinalWatchdog
	sig := cfg.Kill.KillSignal
	switch {
	case state == svcStopSigkill || state == svcFinalSigkill:
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
	if s.stopRequested && cfg.Kill.RestartKillSignal != 0 && u.job != nil && u.job.typ == "restart" && state == svcStopSigterm {
		sig = cfg.Kill.RestartKillSignal
	}
	n := m.killUnit(u, sig, state == svcStopSigterm || state == svcFinalSigterm)
	if n == 0 {
		// Nothing to wait for: go on as systemd's service_enter_signal() does, through the
		// SIGKILL state (which, with KillMode=mixed, is when the rest of the unit is killed).
		switch state {
		case svcStopSigterm, svcStopWatchdog:
			if cfg.Kill.SendSIGKILL {
				m.svcEnterSignal(u, svcStopSigkill, resultSuccess)
			} else {
				m.svcEnterStopPost(u)
			}
		case svcStopSigkill:
			m.svcEnterStopPost(u)
		case svcFinalSigterm, svcFinalWatchdog:
			if cfg.Kill.SendSIGKILL {
				m.svcEnterSignal(u, svcFinalSigkill, resultSuccess)
			} else {
				m.svcEnterDead(u, resultNone)
			}
		default:
			m.svcEnterDead(u, resultNone)
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
	m.armTimer(u, timeout)
}

// svcMaybeStopPost continues once no main/control process is left.
func (m serviceMachine) svcMaybeStopPost(u *Unit) {
	s := u.service()
	if s.mainPID != 0 || s.controlPID != 0 {
		return
	}
	if u.cfg.Service.Kill.KillMode == "control-group" || u.cfg.Service.Kill.KillMode == "" {
		if len(m.processesOf(u)) > 0 {
			return
		}
	}
	m.svcEnterStopPost(u)
}

func (m serviceMachine) svcEnterStopPost(u *Unit) {
	cfg := u.cfg.Service
	m.disarmTimer(u)
	m.setState(u, svcStopPost)
	m.armTimer(u, cfg.TimeoutStopSec)
	m.runControl(u, cfg.ExecStopPost, svcStopPost, func(ok bool) {
		r := resultSuccess
		if !ok {
			r = resultExitCode // as for ExecStop=
		}
		m.svcEnterSignal(u, svcFinalSigterm, r)
	})
}

func (m serviceMachine) svcMaybeDead(u *Unit) {
	s := u.service()
	if s.mainPID != 0 || s.controlPID != 0 {
		return
	}
	if u.sub == svcFinalSigterm || u.sub == svcFinalSigkill || u.sub == svcFinalWatchdog {
		if len(m.processesOf(u)) > 0 {
			return
		}
		m.svcEnterDead(u, resultNone)
	}
}

// svcEnterDead: the service is down; decide about restarting.
func (m serviceMachine) svcEnterDead(u *Unit, result Result) {
	s := u.service()
	cfg := u.cfg.Service
	u.setResult(result)
	m.disarmTimer(u)
	m.disarmWatchdog(u)
	s.queue = nil
	if u.result != resultSuccess && u.result != resultExecCondition {
		m.consolef("%s: Failed with result '%s'.", u.Name, u.result)
	}
	m.logUnitResult(u)
	restart := !s.stopRequested && !m.isShuttingDown() && m.shouldRestart(u)
	// RuntimeDirectoryPreserve=restart keeps the directories across automatic and requested
	// restarts only.
	if cfg.Exec.RuntimeDirectoryPreserve != "restart" || !restart && (u.job == nil || u.job.typ != "restart") {
		removeRuntimeDirs(m.scope(), cfg.Exec)
	}
	if restart && u.result != resultStartLimitHit {
		// As systemd, which passes through failed (or dead) before auto-restart: a start job
		// ends now, with this run's result, and the restart is a job of its own.
		if j := u.job; j != nil && j.running && j.typ == "start" {
			if u.result == resultSuccess {
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
		if u.result == resultSuccess {
			m.unitActions(u, u.activeState(), Inactive)
		} else {
			m.unitActions(u, u.activeState(), Failed)
		}
		m.logResources(u)
		m.stopBound(u, true)
		// Its timestamps as if it had passed through failed (dead): active until now,
		// inactive for no time.
		now := stampOf(time.Now())
		u.hist().wex().activeExit, u.hist().wex().inactiveEnter, u.hist().inactiveExit, u.hist().inactiveExitSeq = now, now, now, m.logSeq()
		m.setState(u, svcAutoRestart)
		// As systemd's socket_trigger_notify(): while the restart is pending the sockets are
		// watched again (a connection then waits for the restart; no second start is queued).
		for _, sock := range m.socketsOf(u) {
			if sock.sock != nil && !sock.cfg.Socket.Accept && sock.sub == sockRunning {
				m.sockets().sockEnterListening(sock)
			}
		}
		s.restartGen++
		gen := s.restartGen
		d := cfg.RestartSec
		s.restartTimer = m.after(d, func() {
			if s.restartGen != gen || u.sub != svcAutoRestart {
				return
			}
			s.nRestarts++
			s.flushRestarts = false
			m.consolef("%s: Scheduled restart job, restart counter is at %d.", u.Name, s.nRestarts)
			m.logRestartScheduled(u, s.nRestarts)
			m.setState(u, svcDead)
			s.autoRestarted = true
			m.enqueue("restart", u, "replace", nil)
		})
		return
	}
	s.flushRestarts = true
	switch u.result {
	case resultSuccess, resultExecCondition:
		if s.stopRequested {
			m.consolef("[  OK  ] Stopped %s.", describe(u))
		}
		m.setState(u, svcDead)
	default:
		m.setState(u, svcFailed)
	}
}

// shouldRestart applies Restart= and the exit status overrides (REFERENCE.md table).
func (m serviceMachine) shouldRestart(u *Unit) bool {
	cfg := u.cfg.Service
	s := u.service()
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
		return r != resultExecCondition
	case "on-success":
		return r == resultSuccess
	case "on-failure":
		return r != resultSuccess && r != resultExecCondition
	case "on-abnormal":
		return r == resultSignal || r == resultCoreDump || r == resultTimeout || r == resultWatchdog
	case "on-abort":
		return r == resultSignal || r == resultCoreDump
	case "on-watchdog":
		return r == resultWatchdog
	}
	return false
}

// svcEnterStopByNotify: the running service said STOPPING=1 (systemd's
// service_enter_stop_by_notify): it is stopping, as if it had been sent SIGTERM, until its
// processes exit, for at most TimeoutStopSec=.
func (m serviceMachine) svcEnterStopByNotify(u *Unit) {
	m.disarmWatchdog(u)
	m.armTimer(u, u.cfg.Service.TimeoutStopSec)
	m.setState(u, svcStopSigterm)
}

// svcProcessGone is processGone of a service: in a signal state, the stop goes on once
// nothing is left to wait for; in the others a process's reap changes nothing.
func (m serviceMachine) svcProcessGone(u *Unit) {
	if !u.isService() {
		return
	}
	switch u.sub {
	case svcRunning:
		m.unknownMainGone(u)
	case svcStopSigterm, svcStopSigkill, svcStopWatchdog:
		m.svcMaybeStopPost(u)
	case svcFinalSigterm, svcFinalSigkill, svcFinalWatchdog:
		m.svcMaybeDead(u)
	}
}

// watchUnknownMain follows a running service without a known main process (mainUnknown):
// when its last process is gone it stops, as systemd's service_notify_cgroup_empty_event()
// does. The cgroup's events tell where there are any; else each reaped process of the unit
// (svcProcessGone).
func (m serviceMachine) watchUnknownMain(u *Unit) {
	m.cgroupWatchEmpty(u, func() bool {
		if u.svc == nil || u.sub != svcRunning || !u.svc.mainUnknown || u.svc.mainPID != 0 {
			return true
		}
		return m.unknownMainGone(u)
	})
}

// unknownMainGone stops a running service without a known main process once it has no
// process left (systemd's service_enter_running() from the cgroup-empty event); true then.
func (m serviceMachine) unknownMainGone(u *Unit) bool {
	s := u.svc
	if u.sub != svcRunning || !s.mainUnknown || s.mainPID != 0 || s.controlPID != 0 || len(m.processesOf(u)) > 0 {
		return false
	}
	m.svcEnterRunning(u)
	return true
}
