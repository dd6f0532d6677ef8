package manager

import (
	"syscall"
	"time"
)

// Service timers: TimeoutStartSec=, TimeoutStopSec=, RuntimeMaxSec= and their expiry.

// armTimer (re)starts u's state timer: after d, svcTimeout(u, false) runs on the manager
// goroutine unless the timer was re-armed or disarmed meanwhile. d <= 0 disarms.
func (m serviceMachine) armTimer(u *Unit, d time.Duration) { m.armTimerFor(u, d, false) }

// armRuntimeTimer arms u's state timer for RuntimeMaxSec=: svcTimeout(u, true).
func (m serviceMachine) armRuntimeTimer(u *Unit, d time.Duration) { m.armTimerFor(u, d, true) }

func (m serviceMachine) armTimerFor(u *Unit, d time.Duration, runtime bool) {
	var gen *int
	var tp *stopper
	if u.isService() {
		gen, tp = &u.service().timerGen, &u.service().timer
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
	*tp = m.after(d, func() {
		if *gen != g {
			return
		}
		m.svcTimeout(u, runtime)
	})
}

// disarmTimer stops u's state timer.
func (m serviceMachine) disarmTimer(u *Unit) {
	if !u.isService() {
		return
	}
	u.service().timerGen++
	if u.service().timer != nil {
		u.service().timer.Stop()
		u.service().timer = nil
	}
}

// svcTimeout handles TimeoutStartSec/TimeoutStopSec/RuntimeMaxSec expiry.
func (m serviceMachine) svcTimeout(u *Unit, runtime bool) {
	switch u.sub {
	case svcCondition, svcStartPre, svcStart, svcStartPost:
		m.timedOut(u, u.cfg.Service.TimeoutStartFailureMode, u.sub.String()+" operation timed out.")
	case svcRunning:
		if runtime {
			m.logUnit(u, "Service reached runtime time limit. Stopping.")
			m.svcEnterStop(u, resultTimeout)
		}
	case svcReload:
		// As systemd: the reload process is killed, the reload fails (its job too) and the
		// service runs on.
		m.logUnit(u, "Reload operation timed out. Killing reload process.")
		if pid := u.service().controlPID; pid > 0 {
			m.sys().kill(pid, syscall.SIGKILL)
			u.service().controlPID = 0 // let go of it (service_enter_running unwatches it)
		}
		u.service().reloadResult = resultTimeout
		m.svcEnterRunning(u)
	case svcStop:
		m.timedOut(u, u.cfg.Service.TimeoutStopFailureMode, "Stopping timed out.")
	case svcStopSigterm, svcStopWatchdog:
		mode := u.cfg.Service.TimeoutStopFailureMode
		m.escalate(u, false, "State '"+u.sub.String()+"' timed out.", u.sub == svcStopSigterm && mode == "abort")
	case svcStopSigkill:
		m.logUnit(u, "Processes still around after SIGKILL. Ignoring.")
		u.service().mainPID, u.service().controlPID = 0, 0
		u.setResult(resultTimeout)
		m.svcEnterStopPost(u)
	case svcStopPost, svcFinalSigterm, svcFinalWatchdog:
		mode := u.cfg.Service.TimeoutStopFailureMode
		if u.sub == svcStopPost && mode != "abort" && mode != "kill" {
			m.logUnit(u, "State 'stop-post' timed out. Terminating.")
			m.svcEnterSignal(u, svcFinalSigterm, resultTimeout)
			return
		}
		m.escalate(u, true, "State '"+u.sub.String()+"' timed out.", u.sub != svcFinalWatchdog && mode == "abort")
	case svcFinalSigkill:
		m.logUnit(u, "Processes still around after final SIGKILL. Entering failed mode.")
		u.service().mainPID, u.service().controlPID = 0, 0
		m.svcEnterDead(u, resultTimeout)
	case svcDead, svcExited, svcFailed, svcAutoRestart:
		// A state without a timeout of its own (an EXTEND_TIMEOUT_USEC= that outlived its state).
	default:
		m.bug("%s: state timer in invalid state %s", u.Name, u.sub)
	}
}

// escalate goes on, as systemd's service_dispatch_timer, from a stop state (the main process
// and the rest) or, final, one after ExecStopPost= that timed out (what): with abort to
// WatchdogSignal= (stop-watchdog, final-watchdog: for TimeoutAbortSec=), else to SIGKILL
// (stop-sigkill, final-sigkill), else (SendSIGKILL=no) on to ExecStopPost= or to the end,
// with Result=timeout either way.
func (m serviceMachine) escalate(u *Unit, final bool, what string, abort bool) {
	watchdog, sigkill := svcStopWatchdog, svcStopSigkill
	if final {
		watchdog, sigkill = svcFinalWatchdog, svcFinalSigkill
	}
	switch {
	case abort:
		m.logUnit(u, "%s Aborting.", what)
		m.svcEnterSignal(u, watchdog, resultTimeout)
	case u.cfg.Service.Kill.SendSIGKILL:
		if !final {
			m.consolef("%s: %s Killing.", u.Name, what)
		}
		m.logUnit(u, "%s Killing.", what)
		m.svcEnterSignal(u, sigkill, resultTimeout)
	case !final:
		m.logUnit(u, "%s Skipping SIGKILL.", what)
		u.setResult(resultTimeout)
		m.svcEnterStopPost(u)
	default:
		m.logUnit(u, "%s Skipping SIGKILL. Entering failed mode.", what)
		m.svcEnterDead(u, resultTimeout)
	}
}

// timedOut ends a start (or ExecStop=) that timed out as TimeoutStartFailureMode= (or
// TimeoutStopFailureMode=) says: terminate sends KillSignal=, abort WatchdogSignal=, kill
// FinalKillSignal= (or goes on to ExecStopPost= with SendSIGKILL=no). The result is timeout.
func (m serviceMachine) timedOut(u *Unit, mode, what string) {
	switch mode {
	case "abort":
		m.consolef("%s: %s Aborting.", u.Name, what)
		m.logUnit(u, "%s Aborting.", what)
		m.svcEnterSignal(u, svcStopWatchdog, resultTimeout)
	case "kill":
		m.escalate(u, false, what, false)
	default:
		m.consolef("%s: %s Terminating.", u.Name, what)
		m.logUnit(u, "%s Terminating.", what)
		m.svcEnterSignal(u, svcStopSigterm, resultTimeout)
	}
}
