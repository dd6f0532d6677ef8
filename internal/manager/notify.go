package manager

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/flint-init/flint/internal/notify"
	"github.com/flint-init/flint/unit"
)

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

// notifyOwner finds the service a notification's sender belongs to, honouring NotifyAccess=.
func (m *Manager) notifyOwner(pid int) *Unit {
	if p, ok := m.procs[pid]; ok && p.u != nil && p.u.svc != nil {
		u := p.u
		na := notifyAccess(u)
		switch na {
		case "all":
			return u
		case "exec":
			if pid == u.svc.mainPID || pid == u.svc.controlPID {
				return u
			}
		case "main":
			if pid == u.svc.mainPID {
				return u
			}
		}
		return nil
	}
	// Not a direct child: NotifyAccess=all accepts any process in the unit's session, and
	// main accepts the main pid set via MAINPID=/PIDFile=.
	sid, _, ok := procSession(pid)
	for _, u := range m.order {
		if u.svc == nil {
			continue
		}
		na := notifyAccess(u)
		if (na == "main" || na == "exec" || na == "all") && u.svc.mainPID == pid {
			return u
		}
		if na == "all" && ok {
			if _, mine := m.procs[sid]; mine && m.procs[sid].u == u {
				return u
			}
		}
	}
	return nil
}

func notifyAccess(u *Unit) string {
	na := u.cfg.Service.NotifyAccess
	if na == "" {
		if u.cfg.Service.Type == unit.Notify || u.cfg.Service.Type == unit.NotifyReload || u.cfg.Service.WatchdogSec > 0 {
			return "main"
		}
		return "none"
	}
	return na
}

// handleNotify applies one sd_notify datagram.
func (m *Manager) handleNotify(msg *notify.Message) {
	if m.handleSyncMarker(msg.PID, msg.Get) {
		msg.CloseFiles()
		return
	}
	u := m.notifyOwner(msg.PID)
	keep := map[*os.File]bool{}
	defer func() {
		// Every fd not put into the store is closed (this also answers BARRIER=1).
		for _, f := range msg.Files {
			if !keep[f] {
				f.Close()
			}
		}
	}()
	if u == nil {
		return
	}
	s := u.svc
	cfg := u.cfg.Service
	if v, ok := msg.First("MAINPID"); ok {
		if pid, err := strconv.Atoi(v); err != nil || pid <= 0 {
			m.logUnit(u, "Failed to parse MAINPID=%s field in notification message, ignoring.", v)
		} else if pid != s.mainPID {
			switch u.sub {
			case "start", "start-post", "running", "reload":
				if why := m.unsuitableMainPID(u, pid, msg.UID); why != "" {
					m.logUnit(u, "New main PID %d %s, refusing.", pid, why)
				} else {
					m.adoptMain(u, pid)
				}
			}
		}
	}
	// READY=1, RELOADING=1, STOPPING=1: the last of them in the message counts, as in
	// systemd's service_notify_message(), which applies them after MAINPID= and before the
	// rest. Each is remembered (notifyState) for when a start or reload is over.
states:
	for i := len(msg.Fields) - 1; i >= 0; i-- {
		if msg.Fields[i].Value != "1" {
			continue
		}
		switch msg.Fields[i].Key {
		case "READY":
			s.notifyReady = true
			s.notifyState = "ready"
			if u.sub == "start" && (cfg.Type == unit.Notify || cfg.Type == unit.NotifyReload) {
				m.svcStartPost(u)
			}
			// READY=1 ends a reload, but only once ExecReload= has ended (svcReload).
			if u.sub == "reload" && s.controlPID == 0 {
				m.svcEnterRunning(u)
			}
			break states
		case "RELOADING":
			s.notifyState = "reloading"
			if u.sub == "running" {
				m.svcEnterReloadByNotify(u)
			}
			break states
		case "STOPPING":
			s.notifyState = "stopping"
			if u.sub == "running" {
				m.svcEnterStopByNotify(u)
			}
			break states
		}
	}
	if v, ok := msg.First("STATUS"); ok {
		s.statusText = v
	}
	if v, ok := msg.First("ERRNO"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			s.errno = n
		}
	}
	if v, ok := msg.First("EXTEND_TIMEOUT_USEC"); ok {
		if us, err := strconv.ParseInt(v, 10, 64); err == nil {
			switch u.sub {
			case "start", "start-pre", "start-post", "reload", "stop", "stop-sigterm", "stop-post":
				m.armTimer(u, time.Duration(us)*time.Microsecond, "extend")
			}
		}
	}
	// As service_notify_message(): WATCHDOG= before WATCHDOG_USEC=.
	if v, ok := msg.First("WATCHDOG"); ok {
		switch v {
		case "1":
			m.armWatchdog(u)
		case "trigger":
			m.watchdogRequest(u)
		default:
			m.logUnit(u, "Passed WATCHDOG= field is invalid, ignoring.")
		}
	}
	if v, ok := msg.First("WATCHDOG_USEC"); ok {
		if us, err := strconv.ParseUint(v, 10, 64); err != nil || us > math.MaxInt64/1000 {
			m.logUnit(u, "Failed to parse WATCHDOG_USEC=%s", v)
		} else if u.sub != "dead" && u.sub != "failed" {
			// The override lasts until the next start (service_start resets it).
			s.wdUSec = time.Duration(us) * time.Microsecond
			m.armWatchdog(u)
		}
	}
	m.fdStoreMessage(u, msg, keep)
	if u.job != nil {
		m.jobCheck(u)
	}
}

