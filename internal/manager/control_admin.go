package manager

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/unit"
)

// killRequest sends a signal to a unit's processes as systemctl kill does: --kill-whom=all
// (default) every process of the unit, main or control one process. A unit that is loaded
// but not running has nothing to kill (success); an unknown unit is an error.
func (m *Manager) killRequest(req *api.Request) error {
	sig := syscall.Signal(req.Signal)
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	if sig < 0 || sig > 64 {
		return &reqError{"bad-request", fmt.Sprintf("Invalid signal %d.", req.Signal)}
	}
	whom := req.KillWhom
	switch whom {
	case "", "all":
		whom = "all"
	case "main", "control":
	default:
		return &reqError{"bad-request", fmt.Sprintf("Invalid kill-whom %q (all, main or control).", whom)}
	}
	if len(req.Units) == 0 {
		return &reqError{"bad-request", "Too few arguments."}
	}
	for _, n := range req.Units {
		name := normalizeName(n)
		u, ok := m.units[name]
		if !ok || (u.cfg.LoadState == unit.NotFound && isInactiveOrFailed(u.activeState())) {
			return &reqError{"not-found", fmt.Sprintf("Failed to kill unit %s: Unit %s not loaded.", name, name)}
		}
		switch whom {
		case "main":
			if !u.isService() {
				return &reqError{"failed", fmt.Sprintf("Failed to kill unit %s: %s units have no main processes", u.Name, u.cfg.Type)}
			}
			if u.svcState().mainPID == 0 {
				return &reqError{"failed", fmt.Sprintf("Failed to kill unit %s: No main process to kill", u.Name)}
			}
			syscall.Kill(u.svcState().mainPID, sig)
		case "control":
			pid := 0
			if u.isService() {
				pid = u.svcState().controlPID
			} else if u.sock != nil {
				pid = u.sock.controlPID
			}
			if pid == 0 {
				return &reqError{"failed", fmt.Sprintf("Failed to kill unit %s: No control process to kill", u.Name)}
			}
			syscall.Kill(pid, sig)
		default:
			for _, pid := range m.unitPIDs(u) {
				syscall.Kill(pid, sig)
			}
		}
	}
	return nil
}

// resetFailed forgets the failed state (and the start-limit counters) of the named units, of
// every unit if none is named.
func (m *Manager) resetFailed(names []string) error {
	for _, n := range names {
		if strings.ContainsAny(n, "*?[") {
			continue
		}
		name := normalizeName(n)
		if u, ok := m.units[name]; !ok || u.cfg.LoadState == unit.NotFound {
			return &reqError{"not-found", fmt.Sprintf("Failed to reset failed state of unit %s: Unit %s not loaded.", name, name)}
		}
	}
	for _, u := range m.matchUnits(names, true) {
		if u.activeState() == Failed {
			u.result = resultSuccess
			m.setState(u, deadState(u.cfg.Type))
		}
		u.result = resultSuccess
		if s := u.svc; s != nil {
			s.startLimit = rateLimit{} // as unit_reset_failed (the trigger limit stays)
			s.nRestarts = 0
		}
	}
	return nil
}

