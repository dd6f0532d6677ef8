package unit

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Parsers for directives flint does not enforce. Values are validated with systemd 252's
// own warnings where the syntax is simple (booleans, time spans, enumerations, paths,
// limits), so that a typo warns as it does in systemd; values with a complex syntax
// (system call filters, capabilities, device lists, ...) are accepted as written.

func neBool(d *decoder, e Entry, v string) {
	var b bool
	pBool(func(*decoder) *bool { return &b })(d, e, v)
}

func neSec(d *decoder, e Entry, v string) {
	var t time.Duration
	pSec(func(*decoder) *time.Duration { return &t }, false)(d, e, v)
}

func neMode(d *decoder, e Entry, v string) {
	if _, err := ParseMode(v); err != nil {
		d.warn(e, "Failed to parse mode value, ignoring: %s", v)
	}
}

func neUnsigned(d *decoder, e Entry, v string) {
	var n int
	pUnsigned(func(*decoder) *int { return &n })(d, e, v)
}

// nePaths is config_parse_namespace_path_strv: absolute paths, each optionally prefixed
// with '-' (ignore if missing) and '+' (relative to the root directory).
func nePaths(d *decoder, e Entry, v string) {
	d.eachWord(e, v, exUnquote, "Failed to resolve unit specifiers in %s", func(x string) {
		p := strings.TrimPrefix(x, "-")
		p = strings.TrimPrefix(p, "+")
		if !isAbsPath(p) {
			d.warn(e, "%s= path is not absolute, ignoring: %s", e.Key, p)
		}
	})
}

func neAny(d *decoder, e Entry, v string) {}

// neEnum accepts a boolean (when boolOK) or one of words; msg is systemd's warning. An
// empty value warns too, unless it is one of the words.
func neEnum(msg string, boolOK bool, words ...string) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if boolOK {
			if _, err := ParseBool(v); err == nil {
				return
			}
		}
		for _, w := range words {
			if v == w {
				return
			}
		}
		d.warn(e, "%s, ignoring: %s", msg, v)
	}
}

func neLegacy(d *decoder, e Entry, v string) {
	d.warn(e, "Support for option %s= has been removed and it is ignored", e.Key)
}

// parsePercent parses "N%" or "N.M%" (systemd's parse_permyriad/parse_percent).
func parsePercent(s string) (float64, bool) {
	n, ok := strings.CutSuffix(s, "%")
	if !ok || n == "" || strings.HasPrefix(n, "-") || strings.HasPrefix(n, "+") {
		return 0, false
	}
	f, err := strconv.ParseFloat(n, 64)
	return f, err == nil
}

func neMemory(deprecated string) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if v != "" && v != "infinity" {
			if p, ok := parsePercent(v); ok {
				if p > 100 {
					d.warn(e, "Invalid memory limit '%s', ignoring: Numerical result out of range", v)
					return
				}
			} else if _, err := ParseSize(v); err != nil {
				d.warn(e, "Invalid memory limit '%s', ignoring: Invalid argument", v)
				return
			}
		}
		if deprecated != "" {
			d.warn(e, "Unit uses %s=; please use %s= instead. Support for %s= will be removed soon.", e.Key, deprecated, e.Key)
		}
	}
}

func neTasksMax(d *decoder, e Entry, v string) {
	if v == "" || v == "infinity" {
		return
	}
	if _, ok := parsePercent(v); ok {
		return
	}
	if n, err := strconv.ParseUint(v, 10, 64); err != nil || n == 0 {
		d.warn(e, "Invalid maximum tasks value '%s', ignoring: Invalid argument", v)
	}
}

func neCPUQuota(d *decoder, e Entry, v string) {
	if v == "" {
		return
	}
	if p, ok := parsePercent(v); !ok || p <= 0 {
		d.warn(e, "Invalid CPU quota '%s', ignoring.", v)
	}
}

func neWeight(msg string, min, max uint64, idle bool) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if v == "" && msg != "Failed to parse CPU scheduling priority" || idle && v == "idle" {
			return
		}
		if n, err := strconv.ParseUint(v, 10, 64); err != nil || n < min || n > max {
			d.warn(e, "%s, ignoring: %s", msg, v)
		}
	}
}

func neCPUShares(d *decoder, e Entry, v string) {
	d.warn(e, "Unit uses %s=; please use CPUWeight= instead. Support for %s= will be removed soon.", e.Key, e.Key)
	if v == "" {
		return
	}
	if n, err := strconv.ParseUint(v, 10, 64); err != nil || n < 2 || n > 262144 {
		d.warn(e, "Invalid CPU shares, ignoring: %s", v)
	}
}

