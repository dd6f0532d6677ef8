package manager

import (
	"fmt"
	"os"
	"slices"

	"github.com/flint-init/flint/internal/cgroup"
	"github.com/flint-init/flint/unit"
)

// Slice units, as systemd 252 has them. A slice is a node of the cgroup tree: its group
// (a.slice/a-b.slice) holds the groups of the units and slices in it, and its [Slice]
// resource settings are written there, so that they bound everything below. A slice's
// state machine is a target's (targetMachine: active or dead, nothing runs); what makes it
// a slice is here:
//
//   - every unit with a cgroup (service, socket, slice) is in one slice: Slice=, else
//     system.slice (app.slice for --user), an instance of a template in system-PREFIX.slice
//     (app-PREFIX.slice), a slice in the slice its name nests it in (a-b-c.slice in
//     a-b.slice). Starting a unit starts its slice, and that slice's parents: systemd's
//     implicit Requires= and After= on the slice (not listed in Requires=/After= by flint;
//     see the known differences of internal/difftest).
//   - stopping a slice stops the units and slices in it (the other side of that Requires=).
//   - -.slice (flint's own cgroup) and, for the system manager, system.slice are perpetual:
//     active from the start, never stopped but at the manager's end, a stop job for them not
//     applicable (systemd's unit_job_is_applicable).
//   - a slice's group is made when the slice starts, or when a unit below it makes its own
//     (before its first process is placed), with the slice's settings; like a unit's group
//     it is kept until the manager ends (cgroup.go).
//   - on v1, the units below a slice that sets a controller's settings join that
//     controller's hierarchy, else the slice's limit would not hold them (systemd's
//     members mask).

// unitSlice is the slice the cgroup of u (a service or socket with exec context ec) is in:
// Slice=, else the default one (systemd's unit_set_default_slice).
func (m *Manager) unitSlice(u *Unit, ec *unit.ExecContext) string {
	if ec != nil && ec.Slice != "" && unit.ValidSliceName(ec.Slice) {
		return ec.Slice
	}
	prefix := "system"
	if m.opt.Scope == unit.User {
		prefix = "app"
	}
	if u != nil && u.cfg.Instance != "" && u.cfg.Prefix != "" {
		return prefix + "-" + unit.Escape(u.cfg.Prefix) + ".slice"
	}
	if prefix == "app" {
		return "app.slice" // a constant: no string built for each unit loaded
	}
	return "system.slice"
}

// sliceOf is the slice u is in, "" for -.slice and for the units without a cgroup (targets,
// timers, paths).
func (m *Manager) sliceOf(u *Unit) string {
	if u.cfg.Type == unit.TypeSlice {
		return unit.SliceParent(u.Name)
	}
	if u.cfg.Type == unit.TypeScope {
		return m.scopeSlice(u) // scope.go
	}
	if ec := execContextOf(u.cfg); ec != nil {
		return m.unitSlice(u, ec)
	}
	return ""
}

// sliceStarts is the slice a start of u pulls in: u's slice unless it is active already
// (transaction.go adds its start job as a requirement). Without cgroups a unit's slice is
// not started with it (only the perpetual ones are active).
func (m *Manager) sliceStarts(u *Unit) []string {
	if !m.cgroupsOn() {
		return nil // no groups to nest: the slices stay as they are
	}
	s := m.sliceOf(u)
	if s == "" {
		return nil
	}
	if su, ok := m.units[s]; ok && su.activeState() == Active && su.job == nil {
		return nil
	}
	return []string{s}
}

// sliceMembers are the units a stop of slice u stops: those in it that are not inactive or
// have a job (the units in a slice require it).
func (m *Manager) sliceMembers(u *Unit) []string {
	if u.cfg.Type != unit.TypeSlice {
		return nil
	}
	var out []string
	for _, o := range m.order {
		if o == u || isInactiveOrFailed(o.activeState()) && o.job == nil {
			continue
		}
		if m.sliceOf(o) == u.Name {
			out = append(out, o.Name)
		}
	}
	return out
}

// perpetual reports whether u is a perpetual slice.
func (m *Manager) perpetual(u *Unit) bool {
	return u.cfg.Type == unit.TypeSlice && unit.IsPerpetualSlice(m.opt.Scope, u.Name)
}

// perpetualStop is the transaction's check of a stop job for u: skip is true for a
// perpetual slice outside the manager's end, with systemd's error when the stop was asked
// for (by == nil), none when another job's stop propagated to it.
func (m *Manager) perpetualStop(u *Unit, typ string, by *txJob) (skip bool, err error) {
	if typ != "stop" || m.shuttingDown || !m.perpetual(u) {
		return false, nil
	}
	if by == nil {
		return true, &reqError{"not-applicable", fmt.Sprintf("Job type stop is not applicable for unit %s.", u.Name)}
	}
	return true, nil
}

