package manager

import "github.com/flint-init/flint/unit"

// unitMachine is the state machine of one unit type, as the job engine and the event sources
// drive it. Each type's transitions live in its files (service*.go, socket.go, timer.go,
// path.go, target.go), the table of its legal transitions in states.go; the manager (the
// host) gives them setState, the job engine, logging and, through system, processes and
// timers. Process exits, timer expiries and notifications reach a machine through the
// callbacks it armed (runControl's, spawnMain's, armTimer's).
type unitMachine interface {
	// start runs a start job (conditions checked, BindsTo= satisfied).
	start(u *Unit)
	// stop runs a stop job, in any state.
	stop(u *Unit)
	// reload runs a reload job of an active unit.
	reload(u *Unit)
	// processGone is the reap of a process of u other than its main one (a control process
	// whose state was left, an adopted orphan): a stop that waits for the unit's processes
	// may go on.
	processGone(u *Unit)
}

// machine is u's state machine: the one place that dispatches on the unit type.
func (m *Manager) machine(u *Unit) unitMachine {
	switch u.cfg.Type {
	case unit.TypeService:
		return serviceMachine{m}
	case unit.TypeSocket:
		return socketMachine{m}
	case unit.TypeTimer:
		return timerMachine{m}
	case unit.TypePath:
		return pathMachine{m}
	case unit.TypeScope:
		return scopeMachine{m}
	case "automount":
		return unsupportedMachine{m}
	}
	// Targets; and slices, mounts, swaps and devices, which flint does not manage and
	// takes as present.
	return targetMachine{m}
}

// unitStart checks what every type checks before a start, then starts u's machine.
func (m *Manager) unitStart(u *Unit) {
	if !m.checkConditions(u) {
		return
	}
	if b := m.inactiveBoundAfter(u); b != nil {
		// systemd's unit_verify_deps: the unit would be stopped at once.
		m.logUnit(u, "Bound to unit %s, but unit isn't active.", b.Name)
		if u.job != nil {
			m.finishJob(u.job, "dependency")
		}
		return
	}
	m.machine(u).start(u)
}

func (m *Manager) unitStop(u *Unit)   { m.machine(u).stop(u) }
func (m *Manager) unitReload(u *Unit) { m.machine(u).reload(u) }

// The machines. A service's: service.go (start), service_exit.go (its main process exits),
// service_stop.go (stop, restart), service_timers.go (timeouts), notify.go (sd_notify). It
// works against its host only, with the manager's process layer (serviceHost, host.go).
type serviceMachine struct{ serviceHost }

func (s serviceMachine) start(u *Unit)       { s.svcStart(u) }
func (s serviceMachine) stop(u *Unit)        { s.svcStop(u) }
func (s serviceMachine) reload(u *Unit)      { s.svcReload(u) }
func (s serviceMachine) processGone(u *Unit) { s.svcProcessGone(u) }

// socketMachine: socket.go. It works against its host only (socketHost).
type socketMachine struct{ socketHost }

func (s socketMachine) start(u *Unit) { s.sockStart(u) }
func (s socketMachine) stop(u *Unit) {
	if isInactiveOrFailed(u.activeState()) {
		s.jobCheck(u)
		return
	}
	s.sockStop(u)
}
func (s socketMachine) reload(u *Unit)    { s.setState(u, u.sub) }
func (socketMachine) processGone(u *Unit) {} // its control process's exit goes on itself

// timerMachine: timer.go. It works against its host only (host.go: timerHost).
type timerMachine struct{ timerHost }

func (t timerMachine) start(u *Unit)     { t.timerStart(u) }
func (t timerMachine) stop(u *Unit)      { t.timerStop(u) }
func (t timerMachine) reload(u *Unit)    { t.setState(u, u.sub) }
func (timerMachine) processGone(u *Unit) {}

// pathMachine: path.go. It works against its host only.
type pathMachine struct{ host }

func (p pathMachine) start(u *Unit)     { p.pathStart(u) }
func (p pathMachine) stop(u *Unit)      { p.pathStop(u) }
func (p pathMachine) reload(u *Unit)    { p.setState(u, u.sub) }
func (pathMachine) processGone(u *Unit) {}

// unsupportedMachine is a type flint does not run (docs/compatibility.md): its start job fails
// as "unsupported" rather than pretending the unit does its work.
type unsupportedMachine struct{ host }

func (x unsupportedMachine) start(u *Unit) {
	x.consolef("[UNSUPP] %s: flint does not run .%s units.", u.Name, u.cfg.Type)
	if u.job != nil {
		x.finishJob(u.job, "unsupported")
	}
}
func (x unsupportedMachine) stop(u *Unit)      { targetMachine(x).stop(u) }
func (x unsupportedMachine) reload(u *Unit)    { x.setState(u, u.sub) }
func (unsupportedMachine) processGone(u *Unit) {}

// inactiveBoundAfter returns a unit that u has BindsTo= and After= on and that is not active
// (nor reloading), or nil: u must not start then (systemd.unit(5), BindsTo=).
func (m *Manager) inactiveBoundAfter(u *Unit) *Unit {
	for _, n := range u.cfg.Unit.BindsTo {
		b := m.load(n)
		if b == u || isActiveOrReloading(b.activeState()) || !m.orderedAfter(u, b) {
			continue
		}
		return b
	}
	return nil
}

// orderedAfter reports whether u is ordered after b: u's After= names b (or an alias of it),
// or b's Before= names u.
func (m *Manager) orderedAfter(u, b *Unit) bool {
	for _, n := range u.cfg.Unit.After {
		if o, ok := m.units[n]; ok && o == b {
			return true
		}
	}
	var buf [1]*Unit
	for _, o := range m.orderIndex.before.get(u, &buf) {
		if o == b {
			return true
		}
	}
	return false
}
