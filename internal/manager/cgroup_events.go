package manager

import (
	"time"

	"github.com/flint-init/flint/internal/cgroup"
	"github.com/flint-init/flint/unit"
)

// Events of the units' cgroups, by inotify (cgroup.Watcher): a group's cgroup.events tells
// when it is empty, so that a stop waiting for processes flint does not reap (a daemon that
// double-forked, orphans reparented elsewhere) goes on at once rather than at a poll. On
// cgroup2 only (the unified layout, and the hybrid one's /sys/fs/cgroup/unified, which
// tracks): a legacy v1 layout has no such file, and its release agent belongs to the
// machine's init, so the stop polls there (watchStragglers, every 50 ms).

// cgroupWatchEmpty arranges for gone to run on the manager's goroutine whenever u's group's
// population changes, until it returns true, and once now (the group may have emptied
// before the watch began); false when u has no group with cgroup.events.
func (m *Manager) cgroupWatchEmpty(u *Unit, gone func() bool) bool {
	ug := m.cg.groups[u.Name]
	if ug == nil {
		return false
	}
	file := ug.g.EventsFile()
	if file == "" || m.cgroupWatcher() == nil {
		return false
	}
	w := m.cg.watcher
	done := false
	check := func() {
		if !done && gone() {
			done = true
			w.Unwatch(file)
		}
	}
	if err := w.Watch(file, func() { m.post(check) }); err != nil {
		return false
	}
	m.post(check)
	return true
}

// cgroupWatcher is the manager's inotify watcher of cgroup files, made at its first use; nil
// when inotify is refused.
func (m *Manager) cgroupWatcher() *cgroup.Watcher {
	if m.cg.watcher == nil && !m.cg.noWatcher {
		w, err := cgroup.NewWatcher()
		if err != nil {
			m.cg.noWatcher = true
			m.consolef("cgroup events not watched (%v): polling instead.", err)
			return nil
		}
		m.cg.watcher = w
	}
	return m.cg.watcher
}

// oomPolicy is a service's OOMPolicy= in effect: its own, else DefaultOOMPolicy=.
func (m *Manager) oomPolicy(s *unit.ServiceSection) string {
	if s.OOMPolicyDefault && m.opt.DefaultOOMPolicy != "" {
		return m.opt.DefaultOOMPolicy
	}
	return s.OOMPolicy
}

// cgroupWatchOOM watches a service's new group for OOM kills (cgroup.Watcher.WatchOOM):
// each kill of a process of the unit, its main process's or another's, is acted on by
// OOMPolicy= (svcOOMKilled).
func (m *Manager) cgroupWatchOOM(u *Unit, ug *unitGroup) {
	if u.cfg.Service == nil {
		return // systemd acts on OOM kills in services (and scopes) only
	}
	w := m.cgroupWatcher()
	if w == nil {
		return
	}
	name := u.Name
	stop, err := w.WatchOOM(ug.g, func() { m.post(func() { m.cgroupOOMEvent(name, 0) }) })
	if err == nil {
		ug.stopOOM = stop
	}
}

// oomRetries bound the re-reads of a v1 group's oom_kill counter after its notification,
// which the kernel sends before it kills (10 ms apart).
const oomRetries = 50

// cgroupOOMEvent reads the OOM kill counter of the unit's group after an event of its memory
// controller; a rise is logged and handed to OOMPolicy=.
func (m *Manager) cgroupOOMEvent(name string, retry int) {
	u, ug := m.units[name], m.cg.groups[name]
	if u == nil || ug == nil || ug.idle || !u.isService() {
		return
	}
	if !m.cgroupOOMKilled(u) {
		if h := ug.g.L.Controller("memory"); h != nil && !h.V2 && retry < oomRetries {
			m.sys().afterFunc(m, 10*time.Millisecond, func() { m.cgroupOOMEvent(name, retry+1) })
		}
		return
	}
	m.svcOOMKilled(u)
}

// svcOOMKilled applies OOMPolicy= to a service a process of which the OOM killer killed, as
// systemd 252's service_notify_cgroup_oom_event: continue does nothing; stop stops the unit
// (ExecStop=, then the signals) and kill sends SIGKILL to all of it, each with
// Result=oom-kill; a unit already stopping goes on to its next signal.
func (m *Manager) svcOOMKilled(u *Unit) {
	policy := m.oomPolicy(u.cfg.Service)
	if policy == "continue" {
		return
	}
	kill := policy == "kill"
	sm := serviceMachine{m}
	switch u.sub {
	case svcCondition, svcStartPre, svcStart, svcStartPost, svcStop:
		if kill {
			sm.svcEnterSignal(u, svcFinalSigkill, resultOOMKill)
		} else {
			sm.svcEnterSignal(u, svcStopSigterm, resultOOMKill)
		}
	case svcRunning, svcExited:
		if kill {
			sm.svcEnterSignal(u, svcFinalSigkill, resultOOMKill)
		} else {
			sm.svcEnterStop(u, resultOOMKill)
		}
	case svcStopWatchdog, svcStopSigterm:
		sm.svcEnterSignal(u, svcStopSigkill, resultOOMKill)
	case svcStopSigkill, svcFinalSigkill:
		u.setResult(resultOOMKill)
	case svcStopPost, svcFinalSigterm:
		sm.svcEnterSignal(u, svcFinalSigkill, resultOOMKill)
	}
}
