package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Group is one unit's cgroup: the same relative path in each hierarchy of a layout.
type Group struct {
	L   *Layout
	Rel string // relative to flint's base, "system.slice/foo.service"
	// Skip lists v1 controllers whose hierarchies the group leaves out (systemd's controller
	// mask: a unit joins a v1 hierarchy only for a setting there); Disable those the unit
	// disabled (DisableControllers=): left out on v1, not enabled below it on cgroup2.
	Skip, Disable []string
}

// Path is the group's path as systemd's ControlGroup= shows it: from the hierarchy's root.
func (g *Group) Path() string {
	return filepath.Join("/", g.L.Tracking.Base, g.Rel)
}

// hierarchies are those the group's processes are placed in.
func (g *Group) hierarchies() []*Hierarchy {
	if len(g.Skip)+len(g.Disable) == 0 {
		return g.L.All
	}
	var out []*Hierarchy
	for _, h := range g.L.All {
		if h != g.L.Tracking && !h.V2 && slices.ContainsFunc(h.Controllers, func(c string) bool {
			return slices.Contains(g.Skip, c) || slices.Contains(g.Disable, c)
		}) {
			continue
		}
		out = append(out, h)
	}
	return out
}

// Create makes the group's directory (and its parents) in every hierarchy. On a cgroup2
// hierarchy with controllers, each new level gets the controllers enabled in its parent's
// cgroup.subtree_control, as far as the parent allows.
func (g *Group) Create() error {
	if g.L.Kind == None {
		return ErrNoCgroups
	}
	for _, h := range g.hierarchies() {
		if err := os.MkdirAll(h.Dir(g.Rel), 0o755); err != nil {
			return fmt.Errorf("cgroup %s: %w", h.Dir(g.Rel), err)
		}
		if h.V2 && len(h.Controllers) > 0 {
			g.enable(h)
		}
	}
	return nil
}

// enable turns the base's controllers on down the path to the group's parent (the group's own
// subtree_control stays empty, so that its processes may live in it).
func (g *Group) enable(h *Hierarchy) {
	var want []string
	for _, c := range h.Controllers {
		if !slices.Contains(g.Disable, c) {
			want = append(want, "+"+c)
		}
	}
	if len(want) == 0 {
		return
	}
	parts := strings.Split(g.Rel, "/")
	dir := h.Dir("")
	for i := 0; i < len(parts); i++ {
		// Errors are left: a base with processes of its own (not a namespace's root) cannot
		// enable controllers below it; the group then has tracking without control.
		os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(strings.Join(want, " ")), 0)
		dir = filepath.Join(dir, parts[i])
	}
}

// ProcsFiles lists the cgroup.procs file of the group in each hierarchy: a process writing
// "0" to each is in the group (spawn's placement before exec).
func (g *Group) ProcsFiles() []string {
	var out []string
	for _, h := range g.hierarchies() {
		out = append(out, filepath.Join(h.Dir(g.Rel), "cgroup.procs"))
	}
	return out
}

// OpenTracking opens the group's directory in the tracking hierarchy when that is cgroup2,
// for clone3's CLONE_INTO_CGROUP (the caller closes it); -1 otherwise.
func (g *Group) OpenTracking() int {
	if !g.L.Tracking.V2 {
		return -1
	}
	fd, err := syscall.Open(g.L.Tracking.Dir(g.Rel), syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
}

// Attach moves process pid into the group in every hierarchy.
func (g *Group) Attach(pid int) error {
	for _, f := range g.ProcsFiles() {
		if err := os.WriteFile(f, []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("cgroup attach %d to %s: %w", pid, f, err)
		}
	}
	return nil
}

// PIDs lists the processes in the group and the groups below it (tracking hierarchy).
func (g *Group) PIDs() ([]int, error) {
	if g.L.Kind == None {
		return nil, ErrNoCgroups
	}
	var out []int
	err := walk(g.L.Tracking.Dir(g.Rel), func(dir string) error {
		pids, err := readPIDs(filepath.Join(dir, "cgroup.procs"))
		out = append(out, pids...)
		return err
	})
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	return out, err
}

// Populated reports whether any process is in the group or below it: cgroup.events on v2,
// else a look at the cgroup.procs files.
func (g *Group) Populated() bool {
	if g.L.Tracking.V2 {
		if v, ok := readKeyed(filepath.Join(g.L.Tracking.Dir(g.Rel), "cgroup.events"), "populated"); ok {
			return v != 0
		}
	}
	pids, _ := g.PIDs()
	return len(pids) > 0
}

// EventsFile is the file whose modification says the group's population changed (cgroup2's
// cgroup.events, watched with inotify IN_MODIFY), or "" where there is none.
func (g *Group) EventsFile() string {
	if g.L.Tracking.V2 {
		return filepath.Join(g.L.Tracking.Dir(g.Rel), "cgroup.events")
	}
	return ""
}

// Remove deletes the group and the groups below it in every hierarchy, then the parents up to
// flint's base that are left empty (slices without units). A group that still has processes
// stays (EBUSY); the first error other than a missing directory is returned.
func (g *Group) Remove() error {
	if g.L.Kind == None {
		return nil
	}
	var first error
	for _, h := range g.L.All {
		dir := h.Dir(g.Rel)
		var dirs []string
		walk(dir, func(d string) error { dirs = append(dirs, d); return nil })
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := syscall.Rmdir(dirs[i]); err != nil && err != syscall.ENOENT && first == nil {
				first = fmt.Errorf("cgroup remove %s: %w", dirs[i], err)
			}
		}
		base := h.Dir("")
		for p := filepath.Dir(dir); len(p) > len(base) && strings.HasPrefix(p, base+"/"); p = filepath.Dir(p) {
			if syscall.Rmdir(p) != nil {
				break
			}
		}
	}
	return first
}