// startPerpetualSlices makes the perpetual slices active as the manager starts.
func (m *Manager) startPerpetualSlices() {
	for _, n := range []string{"-.slice", "system.slice"} {
		if !unit.IsPerpetualSlice(m.opt.Scope, n) {
			continue
		}
		if u := m.load(n); u.cfg.LoadState == unit.Loaded && u.activeState() != Active {
			targetMachine{m}.start(u)
		}
	}
}

// sliceResources are a slice's settings for its group (no DefaultTasksMax=: systemd gives
// it to the other units only).
func (m *Manager) sliceResources(ec *unit.ExecContext) cgroup.Resources {
	r := m.unitResources(ec)
	if ec.TasksMax == 0 {
		r.TasksMax = 0
	}
	return r
}

// sliceGroup makes (or finds) the group of slice name and of its parents, with their
// settings; nil for -.slice (flint's own cgroup, where nothing is written) or without
// cgroups.
func (m *Manager) sliceGroup(name string) *unitGroup {
	if name == "-.slice" || name == "" || !m.cgroupsOn() {
		return nil
	}
	if ug := m.cg.groups[name]; ug != nil {
		if _, err := os.Stat(ug.g.L.Tracking.Dir(ug.g.Rel)); err == nil {
			return ug
		}
		delete(m.cg.groups, name) // removed with an emptied parent: made again below
		if ub := m.bpf.units[name]; ub != nil {
			ub.set.Close() // its programs went with the directory: attached again below
			delete(m.bpf.units, name)
		}
	}
	rel, ok := cgroup.SlicePath(name)
	if !ok {
		return nil
	}
	m.sliceGroup(unit.SliceParent(name))
	su := m.load(name)
	var ec *unit.ExecContext
	if su.cfg.Slice != nil && su.cfg.LoadState == unit.Loaded {
		ec = &su.cfg.Slice.Resources
	}
	g := &cgroup.Group{L: m.opt.Cgroups, Rel: rel}
	if ec != nil {
		g.Disable = ec.DisableControllers
	}
	if err := g.Create(); err != nil {
		m.logUnit(su, "Failed to create cgroup %s: %v", g.Path(), err)
		return nil
	}
	ug := &unitGroup{g: g, dirFD: -1, slice: true}
	if ec != nil {
		res := m.sliceResources(ec)
		if err := g.Apply(&res); err != nil {
			m.logUnit(su, "%v", err)
		}
		for _, s := range g.Unsupported(&res) {
			m.logUnit(su, "%s= not applied: the %s cgroup hierarchy has no file for it.", s, m.opt.Cgroups.Kind)
		}
		ug.tasks = res.TasksMax
	}
	if m.cg.groups == nil {
		m.cg.groups = map[string]*unitGroup{}
	}
	m.cg.groups[name] = ug
	if ec != nil {
		m.sliceBPF(su, ec) // bpf.go
	}
	return ug
}

// sliceNeeds are the v1 controllers the slices above a unit in slice name set settings of:
// the unit joins their hierarchies (skippedControllers leaves them out otherwise).
func (m *Manager) sliceNeeds(name string) []string {
	var need []string
	for s := name; s != "" && s != "-.slice"; s = unit.SliceParent(s) {
		su, ok := m.units[s]
		if !ok || su.cfg.Slice == nil {
			continue
		}
		all := []string{"blkio", "cpu", "cpuacct", "io", "memory", "pids"}
		skip := skippedControllers(&su.cfg.Slice.Resources)
		for _, c := range all {
			if !slices.Contains(skip, c) {
				need = append(need, c)
			}
		}
	}
	return need
}

// sliceStateChanged follows a slice's state: its group is made as it becomes active.
func (m *Manager) sliceStateChanged(u *Unit) {
	if u.activeState() != Active {
		return
	}
	m.sliceGroup(u.Name)
	if ub := m.bpf.units[u.Name]; ub != nil && ub.invocation != u.hs().invocationID {
		// A start counts from zero, as systemd's slice_start resets the accounting.
		ub.set.ResetIPCounters()
		ub.invocation = u.hs().invocationID
	}
}

// sliceOrderAllows applies the implicit After= of a unit on its slice to runnable: u waits
// for its slice's job as for a unit it is after (wait(o, true)), a slice for its members'
// jobs as for units it is before.
func (m *Manager) sliceOrderAllows(u *Unit, wait func(o *Unit, after bool) bool) bool {
	if s := m.sliceOf(u); s != "" {
		if su, ok := m.units[s]; ok && su.job != nil && su != u && wait(su, true) {
			return false
		}
	}
	if u.cfg.Type != unit.TypeSlice {
		return true
	}
	for _, j := range m.jobs { // the units with a job, not every unit: a shutdown asks often
		if o := j.u; o.job == j && o != u && m.sliceOf(o) == u.Name && wait(o, false) {
			return false
		}
	}
	return true
}
