package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Max is the value of an unset or "infinity" limit.
const Max = ^uint64(0)

// Resources are a unit's resource-control settings in the units systemd keeps them in (the
// unit package parses them; the manager passes them here). A zero field is unset.
type Resources struct {
	MemoryMin, MemoryLow     uint64 // bytes; 0 unset
	MemoryHigh, MemoryMax    uint64 // bytes; 0 unset, Max infinity
	MemorySwapMax            uint64
	MemoryLimit              uint64 // the deprecated v1 name of MemoryMax
	TasksMax                 uint64 // 0 unset, Max infinity
	CPUWeight                uint64 // 1..10000, 0 unset
	CPUShares                uint64 // 2..262144, 0 unset
	CPUQuotaPerSec           time.Duration
	CPUQuotaPeriod           time.Duration // 0: 100ms
	AllowedCPUs, AllowedMems string        // cpuset lists, "" unset
	IOWeight                 uint64        // 1..10000
	BlockIOWeight            uint64        // 10..1000
	IODeviceWeight           []DeviceValue
	IOReadBandwidthMax       []DeviceValue
	IOWriteBandwidthMax      []DeviceValue
	IOReadIOPSMax            []DeviceValue
	IOWriteIOPSMax           []DeviceValue
}

// DeviceValue is a per-device setting: a device node (resolved to major:minor when applied,
// a regular file or directory to the block device of its file system) and a number.
type DeviceValue struct {
	Path  string
	Value uint64
}

// cpuWeightToShares is systemd's cgroup_cpu_weight_to_shares: weight 100 is 1024 shares.
func cpuWeightToShares(w uint64) uint64 { return clamp(w*1024/100, 2, 262144) }

// cpuSharesToWeight is the reverse, for a CPUShares= on cgroup2.
func cpuSharesToWeight(s uint64) uint64 { return clamp(s*100/1024, 1, 10000) }

// ioWeightToBlkio is systemd's cgroup_weight_io_to_blkio: weight 100 is 500.
func ioWeightToBlkio(w uint64) uint64 { return clamp(w*500/100, 10, 1000) }

func blkioToIOWeight(w uint64) uint64 { return clamp(w*100/500, 1, 10000) }

func clamp(v, lo, hi uint64) uint64 { return min(max(v, lo), hi) }

// File is one write Apply makes: the file, relative to the group's directory of its hierarchy,
// and its content.
type File struct {
	H     *Hierarchy
	Name  string
	Value string
}

// Files lists the writes that apply r to the group's layout, as systemd maps each setting to
// cgroup2 and to v1 (cgroup_context_apply). Settings with no file in the layout (MemoryLow= on
// v1, as in systemd) are left out; Unsupported names them.
func (g *Group) Files(r *Resources) []File {
	var out []File
	add := func(h *Hierarchy, name, v string) {
		if h != nil {
			out = append(out, File{h, name, v})
		}
	}
	lim := func(v uint64, v2 bool) string {
		if v == Max {
			if v2 {
				return "max"
			}
			return "-1"
		}
		return strconv.FormatUint(v, 10)
	}
	if h := g.controller("memory"); h != nil {
		if h.V2 {
			if r.MemoryMin != 0 {
				add(h, "memory.min", lim(r.MemoryMin, true))
			}
			if r.MemoryLow != 0 {
				add(h, "memory.low", lim(r.MemoryLow, true))
			}
			if r.MemoryHigh != 0 {
				add(h, "memory.high", lim(r.MemoryHigh, true))
			}
			if max := firstSet(r.MemoryMax, r.MemoryLimit); max != 0 {
				add(h, "memory.max", lim(max, true))
			}
			if r.MemorySwapMax != 0 {
				add(h, "memory.swap.max", lim(r.MemorySwapMax, true))
			}
		} else if max := firstSet(r.MemoryMax, r.MemoryLimit); max != 0 {
			add(h, "memory.limit_in_bytes", lim(max, false))
		}
	}
	if h := g.controller("pids"); h != nil && r.TasksMax != 0 {
		add(h, "pids.max", map[bool]string{true: "max", false: strconv.FormatUint(r.TasksMax, 10)}[r.TasksMax == Max])
	}
	if h := g.controller("cpu"); h != nil {
		period := r.CPUQuotaPeriod
		if period == 0 {
			period = 100 * time.Millisecond
		}
		quota := "max"
		quotaV1 := "-1"
		if r.CPUQuotaPerSec > 0 {
			// systemd's cgroup_cpu_adjust_period_and_quota: quota at least 1 ms.
			q := max(r.CPUQuotaPerSec*period/time.Second, time.Millisecond)
			quota = strconv.FormatInt(q.Microseconds(), 10)
			quotaV1 = quota
		}
		if h.V2 {
			w := r.CPUWeight
			if w == 0 && r.CPUShares != 0 {
				w = cpuSharesToWeight(r.CPUShares)
			}
			if w != 0 {
				add(h, "cpu.weight", strconv.FormatUint(w, 10))
			}
			if r.CPUQuotaPerSec > 0 || r.CPUQuotaPeriod > 0 {
				add(h, "cpu.max", quota+" "+strconv.FormatInt(period.Microseconds(), 10))
			}
		} else {
			s := r.CPUShares
			if s == 0 && r.CPUWeight != 0 {
				s = cpuWeightToShares(r.CPUWeight)
			}
			if s != 0 {
				add(h, "cpu.shares", strconv.FormatUint(s, 10))
			}
			if r.CPUQuotaPerSec > 0 || r.CPUQuotaPeriod > 0 {
				add(h, "cpu.cfs_period_us", strconv.FormatInt(period.Microseconds(), 10))
				add(h, "cpu.cfs_quota_us", quotaV1)
			}
		}
	}
	if h := g.controller("cpuset"); h != nil && h.V2 {
		if r.AllowedCPUs != "" {
			add(h, "cpuset.cpus", r.AllowedCPUs)
		}
		if r.AllowedMems != "" {
			add(h, "cpuset.mems", r.AllowedMems)
		}
	}
	if h := g.controller("io"); h != nil && h.V2 {
		w := r.IOWeight
		if w == 0 && r.BlockIOWeight != 0 {
			w = blkioToIOWeight(r.BlockIOWeight)
		}
		if w != 0 {
			add(h, "io.weight", "default "+strconv.FormatUint(w, 10))
		}
		for _, d := range r.IODeviceWeight {
			if dev, ok := devNumber(d.Path); ok {
				add(h, "io.weight", dev+" "+strconv.FormatUint(d.Value, 10))
			}
		}
		for _, l := range []struct {
			key  string
			vals []DeviceValue
		}{{"rbps", r.IOReadBandwidthMax}, {"wbps", r.IOWriteBandwidthMax}, {"riops", r.IOReadIOPSMax}, {"wiops", r.IOWriteIOPSMax}} {
			for _, d := range l.vals {
				if dev, ok := devNumber(d.Path); ok {
					add(h, "io.max", dev+" "+l.key+"="+lim(d.Value, true))
				}
			}
		}
	} else if h := g.controller("blkio"); h != nil && !h.V2 {
		w := r.BlockIOWeight
		if w == 0 && r.IOWeight != 0 {
			w = ioWeightToBlkio(r.IOWeight)
		}
		if w != 0 {
			add(h, "blkio.weight", strconv.FormatUint(w, 10))
		}
		for _, d := range r.IODeviceWeight {
			if dev, ok := devNumber(d.Path); ok {
				add(h, "blkio.weight_device", dev+" "+strconv.FormatUint(ioWeightToBlkio(d.Value), 10))
			}
		}
		for _, l := range []struct {
			file string
			vals []DeviceValue
		}{{"blkio.throttle.read_bps_device", r.IOReadBandwidthMax}, {"blkio.throttle.write_bps_device", r.IOWriteBandwidthMax},
			{"blkio.throttle.read_iops_device", r.IOReadIOPSMax}, {"blkio.throttle.write_iops_device", r.IOWriteIOPSMax}} {
			for _, d := range l.vals {
				if dev, ok := devNumber(d.Path); ok {
					v := d.Value
					if v == Max {
						v = 0 // v1: 0 removes the limit
					}
					add(h, l.file, dev+" "+strconv.FormatUint(v, 10))
				}
			}
		}
	}
	return out
}