// walk calls fn for dir and every directory below it, parents first.
func walk(dir string, fn func(string) error) error {
	if err := fn(dir); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := walk(filepath.Join(dir, e.Name()), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func readPIDs(file string) ([]int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out, nil
}

// readKeyed reads "key value" lines (cgroup.events, memory.events, cpu.stat,
// memory.oom_control) and returns key's value.
func readKeyed(file, key string) (uint64, bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// readUint reads a file holding one number ("max" reads as not ok).
func readUint(file string) (uint64, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}

// Stats are a group's accounting figures; a figure the layout does not give is not Has*.
type Stats struct {
	Memory        uint64 // bytes
	HasMemory     bool
	CPUNSec       uint64
	HasCPU        bool
	Tasks         uint64
	HasTasks      bool
	OOMKills      uint64 // processes killed by the OOM killer inside the group
	HasOOM        bool
	MemoryPeak    uint64
	HasMemoryPeak bool
	// IO: bytes and operations read and written, summed over the devices (io.stat on
	// cgroup2, blkio.throttle.io_service_bytes and io_serviced on v1).
	IOReadBytes, IOWriteBytes, IOReadOps, IOWriteOps uint64
	HasIO                                            bool
}

// Stats reads the group's accounting from whichever hierarchy carries each controller.
func (g *Group) Stats() Stats {
	var s Stats
	if g.L.Kind == None {
		return s
	}
	if h := g.controller("memory"); h != nil {
		dir := h.Dir(g.Rel)
		if h.V2 {
			s.Memory, s.HasMemory = readUint(filepath.Join(dir, "memory.current"))
			s.OOMKills, s.HasOOM = readKeyed(filepath.Join(dir, "memory.events"), "oom_kill")
			s.MemoryPeak, s.HasMemoryPeak = readUint(filepath.Join(dir, "memory.peak"))
		} else {
			s.Memory, s.HasMemory = readUint(filepath.Join(dir, "memory.usage_in_bytes"))
			s.OOMKills, s.HasOOM = readKeyed(filepath.Join(dir, "memory.oom_control"), "oom_kill")
			s.MemoryPeak, s.HasMemoryPeak = readUint(filepath.Join(dir, "memory.max_usage_in_bytes"))
		}
	}
	if h := g.controller("cpu"); h != nil && h.V2 {
		if us, ok := readKeyed(filepath.Join(h.Dir(g.Rel), "cpu.stat"), "usage_usec"); ok {
			s.CPUNSec, s.HasCPU = us*1000, true
		}
	} else if h := g.controller("cpuacct"); h != nil {
		s.CPUNSec, s.HasCPU = readUint(filepath.Join(h.Dir(g.Rel), "cpuacct.usage"))
	} else if h := g.L.Tracking; h.V2 {
		// cgroup2 without the cpu controller still has cpu.stat's usage.
		if us, ok := readKeyed(filepath.Join(h.Dir(g.Rel), "cpu.stat"), "usage_usec"); ok {
			s.CPUNSec, s.HasCPU = us*1000, true
		}
	}
	if h := g.controller("io"); h != nil && h.V2 {
		s.readIOStat(filepath.Join(h.Dir(g.Rel), "io.stat"))
	} else if h := g.controller("blkio"); h != nil && !h.V2 {
		s.readBlkio(h.Dir(g.Rel))
	}
	if h := g.controller("pids"); h != nil {
		s.Tasks, s.HasTasks = readUint(filepath.Join(h.Dir(g.Rel), "pids.current"))
	} else if pids, err := g.PIDs(); err == nil {
		s.Tasks, s.HasTasks = uint64(len(pids)), true
	}
	return s
}

// PathOf is the cgroup of process pid in hierarchy h, as /proc/PID/cgroup gives it (the path
// Group.Path returns for the group holding it).
func PathOf(pid int, h *Hierarchy) (string, bool) {
	self, err := readSelf("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return "", false
	}
	if h.V2 {
		p, ok := self["0:"]
		return p, ok
	}
	for _, c := range h.Controllers {
		if p, ok := self[c]; ok {
			return p, true
		}
	}
	return "", false
}
