package manager

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/flint-init/flint/internal/cgroup"
	"github.com/flint-init/flint/unit"
)

// Control groups (internal/cgroup). When Options.Cgroups has a layout, each service and
// socket gets its cgroup on its first process (systemd's layout: system.slice/foo.service,
// or Slice='s nesting), its resource settings are written there, and every process is
// placed before its exec (spawn.Config.CgroupProcs). The unit's processes are then what the
// cgroup lists: unitPIDs answers from it, so KillMode= reaches a daemon that left its session,
// and a stop waits until the group is empty. The group goes when the unit is inactive and it
// is empty. Without a layout nothing here acts, and session tracking (tracking.go) stays.

// cgroupState is the manager's part: the groups of the units that have one.
type cgroupState struct {
	groups map[string]*unitGroup // by unit name
}

type unitGroup struct {
	g       *cgroup.Group
	oomBase uint64 // the group's OOM kill count when it was made (a reused group's old kills)
	tasks   uint64 // TasksMax in effect
}

func (m *Manager) cgroupsOn() bool {
	return m.opt.Cgroups != nil && m.opt.Cgroups.Kind != cgroup.None
}

// unitSlice is the slice u's cgroup is in: Slice=, else system.slice (app.slice for a user
// manager, as systemd --user).
func (m *Manager) unitSlice(ec *unit.ExecContext) string {
	if ec != nil && ec.Slice != "" {
		return ec.Slice
	}
	if m.opt.Scope == unit.User {
		return "app.slice"
	}
	return "system.slice"
}

// resources maps a unit's settings to the cgroup package's, with DefaultTasksMax= for a unit
// that sets no TasksMax=.
func resources(ec *unit.ExecContext) cgroup.Resources {
	conv := func(v uint64) uint64 {
		if v == unit.Infinity {
			return cgroup.Max
		}
		return v
	}
	dev := func(ds []unit.DeviceValue) []cgroup.DeviceValue {
		var out []cgroup.DeviceValue
		for _, d := range ds {
			out = append(out, cgroup.DeviceValue{Path: d.Path, Value: conv(d.Value)})
		}
		return out
	}
	tasks := ec.TasksMax
	if tasks == 0 {
		tasks = unit.DefaultTasksMax()
	}
	return cgroup.Resources{
		MemoryMin: conv(ec.MemoryMin), MemoryLow: conv(ec.MemoryLow), MemoryHigh: conv(ec.MemoryHigh),
		MemoryMax: conv(ec.MemoryMax), MemorySwapMax: conv(ec.MemorySwapMax), MemoryLimit: conv(ec.MemoryLimit),
		TasksMax: conv(tasks), CPUWeight: ec.CPUWeight, CPUShares: ec.CPUShares,
		CPUQuotaPerSec: ec.CPUQuotaPerSec, CPUQuotaPeriod: ec.CPUQuotaPeriod,
		AllowedCPUs: ec.AllowedCPUs, AllowedMems: ec.AllowedMemoryNodes,
		IOWeight: ec.IOWeight, BlockIOWeight: ec.BlockIOWeight, IODeviceWeight: dev(ec.IODeviceWeight),
		IOReadBandwidthMax: dev(ec.IOReadBandwidthMax), IOWriteBandwidthMax: dev(ec.IOWriteBandwidthMax),
		IOReadIOPSMax: dev(ec.IOReadIOPSMax), IOWriteIOPSMax: dev(ec.IOWriteIOPSMax),
	}
}

// cgroupProcs makes u's cgroup if it has none yet and returns the cgroup.procs files its next
// process writes itself into before its exec; nil without cgroups. cr is the credentials the
// process runs with: with Delegate= the group is handed to that user, as systemd does.
func (m *Manager) cgroupProcs(u *Unit, ec *unit.ExecContext, cr *creds) []string {
	ug := m.unitGroup(u, ec)
	if ug == nil {
		return nil
	}
	if ec.Delegate && cr != nil && cr.uid != 0 {
		for _, h := range ug.g.L.All {
			dir := h.Dir(ug.g.Rel)
			for _, f := range []string{"", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"} {
				os.Lchown(filepath.Join(dir, f), int(cr.uid), int(cr.gid))
			}
		}
	}
	return ug.g.ProcsFiles()
}

