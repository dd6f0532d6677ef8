package manager

import "github.com/flint-init/flint/unit"

// The manager's life: boot (the default target's start) and shutdown (everything stopped,
// then the loop ends).

// boot starts the boot target.
func (m *Manager) boot() {
	m.releaseMemory = true
	m.startPerpetualSlices() // slice.go
	t := m.opt.Target
	u := m.load(t)
	if u.cfg.LoadState != unit.Loaded && t == "default.target" {
		m.consolef("No %s; starting sockets.target and multi-user.target.", t)
		m.enqueue("start", m.load("sockets.target"), "replace", nil)
		m.enqueue("start", m.load("multi-user.target"), "replace", nil)
		return
	}
	m.enqueue("start", u, "replace", nil)
}

// shutdown stops every unit in reverse order, sockets last, then quits.
func (m *Manager) shutdown() {
	if m.shuttingDown {
		return
	}
	m.shuttingDown = true
	m.cgroupPhaseChanged() // cgroup_startup.go: the Startup*= settings again
	// Install every stop job first, then dispatch once, so that ordering applies between all
	// of them (services before their sockets, dependents before dependencies).
	var stops []*Unit
	tx := m.newTransaction("replace-irreversibly")
	for _, u := range append([]*Unit(nil), m.order...) {
		if !isInactiveOrFailed(u.activeState()) || u.job != nil {
			if u.isService() {
				u.service().stopRequested = true
			}
			tx.addAnchor(u, "stop", nil)
			stops = append(stops, u)
		}
	}
	if err := tx.activate(); err != nil {
		// Every stop is an anchor, so an ordering cycle among the active units (a unit
		// author's After= loop) cannot be broken by dropping one: the ordered stop is
		// impossible. The manager must stop everything all the same and exit, so each unit
		// gets its stop job at once, without ordering.
		m.consolef("Shutdown transaction: %v", err)
		m.consolef("Stopping all units without ordering.")
		for _, u := range stops {
			if j := m.installJob("stop", u, "replace-irreversibly"); j != nil {
				j.ignoreOrder = true
			}
		}
	}
	m.dispatch()
	if len(stops) == 0 {
		m.finishShutdown()
		return
	}
	m.checkShutdownDone()
}

func (m *Manager) checkShutdownDone() {
	if !m.shuttingDown {
		return
	}
	// Every state change during the shutdown asks; a cursor keeps the answer linear in the
	// units overall: the scan resumes at the first unit found busy last time, and only a
	// scan that reaches the end looks at every unit again (one may have started since).
	busy := func(u *Unit) bool { return u.job != nil || !isInactiveOrFailed(u.activeState()) }
	if m.shutdownScan > len(m.order) {
		m.shutdownScan = len(m.order)
	}
	for ; m.shutdownScan < len(m.order); m.shutdownScan++ {
		if busy(m.order[m.shutdownScan]) {
			return
		}
	}
	for i, u := range m.order {
		if busy(u) {
			m.shutdownScan = i
			return
		}
	}
	for _, p := range m.procs {
		if p.u != nil {
			return
		}
	}
	m.finishShutdown()
}

func (m *Manager) finishShutdown() {
	m.quitOnce.Do(func() {
		m.allStopped = true // said as Run returns
		m.cgroupCleanup()
		close(m.quit)
	})
}
