package manager

import "github.com/flint-init/flint/internal/cgroup"

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
