package show

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flint-init/flint/unit"
	"golang.org/x/sys/unix"
)

// The properties systemd 252 shows for every service and socket beyond those of what flint
// acts on: resource control, sandboxing, scheduling and logging settings, and the runtime
// counters of cgroups. Each shows systemd's default (where systemd takes it from its own
// process, flint takes it from its own: limits, timer slack, coredump filter) unless the
// unit sets a directive that changes it; then the value of that setting where flint words it
// as systemd does (booleans, enumerations, sizes, spans, numbers), and no line where it does
// not (capability sets, system call lists, percentages of memory, ...; docs/compatibility.md).

// execProp is one such property.
type execProp struct {
	name string
	def  func() string
	// changes are the directives that change it; value words the property from the last
	// value of the first one, nil when flint does not word it.
	changes []string
	value   func(v string) (string, bool)
}

func fixed(v string) func() string { return func() string { return v } }

// yesNo words a boolean setting as systemctl does.
func yesNo(v string) (string, bool) {
	b, err := unit.ParseBool(v)
	return unit.FormatBool(b), err == nil
}

// oneOf accepts the words of an enumeration (and booleans as yes/no with boolOK).
func oneOf(boolOK bool, words ...string) func(string) (string, bool) {
	return func(v string) (string, bool) {
		for _, w := range words {
			if v == w {
				return v, true
			}
		}
		if boolOK {
			return yesNo(v)
		}
		return "", false
	}
}

func unsignedIn(lo, hi uint64) func(string) (string, bool) {
	return func(v string) (string, bool) {
		n, err := strconv.ParseUint(v, 10, 64)
		return v, err == nil && n >= lo && n <= hi
	}
}

func span(v string) (string, bool) {
	if v == "infinity" {
		return v, true
	}
	d, err := unit.ParseTimespan(v)
	return unit.FormatTimespan(d), err == nil
}

// bytesOrInfinity words MemoryMax= and the like: a size in bytes or "infinity" (a
// percentage of the machine's memory is not worded).
func bytesOrInfinity(v string) (string, bool) {
	if v == "infinity" {
		return v, true
	}
	if strings.HasSuffix(v, "%") {
		return "", false
	}
	n, err := unit.ParseSize(v)
	return strconv.FormatUint(n, 10), err == nil
}

// cpuQuota words CPUQuota=N% as CPUQuotaPerSecUSec: N% of a second.
func cpuQuota(v string) (string, bool) {
	p, ok := strings.CutSuffix(v, "%")
	n, err := strconv.ParseUint(p, 10, 64)
	if !ok || err != nil || n == 0 {
		return "", false
	}
	return unit.FormatTimespan(time.Duration(n) * time.Second / 100), true
}

var syslogLevels = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

func levelNumber(v string) (int, bool) {
	for i, n := range syslogLevels {
		if v == n {
			return i, true
		}
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0 && n <= 7
}

var syslogFacilities = map[string]int{"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
	"news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23}

func facilityNumber(v string) (int, bool) {
	if n, ok := syslogFacilities[v]; ok {
		return n, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0 && n <= 23
}

func levelValue(v string) (string, bool) {
	n, ok := levelNumber(v)
	return strconv.Itoa(n), ok
}

func facilityValue(v string) (string, bool) {
	n, ok := facilityNumber(v)
	return strconv.Itoa(n), ok
}

func ioClass(v string) (string, bool) {
	for i, n := range []string{"none", "realtime", "best-effort", "idle"} {
		if v == n || v == strconv.Itoa(i) {
			return strconv.Itoa(i), true
		}
	}
	return "", false
}

func schedPolicy(v string) (string, bool) {
	for n, p := range map[string]int{"other": 0, "fifo": 1, "rr": 2, "batch": 3, "idle": 5} {
		if v == n {
			return strconv.Itoa(p), true
		}
	}
	return "", false
}

// ownDefaults are what systemd takes from its own process, flint from its own: read once.
var ownDefaults = sync.OnceValue(func() (d struct {
	timerSlack, coredumpFilter, oomScoreAdjust, nice string
	tasksMax                                         string
	cpuAccounting                                    string
	capabilities                                     string
}) {
	d.timerSlack = "50000"
	if n, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); err == nil {
		d.timerSlack = strconv.Itoa(n)
	}
	d.coredumpFilter = "0x33"
	if b, err := os.ReadFile("/proc/self/coredump_filter"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 16, 64); err == nil {
			d.coredumpFilter = fmt.Sprintf("0x%x", n)
		}
	}
	d.oomScoreAdjust = "0"
	if b, err := os.ReadFile("/proc/self/oom_score_adj"); err == nil {
		d.oomScoreAdjust = strings.TrimSpace(string(b))
	}
	d.nice = "0"
	if p, err := unix.Getpriority(unix.PRIO_PROCESS, 0); err == nil {
		d.nice = strconv.Itoa(20 - p) // the raw value of getpriority(2) is 20 - nice
	}
	d.tasksMax = strconv.FormatUint(unit.DefaultTasksMax(), 10)
	// DefaultCPUAccounting= is yes where the unified cgroup hierarchy gives CPU usage
	// without the cpu controller.
	d.cpuAccounting = "no"
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		d.cpuAccounting = "yes"
	}
	d.capabilities = capabilityNames()
	return d
})

