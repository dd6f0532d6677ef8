package manager

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// The per-process settings of systemd.exec(5) that spawn makes between fork and exec
// (scheduling, affinity, memory policy, I/O priority, timer slack, core dump filter), the
// command search path, and how the output of a unit's processes is logged.

// NUMA memory policies (set_mempolicy(2)).
const (
	mpolDefault    = 0
	mpolPreferred  = 1
	mpolBind       = 2
	mpolInterleave = 3
	mpolLocal      = 4
)

var mpolModes = map[string]int{"default": mpolDefault, "preferred": mpolPreferred, "bind": mpolBind,
	"interleave": mpolInterleave, "local": mpolLocal}

// nodeDir is where the kernel lists the NUMA nodes (a variable for tests).
var nodeDir = "/sys/devices/system/node"

// processSettings is what spawn applies of ec. A setting that cannot be made before the fork
// (a NUMA policy systemd finds invalid, CPUAffinity=numa whose nodes' CPUs cannot be read)
// is the *spawn.ExecError the child would have exited with in systemd.
func processSettings(ec *unit.ExecContext) (*spawn.ProcessSettings, error) {
	p := &ec.ProcessSettings
	var ps spawn.ProcessSettings
	any := false
	if p.CoredumpFilterSet {
		v := p.CoredumpFilter
		ps.CoredumpFilter, any = &v, true
	}
	if p.CPUSchedulingSet {
		ps.Sched = &spawn.Sched{Policy: p.CPUSchedulingPolicy, Priority: p.CPUSchedulingPriority, ResetOnFork: p.CPUSchedulingResetOnFork}
		any = true
	}
	switch {
	case p.CPUAffinityFromNUMA:
		// CPUAffinity=numa: the CPUs of NUMAMask='s nodes; without a mask, none (which the
		// kernel refuses, as systemd's empty set).
		cpus, err := numaCPUs(p.NUMAMask)
		if err != nil {
			return nil, &spawn.ExecError{Status: spawn.StatusCPUAffinity, Step: "sched_setaffinity",
				Err: fmt.Errorf("failed to derive CPU affinity mask from NUMA mask: %w", err)}
		}
		ps.CPUAffinity, any = append([]uint64{}, cpus...), true
	case p.CPUAffinity != nil:
		ps.CPUAffinity, any = append([]uint64{}, p.CPUAffinity...), true
	}
	if mode, ok := numaMode(p); ok {
		// systemd's numa_policy_is_valid: a mask is needed but by default, local and
		// preferred; preferred takes one node.
		if p.NUMAMask == nil && mode != mpolDefault && mode != mpolLocal && mode != mpolPreferred ||
			p.NUMAMask != nil && mode == mpolPreferred && p.NUMAMask.Count() != 1 {
			return nil, &spawn.ExecError{Status: spawn.StatusNUMAPolicy, Step: "set_mempolicy",
				Err: fmt.Errorf("failed to set NUMA memory policy: %w", syscall.EINVAL)}
		}
		n := &spawn.NUMA{Mode: mode}
		if mode != mpolDefault && mode != mpolLocal && p.NUMAMask != nil {
			n.Nodes = append([]uint64{}, p.NUMAMask...)
		}
		ps.NUMA, any = n, true
	}
	if p.IOPrioSet {
		v := p.IOPrio
		ps.IOPrio, any = &v, true
	}
	if p.TimerSlackSet {
		v := p.TimerSlackNSec
		ps.TimerSlackNSec, any = &v, true
	}
	// StandardInput=tty: the terminal becomes the process's controlling terminal
	// (acquire_terminal; flint does not wait for one another session holds, as systemd's
	// plain tty does: it goes on without it).
	switch ec.StandardInput {
	case "tty":
		ps.ControllingTTY, any = spawn.CTTYTry, true
	case "tty-fail":
		ps.ControllingTTY, any = spawn.CTTYFail, true
	case "tty-force":
		ps.ControllingTTY, any = spawn.CTTYForce, true
	}
	if !any {
		return nil, nil
	}
	return &ps, nil
}