func neBlockIOBandwidth(d *decoder, e Entry, v string) {
	d.warn(e, "Unit uses %s=; please use IO*= settings instead. Support for %s= will be removed soon.", e.Key, e.Key)
	if v == "" {
		return
	}
	dev, bw, ok := strings.Cut(v, " ")
	bw = strings.TrimSpace(bw)
	if _, err := ParseSize(bw); !ok || dev == "" || err != nil {
		d.warn(e, "Invalid device node or bandwidth specified in '%s', ignoring.", v)
	}
}

func neSlice(d *decoder, e Entry, v string) {
	x, ok := d.printfMsg(e, v, "Failed to resolve unit specifiers in %s, ignoring", false)
	if !ok {
		return
	}
	if !ValidUnitName(x) {
		d.warn(e, "Failed to load slice unit %s, ignoring: Unit name %s is not valid.", x, x)
		return
	}
	if !strings.HasSuffix(x, ".slice") {
		d.warn(e, "Failed to assign slice %s to unit %s, ignoring: Invalid argument", x, d.u.Name)
	}
}

var cgroupControllers = map[string]bool{"cpu": true, "cpuacct": true, "cpuset": true, "io": true, "blkio": true,
	"memory": true, "devices": true, "pids": true, "bpf-firewall": true, "bpf-devices": true, "bpf-foreign": true,
	"bpf-socket-bind": true, "bpf-restrict-network-interfaces": true}

func neDelegate(d *decoder, e Entry, v string) {
	if v == "" {
		d.delegate = true // an empty value resets the controllers and turns delegation on
		return
	}
	if b, err := ParseBool(v); err == nil {
		d.delegate = b
		return
	}
	for _, w := range strings.Fields(v) {
		if !cgroupControllers[w] {
			d.warn(e, "Invalid controller name '%s', ignoring", w)
			return
		}
	}
	d.delegate = true // a controller list delegates
}

// addressFamilies are the names RestrictAddressFamilies= accepts; built on first use.
var addressFamilies = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(`AF_UNIX AF_LOCAL AF_INET AF_INET6 AF_NETLINK AF_PACKET AF_BLUETOOTH AF_ALG
		AF_VSOCK AF_CAN AF_APPLETALK AF_AX25 AF_IPX AF_X25 AF_ROSE AF_DECnet AF_NETBEUI AF_SECURITY AF_KEY
		AF_ROUTE AF_ASH AF_ECONET AF_ATMSVC AF_ATMPVC AF_RDS AF_SNA AF_IRDA AF_PPPOX AF_WANPIPE AF_LLC AF_IB
		AF_MPLS AF_TIPC AF_IUCV AF_RXRPC AF_ISDN AF_PHONET AF_IEEE802154 AF_CAIF AF_NFC AF_KCM AF_QIPCRTR
		AF_SMC AF_XDP AF_MCTP AF_NETROM AF_BRIDGE`) {
		m[f] = true
	}
	return m
})

func neAddressFamilies(d *decoder, e Entry, v string) {
	if v == "" || v == "none" {
		return
	}
	for _, w := range strings.Fields(strings.TrimPrefix(v, "~")) {
		if !addressFamilies()[w] {
			d.warn(e, "Failed to parse address family, ignoring: %s", w)
			return
		}
	}
}

func nePersonality(d *decoder, e Entry, v string) {
	if v == "" {
		return
	}
	ok := map[string][]string{"amd64": {"x86", "x86-64"}, "386": {"x86"}, "arm64": {"arm64", "arm64-be", "arm", "arm-be"},
		"arm": {"arm", "arm-be"}, "ppc64le": {"ppc64-le", "ppc-le"}, "s390x": {"s390x", "s390"}, "riscv64": {"riscv64"}}[runtime.GOARCH]
	for _, p := range ok {
		if v == p {
			return
		}
	}
	if ok == nil {
		return // unknown host architecture: accept
	}
	d.warn(e, "Failed to parse personality, ignoring: %s", v)
}

func neNsec(d *decoder, e Entry, v string) {
	if v == "infinity" {
		return
	}
	s := strings.TrimSuffix(strings.TrimSuffix(v, "nsec"), "ns")
	if s != v {
		if _, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64); err == nil {
			return
		}
	}
	if _, err := parseTime(v, 0.001); err != nil {
		d.warn(e, "Failed to parse nsec value, ignoring: %s", v)
	}
}

var logLevels = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "0", "1", "2", "3", "4", "5", "6", "7"}

