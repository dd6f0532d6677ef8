package manager

import (
	"iter"
	"path/filepath"
	"slices"
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

// The marks of a garbage-collection sweep, as systemd's GC_OFFSET_*: a unit's gcMark is the
// sweep's generation plus one of them; Manager.gcGen advances by gcMarks per sweep, so the
// marks of earlier sweeps mean nothing.
const (
	gcInPath = iota + 1 // being looked at, further up the recursion
	gcUnsure            // only referred to by units in the path: decided at the end
	gcGood              // kept
	gcBad               // collected
	gcMarks
)

// collectGarbage unloads the units that systemd 252 would unload, as its unit_gc_sweep does
// after every event: a unit that changed (the queue) goes when it may be collected (no job,
// inactive, or failed with CollectMode=inactive-or-failed, no process left, no Accept=yes
// instance of it running, no job for its OnFailure=/OnSuccess= units) and no unit that is
// kept refers to it by its configuration. The
// look is local: it follows the reverse references (Manager.refBy) of the queued units only.
// The units a collected unit referred to are looked at next. A unit used again is loaded
// anew, its runtime state (NRestarts, exit status, NAccepted, the start limit's count, ...)
// forgotten.
func (m *Manager) collectGarbage() {
	if m.gcAll {
		// A daemon-reload changed references: every unit may have lost its referrer.
		m.gcAll = false
		for _, u := range m.order {
			m.gcEnqueue(u)
		}
	}
	if m.shuttingDown {
		for _, u := range m.gcQueue {
			u.gcQueued = false
		}
		m.gcQueue = nil
		m.gcPending = false
		return
	}
	m.gcProcs = nil
	for len(m.gcQueue) > 0 {
		m.gcGen += gcMarks
		gen := m.gcGen
		m.gcUnsure = 0
		m.gcDoomed = m.gcDoomed[:0]
		for len(m.gcQueue) > 0 {
			u := m.gcQueue[len(m.gcQueue)-1]
			m.gcQueue = m.gcQueue[:len(m.gcQueue)-1]
			u.gcQueued = false
			if m.units[u.Name] != u {
				continue // unloaded since it was queued
			}
			m.gcSweep(u, gen)
			if u.gcMark == gen+gcUnsure {
				// Only units that are themselves collected refer to it (a cycle).
				u.gcMark = gen + gcBad
				m.gcDoomed = append(m.gcDoomed, u)
			}
		}
		if len(m.gcDoomed) == 0 {
			break
		}
		m.unload(m.gcDoomed)
	}
	clear(m.gcDoomed)
	m.gcDoomed = m.gcDoomed[:0]
	m.gcPending = false
}

// gcSweep marks u good (kept) or bad (collected, in gcDoomed), or unsure when only the units
// further up the path refer to it (queued again; collected unless a unit found good later
// refers to it), as systemd's unit_gc_sweep.
func (m *Manager) gcSweep(u *Unit, gen uint64) {
	switch u.gcMark - gen {
	case gcInPath, gcUnsure, gcGood, gcBad:
		return
	}
	if m.gcRoot(u) {
		m.gcMarkGood(u, gen)
		return
	}
	u.gcMark = gen + gcInPath
	bad := true
	for i := range u.nkeys() {
		k := u.keyAt(i)
		if m.units[k] != u {
			continue
		}
		var b [1]*Unit
		for _, o := range m.refBy.get(k, &b) {
			if o == u || m.units[o.Name] != o {
				continue
			}
			m.gcSweep(o, gen)
			switch o.gcMark - gen {
			case gcGood:
				m.gcMarkGood(u, gen)
				return
			case gcBad:
			default:
				bad = false
			}
		}
	}
	if bad {
		u.gcMark = gen + gcBad
		m.gcDoomed = append(m.gcDoomed, u)
		return
	}
	u.gcMark = gen + gcUnsure
	m.gcUnsure++
	m.gcEnqueue(u)
}

// gcMarkGood marks u kept, and with it the unsure units it refers to (systemd's
// unit_gc_mark_good).
func (m *Manager) gcMarkGood(u *Unit, gen uint64) {
	u.gcMark = gen + gcGood
	if m.gcUnsure == 0 {
		return // no unit is unsure in this sweep
	}
	for n := range m.refs(u) {
		if o := m.units[n]; o != nil && o.gcMark == gen+gcUnsure {
			m.gcMarkGood(o, gen)
		}
	}
}

// gcRoot reports whether u is kept for itself: it may not be collected, a running Accept=yes
// instance holds it (systemd's UnitRef), or a process of it is left (systemd keeps a unit
// whose cgroup is not empty).
func (m *Manager) gcRoot(u *Unit) bool {
	if !m.mayCollect(u) || u.sock != nil && u.sock.nConnections > 0 {
		return true
	}
	if len(m.procs) == 0 {
		return false
	}
	if m.gcProcs == nil {
		m.gcProcs = make(map[*Unit]bool, len(m.procs))
		for _, p := range m.procs {
			m.gcProcs[p.u] = true
		}
	}
	return m.gcProcs[u]
}

// unload forgets collected units: their names, their place in the order and in the indexes.
// The units they referred to may go now: they are queued (systemd's unit_free queues a freed
// unit's dependencies).
func (m *Manager) unload(gone []*Unit) {
	set := make(map[*Unit]bool, len(gone))
	for _, u := range gone {
		set[u] = true
		m.releaseFDStore(u)
		m.forgetTracking(u)
		m.forget(u)
		m.stateGone(u)
		m.dbusUnitRemoved(u)
	}
	isGone := func(u *Unit) bool { return set[u] }
	for _, u := range gone {
		// From the end, where the units that come and go (Accept=yes instances, transient
		// units) are: no look at each of thousands of loaded units per unit collected.
		if i := lastIndex(m.order, u); i >= 0 {
			m.order = slices.Delete(m.order, i, i+1)
		}
	}
	m.releaseMark = min(m.releaseMark, len(m.order))
	m.unneeded = slices.DeleteFunc(m.unneeded, isGone)
	m.upholders = slices.DeleteFunc(m.upholders, isGone)
	for _, u := range gone {
		for n := range m.refs(u) {
			if o := m.units[n]; o != nil {
				m.gcEnqueue(o)
			}
		}
	}
}

// lastIndex is the index of u's last place in list, -1 if none.
func lastIndex(list []*Unit, u *Unit) int {
	for i := len(list) - 1; i >= 0; i-- {
		if list[i] == u {
			return i
		}
	}
	return -1
}

// forget removes u from the registry and the indexes (unload removes it from the lists).
func (m *Manager) forget(u *Unit) {
	m.unindexOrdering(u)
	m.unindexRefs(u)
	for i := range u.nkeys() {
		if k := u.keyAt(i); m.units[k] == u {
			delete(m.units, k)
		}
	}
}

// indexRefs records whom u refers to (references), for gcSweep's look at a unit's referrers.
// A name u gives in several settings (a socket's Before= and its service, Conflicts= and
// Before=shutdown.target) lists u once: u is the last of the list when it named it before.
func (m *Manager) indexRefs(u *Unit) {
	for n := range m.refs(u) {
		if n != u.Name && m.refBy.last(n) != u {
			m.refBy.add(n, u)
		}
	}
}

// unindexRefs undoes indexRefs.
func (m *Manager) unindexRefs(u *Unit) {
	for n := range m.refs(u) {
		m.refBy.remove(n, u)
	}
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
	if isInactiveOrFailed(u.activeState()) {
		// As systemd's unit_may_gc(): an inactive unit without a job gives back what it
		// holds for the next start, whether or not it is collected.
		m.releaseFDStore(u)
	}
	if s := u.svc; s != nil && (s.mainPID != 0 || s.controlPID != 0) || m.hasAdopted(u) {
		return false
	}
	if u.sock != nil && u.sock.controlPID != 0 || u.mo().cooldown != nil {
		return false
	}
	switch u.activeState() {
	case Inactive:
	case Failed:
		if u.cfg.Unit.CollectMode != "inactive-or-failed" {
			return false
		}
	default:
		return false
	}
	return !m.handlerHasJob(u)
}

// handlerHasJob reports whether a unit of u's OnFailure= or OnSuccess= has a job, which keeps
// u loaded as systemd's unit_success_failure_handler_has_jobs: a failed unit with
// CollectMode=inactive-or-failed stays until its handler's job is over, so that a client
// waiting for u's job still finds its result. The handler's job ending queues the handler,
// whose sweep looks at u again (u refers to it).
func (m *Manager) handlerHasJob(u *Unit) bool {
	for _, l := range [][]string{u.cfg.Unit.OnSuccess, u.cfg.Unit.OnFailure} {
		for _, n := range l {
			if o := m.units[n]; o != nil && o.job != nil {
				return true
			}
		}
	}
	return false
}

// loadReferred loads the units that the units of refQueue refer to, and those they refer to
// in turn, as systemd 252 does when it loads a unit (unit_add_dependency_by_name loads the
// other unit, which joins the load queue): a unit whose file is missing is loaded as
// not-found. Each unit is looked at once (queued by register), so loading N units costs
// O(N + their references). The units loaded stay as long as a unit that is kept refers to
// them (collectGarbage).
func (m *Manager) loadReferred() {
	if m.loadingRefs {
		return // the outer call goes on with the units registered meanwhile
	}
	m.loadingRefs = true
	for i := 0; i < len(m.refQueue); i++ {
		u := m.refQueue[i]
		if m.units[u.Name] != u {
			continue // collected meanwhile
		}
		for n := range m.refs(u) {
			if _, ok := m.units[n]; !ok && unit.IsValidName(n) && !unit.IsTemplate(n) {
				// A template is no unit: systemd refuses the dependency.
				m.load(n)
			}
		}
	}
	clear(m.refQueue)
	m.refQueue = m.refQueue[:0]
	m.loadingRefs = false
}

// refs are the units u refers to (references) and the slice it is in, which systemd 252
// loads with u (unit_set_default_slice) and which u keeps loaded (UNIT_IN_SLICE).
func (m *Manager) refs(u *Unit) iter.Seq[string] {
	return func(yield func(string) bool) {
		for n := range references(u.cfg) {
			if !yield(n) {
				return
			}
		}
		if u.cfg.LoadState != unit.Loaded {
			return
		}
		if s := m.sliceOf(u); s != "" && s != u.Name {
			yield(s)
		}
	}
}

// references are the units cfg refers to by its configuration (systemd's UNIT_REFERENCES):
// its dependencies, a socket's service, a service's Sockets=. The After= on the sockets
// that trigger a service, which flint's loader adds from every socket unit, are no
// reference (in systemd they are the socket's, made when the socket loads).
func references(cfg *unit.Unit) iter.Seq[string] {
	return func(yield func(string) bool) {
		s := &cfg.Unit
		for _, l := range [][]string{s.Wants, s.Requires, s.Requisite, s.BindsTo, s.PartOf, s.Upholds, s.Conflicts,
			s.Before, s.OnFailure, s.OnSuccess, s.PropagatesReloadTo, s.ReloadPropagatedFrom, s.PropagatesStopTo,
			s.StopPropagatedFrom, s.JoinsNamespaceOf} {
			for _, n := range l {
				if !yield(n) {
					return
				}
			}
		}
		for _, n := range s.After {
			if !contains(cfg.TriggeredBy, n) && !yield(n) {
				return
			}
		}
		var more []string
		if cfg.Type == unit.TypeSocket || cfg.Type == unit.TypeTimer || cfg.Type == unit.TypePath {
			more = cfg.Triggers
		}
		if cfg.Service != nil {
			more = cfg.Service.Sockets
		}
		for _, n := range more {
			if !yield(n) {
				return
			}
		}
	}
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
