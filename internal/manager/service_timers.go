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
		mode := u.cfg.Service.TimeoutStopFailureMode
		m.escalate(u, "stop", "State '"+u.sub+"' timed out.", u.sub == "stop-sigterm" && mode == "abort")
	case "stop-sigkill":
		m.logUnit(u, "Processes still around after SIGKILL. Ignoring.")
		u.svc.mainPID, u.svc.controlPID = 0, 0
		u.setResult("timeout")
		m.svcEnterStopPost(u)
	case "stop-post", "final-sigterm", "final-watchdog":
		mode := u.cfg.Service.TimeoutStopFailureMode
		if u.sub == "stop-post" && mode != "abort" && mode != "kill" {
			m.logUnit(u, "State 'stop-post' timed out. Terminating.")
			m.svcEnterSignal(u, "final-sigterm", "timeout")
			return
		}
		m.escalate(u, "final", "State '"+u.sub+"' timed out.", u.sub != "final-watchdog" && mode == "abort")
	case "final-sigkill":
		m.logUnit(u, "Processes still around after final SIGKILL. Entering failed mode.")
		u.svc.mainPID, u.svc.controlPID = 0, 0
		m.svcEnterDead(u, "timeout")
	}
}

// escalate goes on, as systemd's service_dispatch_timer, from a state of phase ("stop": the
// main process and the rest; "final": after ExecStopPost=) that timed out (what): with abort
// to WatchdogSignal= (phase-watchdog, for TimeoutAbortSec=), else to SIGKILL (phase-sigkill),
// else (SendSIGKILL=no) on to ExecStopPost= or to the end, with Result=timeout either way.
func (m *Manager) escalate(u *Unit, phase, what string, abort bool) {
	switch {
	case abort:
		m.logUnit(u, "%s Aborting.", what)
		m.svcEnterSignal(u, phase+"-watchdog", "timeout")
	case u.cfg.Service.Kill.SendSIGKILL:
		if phase == "stop" {
			m.consolef("%s: %s Killing.", u.Name, what)
		}
		m.logUnit(u, "%s Killing.", what)
		m.svcEnterSignal(u, phase+"-sigkill", "timeout")
	case phase == "stop":
		m.logUnit(u, "%s Skipping SIGKILL.", what)
		u.setResult("timeout")
		m.svcEnterStopPost(u)
	default:
		m.logUnit(u, "%s Skipping SIGKILL. Entering failed mode.", what)
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
		m.svcEnterSignal(u, "stop-watchdog", "timeout")
	case "kill":
		m.escalate(u, "stop", what, false)
	default:
		m.consolef("%s: %s Terminating.", u.Name, what)
		m.logUnit(u, "%s Terminating.", what)
		m.svcEnterSignal(u, "stop-sigterm", "timeout")
	}
}
