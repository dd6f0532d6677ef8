package manager

import (
	"github.com/flint-init/flint/internal/cgroup"
	"github.com/flint-init/flint/unit"
)

// The Startup*= settings (StartupCPUWeight=, StartupCPUShares=, StartupIOWeight=,
// StartupBlockIOWeight=, StartupAllowedCPUs=, StartupAllowedMemoryNodes=) are in effect,
// instead of the settings they vary, while the manager starts up (from Run until its job
// queue is first empty: systemd's MANAGER_STARTING, which ends when the boot's jobs are done)
// and while it shuts down (MANAGER_STOPPING); the groups of the units that have any are
// written again as each phase begins and ends.

// startupPhase reports whether the Startup*= settings are in effect.
func (m *Manager) startupPhase() bool { return !m.cg.booted || m.shuttingDown }

// unitResources are the settings written into a unit's group now: resources(ec), with the
// Startup*= ones in the startup and shutdown phases.
func (m *Manager) unitResources(ec *unit.ExecContext) cgroup.Resources {
	r := resources(ec)
	m.startupOverride(&r, ec)
	return r
}

func (m *Manager) startupOverride(r *cgroup.Resources, ec *unit.ExecContext) {
	s := ec.Startup
	if s == nil || !m.startupPhase() {
		return
	}
	if s.CPUWeight != 0 {
		r.CPUWeight, r.CPUShares = s.CPUWeight, 0
	}
	if s.CPUShares != 0 {
		r.CPUShares = s.CPUShares
		if s.CPUWeight == 0 {
			r.CPUWeight = 0
		}
	}
	if s.IOWeight != 0 {
		r.IOWeight, r.BlockIOWeight = s.IOWeight, 0
	}
	if s.BlockIOWeight != 0 {
		r.BlockIOWeight = s.BlockIOWeight
		if s.IOWeight == 0 {
			r.IOWeight = 0
		}
	}
	if s.AllowedCPUs != "" {
		r.AllowedCPUs = s.AllowedCPUs
	}
	if s.AllowedMemoryNodes != "" {
		r.AllowedMems = s.AllowedMemoryNodes
	}
}

// cgroupStartupFinished ends the startup phase once the boot's jobs are done (the loop asks
// while it has not ended).
func (m *Manager) cgroupStartupFinished() {
	if m.cg.booted || len(m.jobs) > 0 {
		return
	}
	m.cg.booted = true
	m.cgroupPhaseChanged()
}

// cgroupPhaseChanged writes the settings of the groups whose units have Startup*= settings
// again, as the startup phase ends or the shutdown begins.
func (m *Manager) cgroupPhaseChanged() {
	for name := range m.cg.groups {
		u := m.units[name]
		if u == nil {
			continue
		}
		if ec := execContextOf(u.cfg); ec != nil && ec.Startup != nil {
			m.cgroupReapply(u)
		}
	}
}