func (m *Manager) unitGroup(u *Unit, ec *unit.ExecContext) *unitGroup {
	if !m.cgroupsOn() || ec == nil {
		return nil
	}
	if ug := m.cg.groups[u.Name]; ug != nil {
		return ug
	}
	rel, ok := cgroup.UnitPath(m.unitSlice(ec), u.Name)
	if !ok {
		rel, _ = cgroup.UnitPath(m.unitSlice(nil), u.Name)
	}
	g := &cgroup.Group{L: m.opt.Cgroups, Rel: rel, Skip: ec.DisableControllers}
	if err := g.Create(); err != nil {
		m.logUnit(u, "Failed to create cgroup %s: %v", g.Path(), err)
		return nil
	}
	res := resources(ec)
	if err := g.Apply(&res); err != nil {
		m.logUnit(u, "%v", err)
	}
	for _, s := range g.Unsupported(&res) {
		if s == "TasksMax" && ec.TasksMax == 0 {
			continue // only the default
		}
		m.logUnit(u, "%s= not applied: the %s cgroup hierarchy has no file for it.", s, m.opt.Cgroups.Kind)
	}
	ug := &unitGroup{g: g, oomBase: g.Stats().OOMKills, tasks: res.TasksMax}
	if m.cg.groups == nil {
		m.cg.groups = map[string]*unitGroup{}
	}
	m.cg.groups[u.Name] = ug
	return ug
}

// cgroupPIDs lists u's processes from its cgroup; ok is false when u has no group (no
// cgroups, or no process started yet), and unitPIDs then looks by session. A main process
// u watches outside its group (MAINPID= naming another unit's) is listed too.
func (m *Manager) cgroupPIDs(u *Unit) (pids []int, ok bool) {
	ug := m.cg.groups[u.Name]
	if ug == nil {
		return nil, false
	}
	pids, err := ug.g.PIDs()
	if err != nil {
		return nil, false
	}
	for _, pid := range u.watchedPIDs() {
		if !slices.Contains(pids, pid) && procAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids, true
}

// cgroupStateChanged removes u's group once u is inactive (or waits to restart) and the
// group is empty; one with processes left (KillMode=none, process) stays for the next run.
func (m *Manager) cgroupStateChanged(u *Unit, sub string) {
	ug := m.cg.groups[u.Name]
	if ug == nil || !(isInactiveOrFailed(u.activeState()) || sub == "auto-restart") {
		return
	}
	if err := ug.g.Remove(); err == nil {
		delete(m.cg.groups, u.Name)
	}
}

// cgroupOOMKilled reports whether the OOM killer killed a process of u's group since it was
// made, and says so once as systemd does.
func (m *Manager) cgroupOOMKilled(u *Unit) bool {
	ug := m.cg.groups[u.Name]
	if ug == nil {
		return false
	}
	st := ug.g.Stats()
	if !st.HasOOM || st.OOMKills <= ug.oomBase {
		return false
	}
	ug.oomBase = st.OOMKills
	m.logUnit(u, "A process of this unit has been killed by the OOM killer.")
	return true
}

// cgroupProperties puts the cgroup's runtime properties into rt, replacing what session
// tracking said: ControlGroup, Slice, MemoryCurrent, CPUUsageNSec, TasksCurrent.
func (m *Manager) cgroupProperties(u *Unit, rt []unit.Property) []unit.Property {
	ec := u.execContext()
	if !m.cgroupsOn() || ec == nil {
		return rt
	}
	set := func(n, v string) {
		for i := range rt {
			if rt[i].Name == n {
				rt[i].Value = v
				return
			}
		}
		rt = append(rt, unit.Property{Name: n, Value: v})
	}
	set("Slice", m.unitSlice(ec))
	ug := m.cg.groups[u.Name]
	if ug == nil {
		set("ControlGroup", "")
		return rt
	}
	set("ControlGroup", ug.g.Path())
	st := ug.g.Stats()
	accounting := func(p *bool) bool { return p == nil || *p }
	num := func(ok bool, v uint64) string {
		if !ok {
			return "[not set]"
		}
		return strconv.FormatUint(v, 10)
	}
	set("MemoryCurrent", num(st.HasMemory && accounting(ec.MemoryAccounting), st.Memory))
	set("CPUUsageNSec", num(st.HasCPU && accounting(ec.CPUAccounting), st.CPUNSec))
	set("TasksCurrent", num(st.HasTasks && accounting(ec.TasksAccounting), st.Tasks))
	return rt
}

// cgroupDescribe is the manager's cgroup situation in one line (logged at start).
func (m *Manager) cgroupDescribe() string {
	if m.opt.Cgroups == nil {
		return "cgroups not used: processes tracked by session"
	}
	return strings.TrimSpace(m.opt.Cgroups.Describe())
}

// cgroupOwner is the unit whose cgroup (or a group below it) holds pid, from
// /proc/PID/cgroup's line of the tracking hierarchy; nil if none.
func (m *Manager) cgroupOwner(pid int) *Unit {
	if len(m.cg.groups) == 0 {
		return nil
	}
	path, ok := cgroup.PathOf(pid, m.opt.Cgroups.Tracking)
	if !ok {
		return nil
	}
	for name, ug := range m.cg.groups {
		p := ug.g.Path()
		if path == p || strings.HasPrefix(path, p+"/") {
			return m.units[name]
		}
	}
	return nil
}