// capabilityNames is every capability the kernel knows, as CapabilityBoundingSet= lists
// them (systemd's default bounding set is all of them).
func capabilityNames() string {
	last := 40
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			last = n
		}
	}
	names := []string{"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid", "cap_kill",
		"cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast",
		"cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner", "cap_sys_module", "cap_sys_rawio",
		"cap_sys_chroot", "cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
		"cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease", "cap_audit_write",
		"cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin", "cap_syslog", "cap_wake_alarm",
		"cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf", "cap_checkpoint_restore"}
	out := make([]string, 0, last+1)
	for i := 0; i <= last; i++ {
		if i < len(names) {
			out = append(out, names[i])
		} else {
			out = append(out, strconv.Itoa(i))
		}
	}
	return strings.Join(out, " ")
}

var execProps = []execProp{
	{"Delegate", fixed("no"), []string{"Delegate"}, yesNo},
	{"CPUAccounting", func() string { return ownDefaults().cpuAccounting }, []string{"CPUAccounting"}, yesNo},
	{"CPUWeight", fixed("[not set]"), []string{"CPUWeight"}, unsignedIn(1, 10000)},
	{"StartupCPUWeight", fixed("[not set]"), []string{"StartupCPUWeight"}, unsignedIn(1, 10000)},
	{"CPUShares", fixed("[not set]"), []string{"CPUShares"}, unsignedIn(2, 262144)},
	{"StartupCPUShares", fixed("[not set]"), []string{"StartupCPUShares"}, unsignedIn(2, 262144)},
	{"CPUQuotaPerSecUSec", fixed("infinity"), []string{"CPUQuota"}, cpuQuota},
	{"CPUQuotaPeriodUSec", fixed("infinity"), []string{"CPUQuotaPeriodSec"}, span},
	{"IOAccounting", fixed("no"), []string{"IOAccounting"}, yesNo},
	{"IOWeight", fixed("[not set]"), []string{"IOWeight"}, unsignedIn(1, 10000)},
	{"StartupIOWeight", fixed("[not set]"), []string{"StartupIOWeight"}, unsignedIn(1, 10000)},
	{"BlockIOAccounting", fixed("no"), []string{"BlockIOAccounting"}, yesNo},
	{"BlockIOWeight", fixed("[not set]"), []string{"BlockIOWeight"}, unsignedIn(10, 1000)},
	{"StartupBlockIOWeight", fixed("[not set]"), []string{"StartupBlockIOWeight"}, unsignedIn(10, 1000)},
	{"MemoryAccounting", fixed("yes"), []string{"MemoryAccounting"}, yesNo},
	{"DefaultMemoryLow", fixed("0"), []string{"DefaultMemoryLow"}, bytesOrInfinity},
	{"DefaultMemoryMin", fixed("0"), []string{"DefaultMemoryMin"}, bytesOrInfinity},
	{"MemoryMin", fixed("0"), []string{"MemoryMin"}, bytesOrInfinity},
	{"MemoryLow", fixed("0"), []string{"MemoryLow"}, bytesOrInfinity},
	{"MemoryHigh", fixed("infinity"), []string{"MemoryHigh"}, bytesOrInfinity},
	{"MemoryMax", fixed("infinity"), []string{"MemoryMax"}, bytesOrInfinity},
	{"MemorySwapMax", fixed("infinity"), []string{"MemorySwapMax"}, bytesOrInfinity},
	{"MemoryLimit", fixed("infinity"), []string{"MemoryLimit"}, bytesOrInfinity},
	{"DevicePolicy", fixed("auto"), []string{"DevicePolicy"}, oneOf(false, "auto", "closed", "strict")},
	{"TasksAccounting", fixed("yes"), []string{"TasksAccounting"}, yesNo},
	{"TasksMax", func() string { return ownDefaults().tasksMax }, []string{"TasksMax"}, func(v string) (string, bool) {
		if v == "infinity" {
			return "infinity", true
		}
		return unsignedIn(1, 1<<63)(v)
	}},
	{"IPAccounting", fixed("no"), []string{"IPAccounting"}, yesNo},
	{"ManagedOOMSwap", fixed("auto"), []string{"ManagedOOMSwap"}, oneOf(false, "auto", "kill")},
	{"ManagedOOMMemoryPressure", fixed("auto"), []string{"ManagedOOMMemoryPressure"}, oneOf(false, "auto", "kill")},
	{"ManagedOOMMemoryPressureLimit", fixed("0"), []string{"ManagedOOMMemoryPressureLimit"}, nil},
	{"ManagedOOMPreference", fixed("none"), []string{"ManagedOOMPreference"}, oneOf(false, "none", "avoid", "omit")},
	{"CoredumpFilter", func() string { return ownDefaults().coredumpFilter }, []string{"CoredumpFilter"}, nil},
	{"IOSchedulingClass", fixed("2"), []string{"IOSchedulingClass"}, ioClass},
	{"IOSchedulingPriority", fixed("4"), []string{"IOSchedulingPriority"}, unsignedIn(0, 7)},
	{"CPUSchedulingPolicy", fixed("0"), []string{"CPUSchedulingPolicy"}, schedPolicy},
	{"CPUSchedulingPriority", fixed("0"), []string{"CPUSchedulingPriority"}, unsignedIn(0, 99)},
	{"CPUAffinityFromNUMA", fixed("no"), []string{"CPUAffinity"}, nil},
	{"NUMAPolicy", fixed("n/a"), []string{"NUMAPolicy"}, nil},
	{"TimerSlackNSec", func() string { return ownDefaults().timerSlack }, []string{"TimerSlackNSec"}, nil},
	{"CPUSchedulingResetOnFork", fixed("no"), []string{"CPUSchedulingResetOnFork"}, yesNo},
	{"TTYReset", fixed("no"), []string{"TTYReset"}, yesNo},
	{"TTYVHangup", fixed("no"), []string{"TTYVHangup"}, yesNo},
	{"TTYVTDisallocate", fixed("no"), []string{"TTYVTDisallocate"}, yesNo},
	{"SyslogLevelPrefix", fixed("yes"), []string{"SyslogLevelPrefix"}, yesNo},
	{"SyslogLevel", fixed("6"), []string{"SyslogLevel"}, levelValue},
	{"SyslogFacility", fixed("3"), []string{"SyslogFacility"}, facilityValue},
	{"LogLevelMax", fixed("-1"), []string{"LogLevelMax"}, levelValue},
	{"LogRateLimitIntervalUSec", fixed("0"), []string{"LogRateLimitIntervalSec"}, span},
	{"LogRateLimitBurst", fixed("0"), []string{"LogRateLimitBurst"}, unsignedIn(0, 1<<32-1)},
	{"SecureBits", fixed("0"), []string{"SecureBits"}, nil},
	{"CapabilityBoundingSet", func() string { return ownDefaults().capabilities }, []string{"CapabilityBoundingSet"}, nil},
	{"ProtectClock", fixed("no"), []string{"ProtectClock"}, yesNo},
	{"ProtectKernelTunables", fixed("no"), []string{"ProtectKernelTunables"}, yesNo},
	{"ProtectKernelModules", fixed("no"), []string{"ProtectKernelModules"}, yesNo},
	{"ProtectKernelLogs", fixed("no"), []string{"ProtectKernelLogs"}, yesNo},
	{"ProtectControlGroups", fixed("no"), []string{"ProtectControlGroups"}, yesNo},
	{"PrivateDevices", fixed("no"), []string{"PrivateDevices"}, yesNo},
	{"PrivateNetwork", fixed("no"), []string{"PrivateNetwork"}, yesNo},
	{"PrivateUsers", fixed("no"), []string{"PrivateUsers"}, yesNo},
	{"PrivateMounts", fixed("no"), []string{"PrivateMounts"}, yesNo},
	{"PrivateIPC", fixed("no"), []string{"PrivateIPC"}, yesNo},
	{"SameProcessGroup", fixed("no"), []string{"SameProcessGroup"}, yesNo},
	{"UtmpMode", fixed("init"), []string{"UtmpMode"}, oneOf(false, "init", "login", "user")},
	{"IgnoreSIGPIPE", fixed("yes"), []string{"IgnoreSIGPIPE"}, yesNo},
	{"SystemCallErrorNumber", fixed("2147483646"), []string{"SystemCallErrorNumber"}, nil},
	{"LockPersonality", fixed("no"), []string{"LockPersonality"}, yesNo},
	{"TimeoutCleanUSec", fixed("infinity"), []string{"TimeoutCleanSec"}, span},
	{"MemoryDenyWriteExecute", fixed("no"), []string{"MemoryDenyWriteExecute"}, yesNo},
	{"RestrictRealtime", fixed("no"), []string{"RestrictRealtime"}, yesNo},
	{"RestrictNamespaces", fixed("no"), []string{"RestrictNamespaces"}, nil},
	{"MountAPIVFS", fixed("no"), []string{"MountAPIVFS", "RootImage"}, yesNo},
	{"KeyringMode", fixed("private"), []string{"KeyringMode"}, oneOf(false, "inherit", "private", "shared")},
	{"ProtectProc", fixed("default"), []string{"ProtectProc"}, oneOf(false, "noaccess", "invisible", "ptraceable", "default")},
	{"ProcSubset", fixed("all"), []string{"ProcSubset"}, oneOf(false, "all", "pid")},
	{"ProtectHostname", fixed("no"), []string{"ProtectHostname"}, yesNo},
}