// notEnforcedParsers returns the parsers that validate some not-enforced directives; the
// others use the parser chosen from their value type in notEnforcedDirectives. A function,
// not a package-level map: built only when the directive tables are, not at every start of
// the binary (every flint command).
func notEnforcedParsers() map[string]parseFunc {
	ps := map[string]parseFunc{
		"CPUQuota":                  neCPUQuota,
		"MemoryMin":                 neMemory(""),
		"MemoryLow":                 neMemory(""),
		"MemoryHigh":                neMemory(""),
		"MemoryMax":                 neMemory(""),
		"MemorySwapMax":             neMemory(""),
		"DefaultMemoryMin":          neMemory(""),
		"DefaultMemoryLow":          neMemory(""),
		"MemoryLimit":               neMemory("MemoryMax"),
		"TasksMax":                  neTasksMax,
		"DevicePolicy":              neEnum("Failed to parse device policy", false, "auto", "closed", "strict"),
		"CPUWeight":                 neWeight("Invalid CPU weight", 1, 10000, true),
		"StartupCPUWeight":          neWeight("Invalid CPU weight", 1, 10000, true),
		"IOWeight":                  neWeight("Invalid weight", 1, 10000, false),
		"StartupIOWeight":           neWeight("Invalid weight", 1, 10000, false),
		"BlockIOWeight":             neWeight("Invalid block IO weight", 10, 1000, false),
		"StartupBlockIOWeight":      neWeight("Invalid block IO weight", 10, 1000, false),
		"CPUShares":                 neCPUShares,
		"StartupCPUShares":          neCPUShares,
		"BlockIOReadBandwidth":      neBlockIOBandwidth,
		"BlockIOWriteBandwidth":     neBlockIOBandwidth,
		"LogLevelMax":               neEnum("Failed to parse log level", false, logLevels...),
		"SyslogLevel":               neEnum("Failed to parse log level", false, logLevels...),
		"SyslogFacility":            neEnum("Failed to parse log facility", false, "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"),
		"RestrictAddressFamilies":   neAddressFamilies,
		"Personality":               nePersonality,
		"IOSchedulingClass":         neEnum("Failed to parse IO scheduling class", false, "", "none", "realtime", "best-effort", "idle", "0", "1", "2", "3"),
		"CPUSchedulingPolicy":       neEnum("Failed to parse CPU scheduling policy", false, "", "other", "batch", "idle", "fifo", "rr"),
		"CPUSchedulingPriority":     neWeight("Failed to parse CPU scheduling priority", 0, 99, false),
		"ManagedOOMPreference":      neEnum("Failed to parse ManagedOOMPreference=", false, "none", "avoid", "omit"),
		"Slice":                     neSlice,
		"Delegate":                  neDelegate,
		"ManagedOOMSwap":            neEnum("Invalid syntax", false, "", "auto", "kill"),
		"ManagedOOMMemoryPressure":  neEnum("Invalid syntax", false, "", "auto", "kill"),
		"MountFlags":                neEnum("Failed to parse mount flag", false, "", "shared", "slave", "private"),
		"KeyringMode":               neEnum("Failed to parse keyring mode", false, "inherit", "private", "shared"),
		"UtmpMode":                  neEnum("Failed to parse utmp mode", false, "init", "login", "user"),
		"ProtectProc":               neEnum("Failed to parse /proc/ protection mode", false, "noaccess", "invisible", "ptraceable", "default"),
		"ProcSubset":                neEnum("Failed to parse /proc/ subset mode", false, "all", "pid"),
		"TimerSlackNSec":            neNsec,
		"RuntimeRandomizedExtraSec": neRuntimeExtra,
	}
	addMoreNotEnforcedParsers(ps)
	return ps
}

func registerNotEnforced() {
	parsers := notEnforcedParsers()
	for _, n := range notEnforcedDirectives {
		p := n.parse
		if o, ok := parsers[n.name]; ok {
			p = o
		}
		for _, sec := range n.sections {
			if _, ok := directiveTable[sec][n.name]; ok {
				continue
			}
			reg(sec, n.name, NotEnforced, p)
		}
	}
	// Socket units have no cgroup delegation nor OOM management of their own.
	unsupported := func(msg string) parseFunc {
		return func(d *decoder, e Entry, v string) { d.warn(e, msg, e.Key) }
	}
	reg("Socket", "Delegate", NotEnforced, unsupported("%s= setting not supported for this unit type, ignoring."))
	for _, k := range []string{"ManagedOOMMemoryPressure", "ManagedOOMMemoryPressureLimit", "ManagedOOMSwap"} {
		reg("Socket", k, NotEnforced, unsupported("%s= is not supported for this unit type, ignoring."))
	}
	// Options systemd 252 still recognizes only to say they are gone.
	reg("Unit", "IgnoreOnSnapshot", NotEnforced, neLegacy)
	reg("Service", "SysVStartPriority", NotEnforced, neLegacy)
	regBoth("Capabilities", NotEnforced, neLegacy)
}

// neRuntimeExtra is RuntimeRandomizedExtraSec=: not enforced, but Verify warns when it is
// set without RuntimeMaxSec=, as systemd does.
func neRuntimeExtra(d *decoder, e Entry, v string) {
	t, err := ParseTimespan(v)
	if err != nil {
		d.warn(e, "Failed to parse sec value, ignoring: %s", v)
		return
	}
	if d.u.Service != nil {
		d.u.Service.runtimeRandomizedExtra = t
	}
}
