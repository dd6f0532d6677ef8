package manager

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/flint-init/flint/internal/cgroup"
	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/show"
)

// Control groups (internal/cgroup). When Options.Cgroups has a layout, each service and
// socket gets its cgroup on its first process (systemd's layout: system.slice/foo.service,
// or Slice='s nesting), its resource settings are written there, and every process is
// placed before its exec (spawn.Config.CgroupProcs). The unit's processes are then what the
// cgroup lists: unitPIDs answers from it, so KillMode= reaches a daemon that left its session,
// and a stop waits until the group is empty. Without a layout nothing here acts, and session
// tracking (tracking.go) stays.
//
// Cost, which a cold socket activation would pay at every start: making a group (a directory
// in each hierarchy; a memory cgroup costs most) and removing it take 0.2-0.7 ms per
// hierarchy here, and writing a process into a group's cgroup.procs waits for an RCU grace
// period (6-25 ms on this loaded VM). So the process is cloned into its cgroup2 group
// (CLONE_INTO_CGROUP: no write), a unit joins only the v1 hierarchies its settings need
// (skippedControllers), and an inactive unit's empty group is kept (ControlGroup= shows
// none) to be used again by its next start; the groups go when the manager stops, or when a
// unit's group moves (Slice= changed).

// cgroupState is the manager's part: the groups of the units that have one.
type cgroupState struct {
	groups    map[string]*unitGroup // by unit name
	watcher   *cgroup.Watcher       // inotify on the groups' files (cgroup_events.go)
	booted    bool                  // the startup phase is over (cgroup_startup.go)
	noWatcher bool                  // inotify refused: poll
}

type unitGroup struct {
	g       *cgroup.Group
	dirFD   int       // the group's cgroup2 directory for CLONE_INTO_CGROUP, -1 if none
	oomBase uint64    // the group's OOM kill count when it was made (a reused group's old kills)
	cpuBase uint64    // the group's CPU time when the unit last started using it
	tasks   uint64    // TasksMax in effect
	idle    bool      // kept for reuse while the unit is inactive
	slice   bool      // a slice's group (slice.go)
	stopOOM func()    // ends the watch of its OOM kills (cgroup_events.go), nil if none
	ioBase  [4]uint64 // IO bytes read, written, operations read, written when the unit last started
}