// addExecProp adds ep for e: its default, the value of the directive that changes it, or
// nothing when flint does not word that value.
func (p *propList) addExecProp(ep execProp, e *unit.ExecContext) {
	for _, c := range ep.changes {
		v, ok := e.NotEnforcedValues[c]
		if !ok {
			v, ok = e.FSValue(c)
		}
		if !ok {
			continue
		}
		if c == ep.changes[0] && ep.value != nil {
			if s, ok := ep.value(v); ok {
				p.add(ep.name, s)
			}
		}
		return // changed by a setting flint does not word: no line
	}
	p.add(ep.name, ep.def())
}

// resourceProperties adds execProps and what else every service and socket shows: the
// limits in effect, Nice= and OOMScoreAdjust= when not set, the syslog priority, the
// sandboxing DynamicUser= implies, and the counters of cgroups flint does not have.
//
// loaded is false for a unit that failed to load, which systemd does not complete with its
// defaults (its limits are then the manager's own, NOFILE too).
func resourceProperties(p *propList, t unit.Type, e *unit.ExecContext, loaded bool) {
	privilegeProperties(p, e)
	for _, ep := range execProps {
		switch {
		case privilegeProps[ep.name]:
			continue
		case ep.name == "CapabilityBoundingSet" && e.CapabilityBoundingSet.Set:
			continue
		case ep.name == "MountAPIVFS" && e.RootDirectory != "":
			continue // systemd mounts the API file systems in a root directory of its own
		case ep.name == "KeyringMode" && t != unit.TypeService:
			// only services get a session keyring of their own
			ep.def = fixed("shared")
		case ep.name == "CapabilityBoundingSet":
			if _, set := e.NotEnforcedValues["CapabilityBoundingSet"]; !set {
				p.add(ep.name, boundingSet(e))
				continue
			}
		case ep.name == "DevicePolicy":
			if e.PrivateDevices {
				{
					// PrivateDevices=yes closes the device policy left at auto.
					if _, set := e.NotEnforcedValues["DevicePolicy"]; !set {
						p.add(ep.name, "closed")
						continue
					}
				}
			}
		}
		p.addExecProp(ep, e)
	}
	// The sandbox DynamicUser= implies, as the decoder left it (patchDynamicUser).
	p.bool("RemoveIPC", e.RemoveIPC)
	p.bool("PrivateTmp", e.PrivateTmp)
	p.add("ProtectSystem", e.ProtectSystem)
	p.add("ProtectHome", e.ProtectHome)
	p.bool("NoNewPrivileges", e.NoNewPrivileges)
	p.bool("RestrictSUIDSGID", e.RestrictSUIDSGID)
	lv, lok := e.NotEnforcedValues["SyslogLevel"]
	fv, fok := e.NotEnforcedValues["SyslogFacility"]
	level, facility := 6, 3
	if lok {
		level, lok = levelNumber(lv)
	}
	if fok {
		facility, fok = facilityNumber(fv)
	}
	if (lv == "" || lok) && (fv == "" || fok) {
		p.int("SyslogPriority", facility<<3|level)
	}
	if !e.NiceSet {
		p.add("Nice", ownDefaults().nice)
	}
	if !e.OOMScoreAdjustSet {
		p.add("OOMScoreAdjust", ownDefaults().oomScoreAdjust)
	}
	set := map[int]unit.Rlimit{}
	for _, r := range e.Rlimits {
		set[r.Resource] = r
	}
	for res, name := range rlimitNames {
		r, ok := set[res]
		if !ok {
			r = defaultRlimit(res, loaded)
		}
		p.add("Limit"+name, formatRlimit(r.Hard))
		p.add("Limit"+name+"Soft", formatRlimit(r.Soft))
	}
	// cgroup counters: flint keeps no cgroups. UID and GID are those of a unit's run, which
	// the manager fills in.
	p.add("UID", "[not set]")
	p.add("GID", "[not set]")
	p.add("MemoryCurrent", "[not set]")
	p.add("MemoryAvailable", "infinity")
	p.add("CPUUsageNSec", "[not set]")
	p.add("TasksCurrent", "[not set]")
	for _, n := range []string{"IPIngressBytes", "IPIngressPackets", "IPEgressBytes", "IPEgressPackets"} {
		p.add(n, "[no data]")
	}
	for _, n := range []string{"IOReadBytes", "IOReadOperations", "IOWriteBytes", "IOWriteOperations"} {
		p.add(n, "18446744073709551615")
	}
}

