package manager

import (
	"syscall"
	"time"

	"github.com/flint-init/flint/unit"
)

// A service's main process exits: what that means in each state.

// mainExited handles the main process's exit in every state.
func (m serviceMachine) mainExited(u *Unit, pid int, ws syscall.WaitStatus) {
	s := u.service()
	cfg := u.cfg.Service
	if s.mainPID != pid {
		return
	}
	if !(u.sub == svcStart && cfg.Type == unit.Forking) && m.pidFileMoved(u, false) {
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
	result := resultSuccess
	m.logProcessExit(u, "Main process", "ExecStart", code, status, clean || s.mainIgnore)
	if !clean {
		result = failureResult(ws)
		if result == resultSignal && m.cgroupOOMKilled(u) {
			result = resultOOMKill
		}
		m.consolef("%s: Main process exited, code=%s, status=%s", u.Name, code, statusString(code, status))
		if s.mainIgnore {
			// ExecStart=-...: the failure is recorded (ExecMainStatus) but counts as success.
			clean, result = true, resultSuccess
		}
	}
	switch u.sub {
	case svcStart:
		switch cfg.Type {
		case unit.Oneshot:
			if !clean {
				m.svcEnterSignal(u, svcStopSigterm, result)
				return
			}
			if len(s.queue) > 0 {
				m.spawnNext(u)
				return
			}
			m.svcStartPost(u)
		case unit.Forking:
			if !clean {
				m.svcEnterSignal(u, svcStopSigterm, result)
				return
			}
			s.mainUnknown = true // until adoptMain
			if cfg.PIDFile != "" {
				pid, err := m.loadPIDFile(u)
				if err != nil {
					m.logUnit(u, "%v", err)
					if len(m.processesOf(u)) == 0 {
						m.svcEnterSignal(u, svcStopSigterm, resultProtocol)
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
					result = resultProtocol
				}
			}
			if clean && cfg.Type != unit.Notify {
				m.svcEnterRunning(u)
				return
			}
			m.svcEnterSignal(u, svcStopSigterm, result)
		}
	case svcStartPost, svcRunning, svcReload:
		if u.sub != svcRunning && s.controlPID != 0 {
			// As systemd: ExecStartPost= or ExecReload= still runs; when it ends,
			// svcEnterRunning goes on with this exit's result.
			if !clean {
				u.setResult(result)
			}
			return
		}
		if u.sub == svcReload {
			// A reload without a control process (RELOADING=1): systemd's
			// service_sigchld_event() stops the service.
			m.svcEnterStop(u, result)
			return
		}
		if cfg.RemainAfterExit && clean {
			m.setState(u, svcExited)
			return
		}
		if u.sub == svcRunning {
			// systemd's service_enter_running(): a failed main process skips ExecStop=.
			if !clean {
				m.svcEnterSignal(u, svcStopSigterm, result)
			} else {
				m.svcEnterStop(u, result)
			}
		}
	case svcStop, svcStopSigterm, svcStopSigkill, svcStopWatchdog:
		if u.sub == svcStop && s.controlPID != 0 {
			return // ExecStop still running
		}
		// As systemd's service_sigchld_event: an unclean exit is the unit's result even when
		// a stop killed it — a daemon that exits 1 on SIGTERM fails (SuccessExitStatus=
		// accepts it), and so does a oneshot killed by SIGTERM while it ran.
		if !clean {
			u.setResult(result)
		}
		if u.sub != svcStop {
			m.svcMaybeStopPost(u)
		}
	case svcStopPost, svcFinalSigterm, svcFinalSigkill, svcFinalWatchdog:
		m.svcMaybeDead(u)
	case svcDead, svcCondition, svcStartPre, svcExited, svcFailed, svcAutoRestart:
		// A main process left over from a run that is over (KillMode=none): its exit
		// changes nothing.
	default:
		m.bug("%s: main process exit in invalid state %s", u.Name, u.sub)
	}
}

// forkingStartPost goes on with a Type=forking start once the daemon has forked (and its
// PIDFile= was read).
func (m serviceMachine) forkingStartPost(u *Unit) {
	m.setState(u, svcStartPost)
	m.runControl(u, u.cfg.Service.ExecStartPost, svcStartPost, func(ok bool) {
		if !ok {
			m.svcEnterSignal(u, svcStopSigterm, resultExitCode)
			return
		}
		m.svcEnterRunning(u)
	})
}