// unsuitableMainPID says why pid cannot become u's main process ("" if it can), as systemd's
// service_is_suitable_main_pid(): never flint itself or PID 1, only a live process, and from
// an unprivileged sender only one of the unit's own processes.
func (m *Manager) unsuitableMainPID(u *Unit, pid int, senderUID uint32) string {
	switch {
	case pid == os.Getpid():
		return "is the manager itself"
	case pid == 1:
		return "is the init process"
	}
	if _, state, ok := procSession(pid); !ok || state == "Z" {
		return "does not exist or is a zombie"
	}
	if senderUID != 0 {
		for _, p := range m.unitPIDs(u) {
			if p == pid {
				return ""
			}
		}
		return "does not belong to the service"
	}
	return ""
}

// watchForeignMain polls a main process that is not our child (MAINPID= from a daemon).
func (m *Manager) watchForeignMain(u *Unit, pid int) {
	var tick func()
	tick = func() {
		time.AfterFunc(100*time.Millisecond, func() {
			m.post(func() {
				if u.svc.mainPID != pid {
					return
				}
				if _, _, ok := procSession(pid); ok {
					tick()
					return
				}
				m.mainExited(u, pid, 0)
			})
		})
	}
	tick()
}

func (m *Manager) armWatchdog(u *Unit) {
	s := u.svc
	d := s.wdUSec
	s.wdGen++
	if s.watchdog != nil {
		s.watchdog.Stop()
		s.watchdog = nil
	}
	if d <= 0 || d == unit.DurationInfinity || u.sub != "running" && u.sub != "start" && u.sub != "start-post" && u.sub != "reload" {
		return
	}
	g := s.wdGen
	s.watchdog = time.AfterFunc(d, func() {
		m.post(func() {
			if s.wdGen == g {
				m.watchdogTimeout(u)
			}
		})
	})
}

func (m *Manager) disarmWatchdog(u *Unit) {
	s := u.svc
	s.wdGen++
	if s.watchdog != nil {
		s.watchdog.Stop()
		s.watchdog = nil
	}
}

func (m *Manager) watchdogTimeout(u *Unit) {
	if u.sub != "running" && u.sub != "reload" {
		return
	}
	m.consolef("%s: Watchdog timeout (limit %s)!", u.Name, u.svc.wdUSec)
	m.logUnit(u, "Watchdog timeout (limit %s)!", u.svc.wdUSec)
	m.svcEnterSignal(u, "stop-watchdog", "watchdog")
}

// watchdogRequest is WATCHDOG=trigger (systemd's service_force_watchdog): the watchdog's
// action, whatever the state and whether or not WatchdogSec= is set.
func (m *Manager) watchdogRequest(u *Unit) {
	switch u.sub {
	case "dead", "failed", "auto-restart":
		return // nothing of the service runs that the watchdog could stop
	}
	status := u.svc.statusText
	if status == "" {
		status = "<unset>"
	}
	m.consolef("%s: Watchdog request (last status: %s)!", u.Name, status)
	m.logUnit(u, "Watchdog request (last status: %s)!", status)
	m.svcEnterSignal(u, "stop-watchdog", "watchdog")
}
