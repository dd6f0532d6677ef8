package manager

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/flint-init/flint/unit"
)

// isGlob reports whether a unit argument is a glob pattern (systemd's string_is_glob).
func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// globMatch matches a unit name as systemctl's fnmatch(pattern, name, FNM_NOESCAPE): a
// backslash is an ordinary character (unit names escape with \x2d).
func globMatch(pattern, name string) bool {
	ok, _ := filepath.Match(strings.ReplaceAll(pattern, `\`, `\\`), name)
	return ok
}

// inMemory returns the units that systemd 252 keeps in memory: it unloads a unit that may
// be collected (no job, inactive, or failed with CollectMode=inactive-or-failed, no process
// left) unless a unit it keeps refers to it by its configuration (unit_gc_sweep).
func (m *Manager) inMemory() map[*Unit]bool {
	kept := map[*Unit]bool{}
	var todo []*Unit
	keep := func(u *Unit) {
		if u != nil && !kept[u] {
			kept[u] = true
			todo = append(todo, u)
		}
	}
	for _, u := range m.order {
		if !m.mayCollect(u) {
			keep(u)
		}
		if u.svc != nil {
			// An Accept=yes instance holds its socket (systemd's UnitRef).
			keep(u.svc.instanceOf)
		}
	}
	// Units with a job or a process left (KillMode=process): systemd keeps a unit whose
	// cgroup is not empty.
	for _, j := range m.jobs {
		keep(j.u)
	}
	for _, p := range m.procs {
		keep(p.u)
	}
	for len(todo) > 0 {
		u := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, n := range references(u.cfg) {
			keep(m.units[n])
		}
	}
	return kept
}

// collectGarbage unloads the units that systemd 252 would unload (see inMemory), as its
// unit_gc_sweep does after every event: a unit used again is loaded anew, its runtime
// state (NRestarts, exit status, NAccepted, the start limit's count, ...) forgotten.
func (m *Manager) collectGarbage() {
	m.gcPending = false
	queue := m.gcQueue
	m.gcQueue = nil
	sweep := m.gcAll
	m.gcAll = false
	for _, u := range queue {
		u.gcQueued = false
		// Only a unit that changed may have become collectable, or have been what kept
		// others: when none of them may go, nothing may (the last sweep kept every unit),
		// and the sweep over every unit is skipped.
		if !sweep && m.units[u.Name] == u && m.mayCollect(u) {
			sweep = true
		}
	}
	if m.shuttingDown || !sweep {
		return
	}
	kept := m.inMemory()
	if len(kept) == len(m.order) {
		return
	}
	n := 0
	for _, u := range m.order {
		if kept[u] {
			m.order[n] = u
			n++
		}
	}
	clear(m.order[n:])
	m.order = m.order[:n]
	for name, u := range m.units {
		if !kept[u] {
			delete(m.units, name)
		}
	}
	m.reindexOrdering()
}

// gcEnqueue notes that u was loaded, changed state, lost its job or a process: at the end of
// the event collectGarbage looks at it (systemd's unit_add_to_gc_queue).
func (m *Manager) gcEnqueue(u *Unit) {
	m.gcPending = true
	if !u.gcQueued {
		u.gcQueued = true
		m.gcQueue = append(m.gcQueue, u)
	}
}

// mayCollect is systemd's unit_may_gc for a unit of flint's.
func (m *Manager) mayCollect(u *Unit) bool {
	if u.job != nil {
		return false
	}
	if s := u.svc; s != nil && (s.mainPID != 0 || s.controlPID != 0 || len(s.adopted) > 0) {
		return false
	}
	if u.sock != nil && u.sock.controlPID != 0 {
		return false
	}
	switch u.activeState() {
	case Inactive:
		return true
	case Failed:
		return u.cfg.Unit.CollectMode == "inactive-or-failed"
	}
	return false
}

// references are the units cfg refers to by its configuration (systemd's UNIT_REFERENCES):
// its dependencies, a socket's service, a service's Sockets=. The After= on the sockets
// that trigger a service, which flint's loader adds from every socket unit, are no
// reference (in systemd they are the socket's, made when the socket loads).
func references(cfg *unit.Unit) []string {
	s := &cfg.Unit
	var out []string
	for _, l := range [][]string{s.Wants, s.Requires, s.Requisite, s.BindsTo, s.PartOf, s.Upholds, s.Conflicts,
		s.Before, s.OnFailure, s.OnSuccess, s.PropagatesReloadTo, s.ReloadPropagatedFrom, s.PropagatesStopTo,
		s.StopPropagatedFrom, s.JoinsNamespaceOf} {
		out = append(out, l...)
	}
	for _, n := range s.After {
		if !contains(cfg.TriggeredBy, n) {
			out = append(out, n)
		}
	}
	if cfg.Type == unit.TypeSocket {
		out = append(out, cfg.Triggers...)
	}
	if cfg.Service != nil {
		out = append(out, cfg.Service.Sockets...)
	}
	return out
}

// expandUnits turns the unit arguments of a job verb into unit names as systemctl 252's
// expand_unit_names: plain names first, completed with ".service" when they have no unit
// suffix, then the loaded units that a glob matches, sorted by name.
func (m *Manager) expandUnits(args []string) []string {
	var names, globs []string
	for _, a := range args {
		if isGlob(a) {
			globs = append(globs, a)
		} else {
			names = append(names, normalizeName(a))
		}
	}
	if len(globs) == 0 {
		return names
	}
	var matched []string
	for _, u := range m.order {
		for _, g := range globs {
			if globMatch(g, u.Name) {
				matched = append(matched, u.Name)
				break
			}
		}
	}
	sort.Strings(matched)
	return append(names, matched...)
}
