package manager

import (
	"syscall"
	"time"
)

// Service timers: TimeoutStartSec=, TimeoutStopSec=, RuntimeMaxSec= and their expiry.

// armTimer (re)starts u's state timer: after d, svcTimeout(u, why) runs on the manager
// goroutine unless the timer was re-armed or disarmed meanwhile. d <= 0 disarms.
func (m *Manager) armTimer(u *Unit, d time.Duration, why string) {
	var gen *int
	var tp **time.Timer
	if u.svc != nil {
		gen, tp = &u.svc.timerGen, &u.svc.timer
	} else {
		return
	}
	if *tp != nil {
		(*tp).Stop()
	}
	*gen++
	if d <= 0 {
		*tp = nil
		return
	}
	g := *gen
	*tp = time.AfterFunc(d, func() {
		m.post(func() {
			if *gen != g {
				return
			}
			m.svcTimeout(u, why)
		})
	})
}

// disarmTimer stops u's state timer.
func (m *Manager) disarmTimer(u *Unit) {
	if u.svc == nil {
		return
	}
	u.svc.timerGen++
	if u.svc.timer != nil {
		u.svc.timer.Stop()
		u.svc.timer = nil
	}
}

// svcTimeout handles TimeoutStartSec/TimeoutStopSec/RuntimeMaxSec expiry.
func (m *Manager) svcTimeout(u *Unit, why string) {
	switch u.sub {
	case "condition", "start-pre", "start", "start-post":
		m.timedOut(u, u.cfg.Service.TimeoutStartFailureMode, u.sub+" operation timed out.")
	case "running":
		if why == "runtime" {
			m.logUnit(u, "Service reached runtime time limit. Stopping.")
			m.svcEnterStop(u, "timeout")
		}
	case "reload":
		// As systemd: the reload process is killed, the reload fails (its job too) and the
		// service runs on.
		m.logUnit(u, "Reload operation timed out. Killing reload process.")
		if pid := u.svc.controlPID; pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
			u.svc.controlPID = 0 // let go of it (service_enter_running unwatches it)
		}
		u.svc.reloadResult = "timeout"
		m.svcEnterRunning(u)
	case "stop":
		m.timedOut(u, u.cfg.Service.TimeoutStopFailureMode, "Stopping timed out.")
	case "stop-sigterm", "stop-watchdog":
		m.sigtermTimedOut(u, "stop", func(what string) {
			m.logUnit(u, "%s Skipping SIGKILL.", what)
			m.setResult(u, "timeout")
			m.svcEnterStopPost(u)
		})
	case "stop-sigkill":
		m.logUnit(u, "Processes still around after SIGKILL. Ignoring.")
		u.svc.mainPID, u.svc.controlPID = 0, 0
		m.setResult(u, "timeout")
		m.svcEnterStopPost(u)
	case "stop-post":
		switch u.cfg.Service.TimeoutStopFailureMode {
		case "abort":
			m.logUnit(u, "State 'stop-post' timed out. Aborting.")
			m.svcEnterSignal(u, "final-watchdog", "timeout")
		case "kill":
			if u.cfg.Service.Kill.SendSIGKILL {
				m.logUnit(u, "State 'stop-post' timed out. Killing.")
				m.svcEnterSignal(u, "final-sigkill", "timeout")
			} else {
				m.logUnit(u, "State 'stop-post' timed out. Skipping SIGKILL. Entering failed mode.")
				m.svcEnterDead(u, "timeout")
			}
		default:
			m.logUnit(u, "State 'stop-post' timed out. Terminating.")
			m.svcEnterSignal(u, "final-sigterm", "timeout")
		}
	case "final-sigterm", "final-watchdog":
		m.sigtermTimedOut(u, "final", func(what string) {
			m.logUnit(u, "%s Skipping SIGKILL. Entering failed mode.", what)
			m.svcEnterDead(u, "timeout")
		})
	case "final-sigkill":
		m.logUnit(u, "Processes still around after final SIGKILL. Entering failed mode.")
		u.svc.mainPID, u.svc.controlPID = 0, 0
		m.svcEnterDead(u, "timeout")
	}
}

// sigtermTimedOut goes on, as systemd's service_dispatch_timer, from phase's (stop or final)
// SIGTERM or WatchdogSignal= state that timed out: TimeoutStopFailureMode=abort turns a SIGTERM
// into WatchdogSignal= (for TimeoutAbortSec= more), else SIGKILL follows, unless SendSIGKILL=no
// (noKill).
func (m *Manager) sigtermTimedOut(u *Unit, phase string, noKill func(what string)) {
	what := "State '" + u.sub + "' timed out."
	switch {
	case u.sub == phase+"-sigterm" && u.cfg.Service.TimeoutStopFailureMode == "abort":
		m.logUnit(u, "%s Aborting.", what)
		m.svcEnterSignal(u, phase+"-watchdog", "timeout")
	case u.cfg.Service.Kill.SendSIGKILL:
		if phase == "stop" {
			m.consolef("%s: %s Killing.", u.Name, what)
		}
		m.logUnit(u, "%s Killing.", what)
		m.svcEnterSignal(u, phase+"-sigkill", "timeout")
	default:
		noKill(what)
	}
}

// timedOut ends a start (or ExecStop=) that timed out as TimeoutStartFailureMode= (or
// TimeoutStopFailureMode=) says: terminate sends KillSignal=, abort WatchdogSignal=, kill
// FinalKillSignal= (or goes on to ExecStopPost= with SendSIGKILL=no). The result is timeout.
func (m *Manager) timedOut(u *Unit, mode, what string) {
	switch mode {
	case "abort":
		m.consolef("%s: %s Aborting.", u.Name, what)
		m.logUnit(u, "%s Aborting.", what)
		m.enterStopWatchdog(u, "timeout")
	case "kill":
		if !u.cfg.Service.Kill.SendSIGKILL {
			m.logUnit(u, "%s Skipping SIGKILL.", what)
			m.setResult(u, "timeout")
			m.svcEnterStopPost(u)
			return
		}
		m.consolef("%s: %s Killing.", u.Name, what)
		m.logUnit(u, "%s Killing.", what)
		m.svcEnterSignal(u, "stop-sigkill", "timeout")
	default:
		m.consolef("%s: %s Terminating.", u.Name, what)
		m.logUnit(u, "%s Terminating.", what)
		m.svcEnterSignal(u, "stop-sigterm", "timeout")
	}
}

// setResult records result as u's unless an earlier failure already did (systemd keeps the
// first failure's result).
func (m *Manager) setResult(u *Unit, result string) {
	if u.result == "success" {
		u.result = result
	}
}