// Unsupported names the settings of r that the layout has no file for.
func (g *Group) Unsupported(r *Resources) []string {
	var out []string
	mem := g.controller("memory")
	if mem == nil || !mem.V2 {
		for _, s := range []struct {
			name string
			v    uint64
		}{{"MemoryMin", r.MemoryMin}, {"MemoryLow", r.MemoryLow}, {"MemoryHigh", r.MemoryHigh}, {"MemorySwapMax", r.MemorySwapMax}} {
			if s.v != 0 {
				out = append(out, s.name)
			}
		}
	}
	if mem == nil && firstSet(r.MemoryMax, r.MemoryLimit) != 0 {
		out = append(out, "MemoryMax")
	}
	if g.controller("pids") == nil && r.TasksMax != 0 {
		out = append(out, "TasksMax")
	}
	if g.controller("cpu") == nil && (r.CPUWeight != 0 || r.CPUShares != 0 || r.CPUQuotaPerSec != 0) {
		out = append(out, "CPUWeight/CPUShares/CPUQuota")
	}
	if cs := g.controller("cpuset"); (cs == nil || !cs.V2) && (r.AllowedCPUs != "" || r.AllowedMems != "") {
		out = append(out, "AllowedCPUs/AllowedMemoryNodes")
	}
	return out
}

func firstSet(vs ...uint64) uint64 {
	for _, v := range vs {
		if v != 0 {
			return v
		}
	}
	return 0
}

// controller is the hierarchy the group uses for controller c, or nil (also when the unit
// disabled it).
func (g *Group) controller(c string) *Hierarchy {
	h := g.L.Controller(c)
	if h == nil || slices.Contains(g.Disable, c) || !h.V2 && slices.Contains(g.Skip, c) {
		return nil
	}
	return h
}

// Apply writes r's files (Files) into the group; every write is tried, and the errors are
// joined in one, naming each file.
func (g *Group) Apply(r *Resources) error {
	var errs []string
	for _, f := range g.Files(r) {
		p := filepath.Join(f.H.Dir(g.Rel), f.Name)
		if err := os.WriteFile(p, []byte(f.Value), 0); err != nil {
			errs = append(errs, fmt.Sprintf("write %q to %s: %v", f.Value, p, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cgroup %s: %s", g.Rel, strings.Join(errs, "; "))
	}
	return nil
}

// devNumber is "major:minor" of a device node, or of the device holding a file or directory
// (systemd resolves a path that is not a block device to its file system's backing device).
func devNumber(path string) (string, bool) {
	var st statT
	if err := stat(path, &st); err != nil {
		return "", false
	}
	return fmt.Sprintf("%d:%d", st.major, st.minor), true
}