// daemonReload re-reads unit files. Running units keep running; sockets whose Listen= did not
// change keep their fds (and pending connections).
func (m *Manager) daemonReload() {
	m.dbusReloading(true)
	defer m.dbusReloading(false)
	m.releaseMemory = true
	m.gcAll, m.gcPending = true, true
	m.consolef("Reloading.")
	m.runGenerators()
	m.loader.Reload()
	m.presets = nil
	if n := len(m.reloads); n == 0 || m.reloads[n-1].seq != m.nextSeq {
		// systemd's units come back from a reload with a state change at its time when
		// they had none (a unit loaded but never started): stateChangeOf finds it here,
		// rather than a unitHist for each of thousands of units never started.
		m.reloads = append(m.reloads, reloadStamp{seq: m.nextSeq, at: time.Now()})
	}
	for _, u := range append([]*Unit(nil), m.order...) {
		if u.transient {
			continue
		}
		cfg := m.loader.Load(u.Name)
		if cfg.LoadState == unit.NotFound {
			if b := m.loader.Builtin(u.Name); b != nil {
				cfg = b
			}
		}
		if cfg.LoadState != unit.Loaded && u.loaded() && !isInactiveOrFailed(u.activeState()) {
			// Masked, broken or deleted while it runs (then daemon-reload): the unit takes
			// the new load state (no new start; systemd 252 shows "not-found (Reason: Unit X
			// not found.)" for a deleted one) but keeps running on its old configuration,
			// which its state machine needs until it stops. A deleted unit's Description=
			// went with its file.
			keep := *cfg
			keep.Type, keep.Unit, keep.Install = u.cfg.Type, u.cfg.Unit, u.cfg.Install
			if cfg.LoadState == unit.NotFound {
				keep.Unit.Description = ""
				keep.Unit.OwnDocs().Documentation = nil
			}
			keep.Socket, keep.Service, keep.Target = u.cfg.Socket, u.cfg.Service, u.cfg.Target
			keep.Timer, keep.Path = u.cfg.Timer, u.cfg.Path
			keep.Triggers, keep.TriggeredBy = u.cfg.Triggers, u.cfg.TriggeredBy
			cfg = &keep
		}
		if u.sock != nil && cfg.Socket != nil && len(u.sock.socks) > 0 && !sameListen(u.cfg.Socket.Listen, cfg.Socket.Listen) {
			// The addresses changed. The open sockets (u.sock.socks, each with its own Spec)
			// stay in service, pending connections included, until the socket unit is
			// restarted; sockOpen then opens the new Listen= (the new configuration is kept).
			m.logUnit(u, "Listen= changed; the new addresses take effect when the socket is restarted.")
		}
		u.cfg = cfg
		// As systemd's serialization, only the commands still running keep their status.
		for k, r := range u.hs().ex().runs {
			if !r.Exit.IsZero() {
				delete(u.hist().wex().runs, k)
			}
		}
		for _, n := range cfg.Names {
			if _, ok := m.units[n]; !ok {
				m.bind(n, u)
			}
		}
	}
	m.reindexOrdering()
	// The new configurations may refer to units not loaded yet.
	m.refQueue = append(m.refQueue, m.order...)
	m.loadReferred()
	m.stateReloaded()
	for _, u := range m.order {
		m.cooldownReload(u)
	}
	// Waiting timers compute their next elapse from their new values, as systemd's coldplug
	// after a reload.
	for _, u := range m.timerUnits() {
		if u.sub == timerWaiting && u.cfg.Timer != nil {
			timerMachine{m}.timerEnterWaiting(u, false)
		}
	}
	// Path units watch their new paths (path_coldplug).
	for _, u := range m.order {
		if u.mo().pth != nil && m.units[u.Name] == u && (u.sub == pathWaiting || u.sub == pathRunning) && u.cfg.Path != nil {
			pathMachine{m}.pathEnterWaiting(u, true, false)
		}
	}
}

func sameListen(a, b []unit.Listen) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || a[i].Raw != b[i].Raw {
			return false
		}
	}
	return true
}

// unitPaths is the manager's search path and the directories the file verbs write to.
func (m *Manager) unitPaths() api.UnitPaths {
	lk := m.loader.Lookup()
	scope := "system"
	if lk.Scope == unit.User {
		scope = "user"
	}
	return api.UnitPaths{Scope: scope, SearchPath: lk.Path, Config: lk.Config, Runtime: lk.Runtime,
		Control: lk.Control, RuntimeControl: lk.RuntimeControl, Explicit: lk.Explicit}
}

// unitByPID is systemd's GetUnitByPID: the unit whose processes (process tracking,
// tracking.go) include pid.
func (m *Manager) unitByPID(pid int) (string, error) {
	if pid <= 0 {
		return "", &reqError{"bad-request", fmt.Sprintf("Invalid PID %d.", pid)}
	}
	for _, u := range m.order {
		if m.units[u.Name] == u && slices.Contains(m.unitPIDs(u), pid) {
			return u.Name, nil
		}
	}
	return "", &reqError{"not-found", fmt.Sprintf("PID %d does not belong to any loaded unit.", pid)}
}
