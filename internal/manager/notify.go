package manager

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/flint-init/flint/internal/notify"
	"github.com/flint-init/flint/unit"
)

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

// notifyUnits are the services a notification from pid is for, as systemd's
// manager_dispatch_notify_fd(): the unit the sender belongs to (tracking.go), and every unit
// whose main or control process it is (a MAINPID= can name another unit's process), each
// letting it through as its NotifyAccess= says.
func (m *Manager) notifyUnits(pid int) []*Unit {
	var cands []*Unit
	add := func(u *Unit) {
		if u != nil && u.isService() && !slices.Contains(cands, u) {
			cands = append(cands, u)
		}
	}
	if p, ok := m.procs[pid]; ok {
		add(p.u)
		for _, w := range p.watchers {
			add(w)
		}
	} else {
		add(m.ownerOf(pid))
		for _, u := range m.order {
			if u.isService() && (u.svcState().mainPID == pid || u.svcState().controlPID == pid) {
				add(u)
			}
		}
	}
	out := cands[:0]
	for _, u := range cands {
		s := u.svcState()
		switch notifyAccess(u) {
		case "all":
		case "exec":
			if pid != s.mainPID && pid != s.controlPID {
				continue
			}
		case "main":
			if pid != s.mainPID {
				continue
			}
		default:
			continue
		}
		out = append(out, u)
	}
	return out
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

// handleNotify applies one sd_notify datagram to the services it is for (notifyUnits).
func (m *Manager) handleNotify(msg *notify.Message) {
	if m.handleSyncMarker(msg.PID, msg.Get) {
		msg.CloseFiles()
		return
	}
	keep := map[*os.File]bool{}
	// Every fd not put into a store is closed (this also answers BARRIER=1).
	defer func() {
		for _, f := range msg.Files {
			if !keep[f] {
				f.Close()
			}
		}
	}()
	for _, u := range m.notifyUnits(msg.PID) {
		m.notifyUnit(u, msg, keep)
	}
}

// notifyUnit applies msg to u. keep gets the fds u's store took: a later unit the message is
// for gets the others only.
func (m *Manager) notifyUnit(u *Unit, msg *notify.Message, keep map[*os.File]bool) {
	s := u.service()
	cfg := u.cfg.Service
	sm := serviceMachine{m}
	if v, ok := msg.First("MAINPID"); ok {
		switch u.sub {
		case svcStart, svcStartPost, svcRunning, svcReload:
			m.notifyMainPID(u, v, msg.UID)
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
			s.notifyState = notifyStateReady
			if u.sub == svcStart && (cfg.Type == unit.Notify || cfg.Type == unit.NotifyReload) {
				sm.svcStartPost(u)
			}
			// READY=1 ends a reload, but only once ExecReload= has ended (svcReload).
			if u.sub == svcReload && s.controlPID == 0 {
				sm.svcEnterRunning(u)
			}
			break states
		case "RELOADING":
			s.notifyState = notifyStateReloading
			if u.sub == svcRunning {
				sm.svcEnterReloadByNotify(u)
			}
			break states
		case "STOPPING":
			s.notifyState = notifyStateStopping
			if u.sub == svcRunning {
				sm.svcEnterStopByNotify(u)
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
			case svcStart, svcStartPre, svcStartPost, svcReload, svcStop, svcStopSigterm, svcStopPost:
				sm.armTimer(u, time.Duration(us)*time.Microsecond)
			}
		}
	}
	// As service_notify_message(): WATCHDOG= before WATCHDOG_USEC=.
	if v, ok := msg.First("WATCHDOG"); ok {
		switch v {
		case "1":
			sm.armWatchdog(u)
		case "trigger":
			sm.watchdogRequest(u)
		default:
			m.logUnit(u, "Passed WATCHDOG= field is invalid, ignoring.")
		}
	}
	if v, ok := msg.First("WATCHDOG_USEC"); ok {
		if us, err := strconv.ParseUint(v, 10, 64); err != nil || us > math.MaxInt64/1000 {
			m.logUnit(u, "Failed to parse WATCHDOG_USEC=%s", v)
		} else if u.sub != svcDead && u.sub != svcFailed {
			// The override lasts until the next start (service_start resets it).
			s.wdUSec = time.Duration(us) * time.Microsecond
			sm.armWatchdog(u)
		}
	}
	if len(keep) > 0 {
		// Stored by an earlier unit of this message: not twice.
		sub := *msg
		sub.Files = slices.DeleteFunc(slices.Clone(msg.Files), func(f *os.File) bool { return keep[f] })
		msg = &sub
	}
	m.fdStoreMessage(u, msg, keep)
	if u.job != nil {
		m.jobCheck(u)
	}
}

// notifyMainPID applies MAINPID=v sent by a process of uid to u, as systemd's
// service_notify_message(): a pid that is not the service's own is taken from root only.
func (m *Manager) notifyMainPID(u *Unit, v string, uid uint32) {
	pid, err := parsePID(v)
	if err != nil {
		m.logUnit(u, "Failed to parse MAINPID= field in notification message, ignoring: %s", v)
		return
	}
	if pid == u.service().mainPID {
		return
	}
	belongs, err := m.checkMainPID(u, pid)
	switch {
	case err != nil:
		m.logUnit(u, "%v", err)
	case !belongs && uid != 0:
		m.logUnit(u, "New main PID %d does not belong to service, refusing.", pid)
	default:
		if !belongs {
			m.logUnit(u, "New main PID %d does not belong to service, but we'll accept it as the request to change it came from a privileged process.", pid)
		}
		m.adoptMain(u, pid)
	}
}

func (m serviceMachine) armWatchdog(u *Unit) {
	s := u.service()
	d := s.wdUSec
	s.wdGen++
	if s.watchdog != nil {
		s.watchdog.Stop()
		s.watchdog = nil
	}
	if d <= 0 || d == unit.DurationInfinity || u.sub != svcRunning && u.sub != svcStart && u.sub != svcStartPost && u.sub != svcReload {
		return
	}
	g := s.wdGen
	s.watchdog = m.after(d, func() {
		if s.wdGen == g {
			m.watchdogTimeout(u)
		}
	})
}

func (m serviceMachine) disarmWatchdog(u *Unit) {
	s := u.service()
	s.wdGen++
	if s.watchdog != nil {
		s.watchdog.Stop()
		s.watchdog = nil
	}
}

func (m serviceMachine) watchdogTimeout(u *Unit) {
	if u.sub != svcRunning && u.sub != svcReload {
		return
	}
	m.consolef("%s: Watchdog timeout (limit %s)!", u.Name, u.service().wdUSec)
	m.logUnit(u, "Watchdog timeout (limit %s)!", u.service().wdUSec)
	m.svcEnterSignal(u, svcStopWatchdog, resultWatchdog)
}

// watchdogRequest is WATCHDOG=trigger (systemd's service_force_watchdog): the watchdog's
// action, whatever the state and whether or not WatchdogSec= is set.
func (m serviceMachine) watchdogRequest(u *Unit) {
	switch u.sub {
	case svcDead, svcFailed, svcAutoRestart:
		return // nothing of the service runs that the watchdog could stop
	}
	status := u.service().statusText
	if status == "" {
		status = "<unset>"
	}
	m.consolef("%s: Watchdog request (last status: %s)!", u.Name, status)
	m.logUnit(u, "Watchdog request (last status: %s)!", status)
	m.svcEnterSignal(u, svcStopWatchdog, resultWatchdog)
}
