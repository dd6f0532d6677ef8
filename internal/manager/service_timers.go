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
	case "stop-sigterm":
		if u.cfg.Service.Kill.SendSIGKILL {
			m.consolef("%s: State 'stop-sigterm' timed out. Killing.", u.Name)
			m.logUnit(u, "State 'stop-sigterm' timed out. Killing.")
			m.svcEnterSignal(u, "stop-sigkill", "timeout")
		} else {
			m.svcEnterStopPost(u)
		}
	case "stop-sigkill":
		m.logUnit(u, "Processes still around after SIGKILL. Ignoring.")
		u.svc.mainPID, u.svc.controlPID = 0, 0
		m.svcEnterStopPost(u)
	case "stop-post":
		m.logUnit(u, "State 'stop-post' timed out. Terminating.")
		m.svcEnterSignal(u, "final-sigterm", "timeout")
	case "final-sigterm":
		if u.cfg.Service.Kill.SendSIGKILL {
			m.logUnit(u, "State 'final-sigterm' timed out. Killing.")
			m.svcEnterSignal(u, "final-sigkill", "timeout")
		} else {
			m.svcEnterDead(u, "timeout")
		}
	case "final-sigkill":
		m.logUnit(u, "Processes still around after final SIGKILL. Entering failed mode.")
		u.svc.mainPID, u.svc.controlPID = 0, 0
		m.svcEnterDead(u, "timeout")
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
			if u.result == "success" {
				u.result = "timeout"
			}
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