// capabilityDrops are the capabilities sandboxing settings take out of the bounding set
// (systemd's unit_patch_contexts).
var capabilityDrops = map[string][]string{
	"PrivateDevices":       {"cap_mknod", "cap_sys_rawio"},
	"ProtectKernelModules": {"cap_sys_module"},
	"ProtectKernelLogs":    {"cap_syslog"},
	"ProtectClock":         {"cap_sys_time", "cap_wake_alarm"},
}

// boundingSet is CapabilityBoundingSet of a unit that does not set it: every capability
// but those its sandboxing settings drop.
func boundingSet(e *unit.ExecContext) string {
	drop := map[string]bool{}
	for k, caps := range capabilityDrops {
		v, ok := e.NotEnforcedValues[k]
		if !ok {
			v = e.FSValues[k]
		}
		if b, err := unit.ParseBool(v); err == nil && b {
			for _, c := range caps {
				drop[c] = true
			}
		}
	}
	all := strings.Fields(ownDefaults().capabilities)
	keep := all[:0:0]
	for _, c := range all {
		if !drop[c] {
			keep = append(keep, c)
		}
	}
	return strings.Join(keep, " ")
}

// defaultRlimit is the limit a process of a unit without LimitX= gets: the manager's own,
// except LimitNOFILE=1024:524288 (systemd's DefaultLimitNOFILE=, below the manager's hard
// limit) for a unit that loaded.
func defaultRlimit(res int, loaded bool) unit.Rlimit {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(res, &rl); err != nil {
		return unit.Rlimit{Resource: res, Soft: unit.Infinity, Hard: unit.Infinity}
	}
	conv := func(v uint64) uint64 {
		if v == unix.RLIM_INFINITY {
			return unit.Infinity
		}
		return v
	}
	r := unit.Rlimit{Resource: res, Soft: conv(rl.Cur), Hard: conv(rl.Max)}
	if res == syscall.RLIMIT_NOFILE && loaded {
		r.Hard = min(r.Hard, 524288)
		r.Soft = min(1024, r.Hard)
	}
	return r
}

// machineDefault reports whether value is property name's default taken from the machine
// or the manager's own process (tests set such values aside: they differ between machines).
func machineDefault(name, value string) bool {
	d := ownDefaults()
	switch name {
	case "CPUAccounting":
		return value == d.cpuAccounting
	case "TasksMax":
		return value == d.tasksMax
	case "CoredumpFilter":
		return value == d.coredumpFilter
	case "TimerSlackNSec":
		return value == d.timerSlack
	case "CapabilityBoundingSet":
		return strings.HasPrefix(value, "cap_chown") // the kernel's list, or most of it
	case "Nice":
		return value == d.nice
	case "OOMScoreAdjust":
		return value == d.oomScoreAdjust
	}
	for res, n := range rlimitNames {
		r := defaultRlimit(res, true)
		switch name {
		case "Limit" + n:
			return value == formatRlimit(r.Hard)
		case "Limit" + n + "Soft":
			return value == formatRlimit(r.Soft)
		}
	}
	return false
}