func (m *Manager) cgroupsOn() bool {
	return m.opt.Cgroups != nil && m.opt.Cgroups.Kind != cgroup.None
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

// cgroupPlace makes u's cgroup if it has none yet and has cfg's process start in it: cloned
// into its cgroup2 group, and writing itself into the v1 ones before its exec. cr is the
// credentials the process runs with: with Delegate= the group is handed to that user, as
// systemd does.
func (m *Manager) cgroupPlace(u *Unit, ec *unit.ExecContext, cr *creds, cfg *spawn.Config) {
	ug := m.unitGroup(u, ec)
	if ug == nil {
		return
	}
	if ec.Delegate && cr != nil && cr.uid != 0 {
		for _, h := range ug.g.L.All {
			dir := h.Dir(ug.g.Rel)
			for _, f := range []string{"", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"} {
				os.Lchown(filepath.Join(dir, f), int(cr.uid), int(cr.gid))
			}
		}
	}
	files := ug.g.ProcsFiles() // the tracking hierarchy's first
	if ug.dirFD >= 0 {
		cfg.CgroupDirFD, cfg.CgroupDirProcs, files = ug.dirFD, files[0], files[1:]
	}
	cfg.CgroupProcs = files
}

func (m *Manager) unitGroup(u *Unit, ec *unit.ExecContext) *unitGroup {
	if !m.cgroupsOn() || ec == nil {
		return nil
	}
	slice := m.unitSlice(u, ec)
	rel, ok := cgroup.UnitPath(slice, u.Name)
	if !ok {
		slice = m.unitSlice(nil, nil)
		rel, _ = cgroup.UnitPath(slice, u.Name)
	}
	skip := skippedControllers(ec)
	if need := m.sliceNeeds(slice); len(need) > 0 {
		skip = slices.DeleteFunc(skip, func(c string) bool { return slices.Contains(need, c) })
	}
	if ug := m.cg.groups[u.Name]; ug != nil {
		if !ug.idle {
			return ug
		}
		if ug.g.Rel == rel && slices.Equal(ug.g.Skip, skip) && slices.Equal(ug.g.Disable, ec.DisableControllers) {
			// The unit starts again: its kept group, with its settings as they are now.
			ug.idle = false
			res := m.unitResources(ec)
			if err := ug.g.Apply(&res); err != nil {
				m.logUnit(u, "%v", err)
			}
			ug.tasks = res.TasksMax
			st := ug.g.Stats()
			ug.cpuBase, ug.oomBase = st.CPUNSec, st.OOMKills
			ug.ioBase = [4]uint64{st.IOReadBytes, st.IOWriteBytes, st.IOReadOps, st.IOWriteOps}
			return ug
		}
		m.removeGroup(u.Name, ug)
	}
	m.sliceGroup(slice) // its settings in place before the unit's first process
	g := &cgroup.Group{L: m.opt.Cgroups, Rel: rel, Skip: skip, Disable: ec.DisableControllers}
	if err := g.Create(); err != nil {
		m.logUnit(u, "Failed to create cgroup %s: %v", g.Path(), err)
		return nil
	}
	res := m.unitResources(ec)
	if err := g.Apply(&res); err != nil {
		m.logUnit(u, "%v", err)
	}
	for _, s := range g.Unsupported(&res) {
		if s == "TasksMax" && ec.TasksMax == 0 {
			continue // only the default
		}
		m.logUnit(u, "%s= not applied: the %s cgroup hierarchy has no file for it.", s, m.opt.Cgroups.Kind)
	}
	st := g.Stats()
	ug := &unitGroup{g: g, dirFD: g.OpenTracking(), oomBase: st.OOMKills, cpuBase: st.CPUNSec, tasks: res.TasksMax}
	if m.cg.groups == nil {
		m.cg.groups = map[string]*unitGroup{}
	}
	m.cg.groups[u.Name] = ug
	m.cgroupWatchOOM(u, ug)
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

// cgroupStateChanged marks u's group idle once u is inactive (or waits to restart): kept for
// the next start (see the cost above), with whatever processes KillMode=none or process left
// in it.
func (m *Manager) cgroupStateChanged(u *Unit, sub subState) {
	if u.cfg.Type == unit.TypeSlice {
		m.sliceStateChanged(u)
		return
	}
	if ug := m.cg.groups[u.Name]; ug != nil && (isInactiveOrFailed(u.activeState()) || sub == svcAutoRestart) {
		ug.idle = true
	}
}

// cgroupCleanup removes the units' groups (and the slices left empty) as the manager ends;
// a group that still has processes stays.
func (m *Manager) cgroupCleanup() {
	if m.cg.watcher != nil {
		m.cg.watcher.Close()
		m.cg.watcher = nil
	}
	for name, ug := range m.cg.groups {
		m.removeGroup(name, ug)
	}
}

// removeGroup removes a unit's group unless processes are left in it.
func (m *Manager) removeGroup(name string, ug *unitGroup) {
	if ug.g.Remove() != nil {
		return
	}
	if ug.stopOOM != nil {
		ug.stopOOM()
	}
	if ug.dirFD >= 0 {
		syscall.Close(ug.dirFD)
	}
	delete(m.cg.groups, name)
}

// skippedControllers are the v1 controllers whose hierarchies u's group leaves out: all but
// those a setting of the unit asks for — cpu and cpuacct for a CPU setting or
// CPUAccounting=yes, blkio for an IO setting or IOAccounting=yes, memory for a memory limit or
// MemoryAccounting=yes, pids for TasksMax= or TasksAccounting=yes. systemd joins memory and
// pids by default (its default accounting, DefaultTasksMax=); flint does not on v1, where
// each join is a write to cgroup.procs that waits for an RCU grace period (several ms on a
// busy machine, paid at every start; cgroup2 places the process at its clone). The cgroup2
// hierarchy's controllers are always the group's.
func skippedControllers(ec *unit.ExecContext) []string {
	var skip []string
	on := func(p *bool) bool { return p != nil && *p }
	st := ec.Startup
	if st == nil {
		st = &unit.StartupResources{}
	}
	if !on(ec.CPUAccounting) && ec.CPUWeight == 0 && ec.CPUShares == 0 && ec.CPUQuotaPerSec == 0 && ec.CPUQuotaPeriod == 0 &&
		st.CPUWeight == 0 && st.CPUShares == 0 {
		skip = append(skip, "cpu", "cpuacct")
	}
	if !on(ec.IOAccounting) && ec.IOWeight == 0 && ec.BlockIOWeight == 0 && st.IOWeight == 0 && st.BlockIOWeight == 0 && len(ec.IODeviceWeight)+len(ec.IOReadBandwidthMax)+
		len(ec.IOWriteBandwidthMax)+len(ec.IOReadIOPSMax)+len(ec.IOWriteIOPSMax) == 0 {
		skip = append(skip, "blkio", "io")
	}
	if !on(ec.MemoryAccounting) && ec.MemoryMax == 0 && ec.MemoryHigh == 0 && ec.MemoryLimit == 0 &&
		ec.MemoryLow == 0 && ec.MemoryMin == 0 && ec.MemorySwapMax == 0 {
		skip = append(skip, "memory")
	}
	if !on(ec.TasksAccounting) && ec.TasksMax == 0 {
		skip = append(skip, "pids")
	}
	slices.Sort(skip)
	return slices.Compact(skip)
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
func (m *Manager) cgroupProperties(u *Unit, rt []show.Property) []show.Property {
	if s := u.cfg.Service; s != nil && s.OOMPolicyDefault && m.opt.DefaultOOMPolicy != "" {
		rt = append(rt, show.Property{Name: "OOMPolicy", Value: m.oomPolicy(s)})
	}
	ec := u.execContext()
	if u.cfg.Slice != nil {
		ec = &u.cfg.Slice.Resources
	}
	if ec == nil && m.scopeRunOf(u) != nil && u.cfg.Type == unit.TypeScope {
		ec = &unit.ExecContext{} // a transient scope's settings are systemd's defaults
	}
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
		rt = append(rt, show.Property{Name: n, Value: v})
	}
	set("Slice", m.sliceOf(u))
	if u.cfg.Type == unit.TypeSlice {
		perpetual := m.perpetual(u)
		set("Perpetual", unit.FormatBool(perpetual))
		set("CanStop", unit.FormatBool(!perpetual && !u.cfg.Unit.RefuseManualStop))
		if u.Name == "-.slice" {
			set("ControlGroup", m.opt.Cgroups.Tracking.Base)
			return rt
		}
	}
	ug := m.cg.groups[u.Name]
	if ug == nil || ug.idle && !ug.g.Populated() {
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
	if st.HasMemory {
		// systemd's MemoryAvailable: what the unit's limits leave (its slices' aside).
		avail := uint64(cgroup.Max)
		for _, lim := range []uint64{ec.MemoryMax, ec.MemoryHigh, ec.MemoryLimit} {
			if lim != 0 && lim != unit.Infinity {
				avail = min(avail, lim-min(lim, st.Memory))
			}
		}
		if avail != cgroup.Max {
			set("MemoryAvailable", strconv.FormatUint(avail, 10))
		}
	}
	// DefaultCPUAccounting= is yes where cgroup2 gives the usage without the cpu controller
	// (the unified layout), as in systemd.
	cpuOn := ec.CPUAccounting != nil && *ec.CPUAccounting || ec.CPUAccounting == nil && m.opt.Cgroups.Kind == cgroup.Unified
	set("CPUUsageNSec", num(st.HasCPU && cpuOn, st.CPUNSec-min(ug.cpuBase, st.CPUNSec)))
	if ug.slice {
		// A slice's units join the v1 pids hierarchy only for a limit: count them all.
		if pids, err := ug.g.PIDs(); err == nil {
			st.Tasks, st.HasTasks = uint64(len(pids)), true
		}
	}
	set("TasksCurrent", num(st.HasTasks && accounting(ec.TasksAccounting), st.Tasks))
	if ec.IOAccounting != nil && *ec.IOAccounting && st.HasIO {
		// Since the unit's start (its kept group counts on), as systemd's io_accounting_base.
		for i, v := range []struct {
			name string
			n    uint64
		}{{"IOReadBytes", st.IOReadBytes}, {"IOWriteBytes", st.IOWriteBytes}, {"IOReadOperations", st.IOReadOps}, {"IOWriteOperations", st.IOWriteOps}} {
			set(v.name, strconv.FormatUint(v.n-min(ug.ioBase[i], v.n), 10))
		}
	}
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
	var best *Unit
	bestLen := -1
	for name, ug := range m.cg.groups {
		// The deepest group holding it: a unit's, not its slice's.
		p := ug.g.Path()
		if (path == p || strings.HasPrefix(path, p+"/")) && len(p) > bestLen {
			best, bestLen = m.units[name], len(p)
		}
	}
	return best
}

// checkResourceProperty is set-property's check of one resource assignment for u: refused
// (with systemd's message for a bad value) unless flint applies that setting.
func checkResourceProperty(u *Unit, name, value string) error {
	ec := execContextOf(u.cfg)
	if ec == nil {
		return &reqError{"not-supported", fmt.Sprintf("Cannot set property %s: unit type %s has no resource settings in flint.", name, u.cfg.Type)}
	}
	scratch := *ec
	scratch.NotEnforcedValues = maps.Clone(ec.NotEnforcedValues)
	if _, err := unit.SetResource(u.cfg.Type, &scratch, name, value); errors.Is(err, unit.ErrNotApplied) {
		return &reqError{"not-supported", fmt.Sprintf("Cannot set property %s: flint does not enforce it.", name)}
	} else if err != nil {
		return &reqError{"failed", fmt.Sprintf("Cannot set property %s=%s: %v", name, value, err)}
	}
	return nil
}

// execContextOf is the ExecContext of a service's or socket's configuration (a slice's
// resource settings), nil for other types.
func execContextOf(cfg *unit.Unit) *unit.ExecContext {
	switch {
	case cfg.Service != nil:
		return cfg.Service.Exec
	case cfg.Socket != nil:
		return cfg.Socket.Exec
	case cfg.Slice != nil:
		return &cfg.Slice.Resources
	}
	return nil
}

// copyExecConfig copies cfg with its own Service or Socket section and ExecContext, so that set-property can
// change the resource settings without touching the loader's copy.
func copyExecConfig(cfg *unit.Unit) *unit.Unit {
	c := *cfg
	if c.Service != nil {
		s := *c.Service
		e := *s.Exec // may be shared by many units (unit.shareExec)
		s.Exec = &e
		c.Service = &s
	}
	if c.Socket != nil {
		s := *c.Socket
		e := *s.Exec
		s.Exec = &e
		c.Socket = &s
	}
	if c.Slice != nil {
		s := *c.Slice
		c.Slice = &s
	}
	return &c
}

// applyResourceProperty applies a checked assignment to cfg and returns its section.
func applyResourceProperty(cfg *unit.Unit, name, value string) string {
	ec := execContextOf(cfg)
	if m := ec.NotEnforcedValues; m != nil {
		ec.NotEnforcedValues = maps.Clone(m)
	}
	if ec.Startup != nil {
		st := *ec.Startup // the loader's copy shares it
		ec.Startup = &st
	}
	for _, l := range []*[]unit.DeviceValue{&ec.IODeviceWeight, &ec.IOReadBandwidthMax, &ec.IOWriteBandwidthMax, &ec.IOReadIOPSMax, &ec.IOWriteIOPSMax} {
		*l = slices.Clip(*l) // an append makes a new array, not one the loader's copy shares
	}
	section, _ := unit.SetResource(cfg.Type, ec, name, value)
	return section
}

// cgroupReapply writes u's resource settings into its cgroup again (after set-property).
func (m *Manager) cgroupReapply(u *Unit) {
	ug := m.cg.groups[u.Name]
	ec := execContextOf(u.cfg)
	if ug == nil || ec == nil {
		return
	}
	res := m.unitResources(ec)
	if ug.slice {
		res = m.sliceResources(ec)
	}
	if err := ug.g.Apply(&res); err != nil {
		m.logUnit(u, "%v", err)
	}
	ug.tasks = res.TasksMax
	m.bpfReapply(u) // bpf.go
}

// cgroupBelow is the cgroup of pid relative to u's group ("" in the group itself, or when
// u has none): status draws a slice's tree, and a delegated unit's subgroups, from it.
func (m *Manager) cgroupBelow(u *Unit, pid int) string {
	ug := m.cg.groups[u.Name]
	if ug == nil {
		return ""
	}
	path, ok := cgroup.PathOf(pid, m.opt.Cgroups.Tracking)
	if !ok {
		return ""
	}
	rel, ok := strings.CutPrefix(path, strings.TrimSuffix(ug.g.Path(), "/")+"/")
	if !ok {
		return ""
	}
	return rel
}