// numaMode is the memory policy of p (numa_policy_get_type): NUMAPolicy=, else preferred
// when only NUMAMask= is set; false: none.
func numaMode(p *unit.ProcessSettings) (int, bool) {
	if p.NUMAPolicy != "" {
		m, ok := mpolModes[p.NUMAPolicy]
		return m, ok
	}
	if p.NUMAMask != nil {
		return mpolPreferred, true
	}
	return 0, false
}

// numaCPUs is the union of the CPUs of the nodes (nodeN/cpulist).
func numaCPUs(nodes unit.CPUSet) (unit.CPUSet, error) {
	out := unit.CPUSet{}
	for i := range len(nodes) * 64 {
		if !nodes.Has(i) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(nodeDir, "node"+strconv.Itoa(i), "cpulist"))
		if err != nil {
			return nil, err
		}
		cpus, ok := unit.ParseCPUSet(strings.TrimSpace(string(b)))
		if !ok {
			return nil, fmt.Errorf("%s: bad CPU list", filepath.Join(nodeDir, "node"+strconv.Itoa(i), "cpulist"))
		}
		for c := range len(cpus) * 64 {
			if cpus.Has(c) {
				out.Add(c)
			}
		}
	}
	return out, nil
}

// resolveSearchPath finds a bare program name: in ExecSearchPath='s directories when the
// unit has any (and only there), else on systemd's fixed PATH. A name not found in
// ExecSearchPath= becomes its first directory's (so that the exec fails with 203/EXEC, or a
// '-' command is skipped, rather than a file of the working directory run).
func resolveSearchPath(p string, search []string) (string, error) {
	if len(search) == 0 || strings.Contains(p, "/") {
		return resolvePath(p)
	}
	for _, d := range search {
		c := filepath.Join(d, p)
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	return filepath.Join(search[0], p), nil
}

// logOutput is how the output lines of ec's processes are recorded; nil when every logging
// setting is systemd's default (info, daemon, "<N>" prefixes parsed, nothing dropped but by
// logs.DefaultRateLimit, no extra field).
func logOutput(ec *unit.ExecContext) *logs.Output {
	p := &ec.ProcessSettings
	noRate := !p.LogRateLimitIntervalSet && !p.LogRateLimitBurstSet
	if !p.SyslogFacilitySet && !p.SyslogLevelSet && p.SyslogLevelPrefix == nil && !p.LogLevelMaxSet && len(p.LogExtraFields) == 0 && noRate {
		return nil
	}
	facility, level := p.SyslogPriority()
	o := logs.NewOutput(facility, level, p.LevelPrefix(), p.MaxLevel(), p.LogExtraFields)
	// What the unit leaves unset, or sets to 0, is journald's default (systemd 252 passes
	// journald only values above 0: unit_export_log_ratelimit_*).
	if p.LogRateLimitIntervalSet && p.LogRateLimitInterval > 0 {
		o.Rate.Interval = p.LogRateLimitInterval
	}
	if p.LogRateLimitBurstSet && p.LogRateLimitBurst > 0 {
		o.Rate.Burst = p.LogRateLimitBurst
	}
	return o
}

// runtimeExtra is a random part of cfg's RuntimeRandomizedExtraSec=, in [0, it), drawn
// anew each time the service enters its running state (service_running_timeout).
func runtimeExtra(cfg *unit.ServiceSection) time.Duration {
	if x := cfg.RuntimeRandomizedExtra(); x > 0 && x != unit.DurationInfinity {
		return time.Duration(rand.Int64N(int64(x)))
	}
	return 0
}

// unitLogDropped reports whether LogLevelMax= of u drops the manager's message about it at
// level prio (systemd's log_unit_* check the unit's maximum level too).
func unitLogDropped(u *Unit, prio int) bool {
	if u == nil || u.cfg == nil {
		return false
	}
	ec := u.execContext()
	if ec == nil || !ec.LogLevelMaxSet {
		return false
	}
	return prio&7 > ec.LogLevelMax
}
