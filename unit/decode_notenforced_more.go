package unit

import (
	"net/netip"
	"strconv"
	"strings"
)

// More validators for not-enforced directives, with systemd 252's warnings (found with
// the differential test against systemd-analyze verify).

// cpuSetValid parses a CPU or NUMA node list: numbers and ranges separated by blanks or ','.
func cpuSetValid(s string) bool {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		lo, hi, isRange := strings.Cut(w, "-")
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil {
			return false
		}
		if isRange {
			b, err := strconv.ParseUint(hi, 10, 32)
			if err != nil || b < a {
				return false
			}
		}
	}
	return true
}

func neCPUSet(d *decoder, e Entry, v string) {
	if e.Key == "CPUAffinity" && v == "numa" {
		return
	}
	if !cpuSetValid(v) {
		d.warn(e, "Failed to parse CPU affinity '%s'", v)
	}
}

func neNUMAMask(d *decoder, e Entry, v string) {
	if v == "all" || cpuSetValid(v) {
		return
	}
	d.warn(e, "Failed to parse CPU affinity '%s'", v)
	d.warn(e, "Failed to parse NUMA node mask, ignoring: %s", v)
}

// neAbsPathList checks "[-]PATH[:...]" words: the first path must be absolute. fatal makes
// it config_parse_unit_path_printf(fatal): one path, refused loudly.
func neAbsPathList(fatal bool) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if v == "" {
			return
		}
		words := []string{v}
		if !fatal {
			var err error
			if words, _, err = splitWords(v, exUnquote|exRelax); err != nil {
				return
			}
		}
		for _, w := range words {
			p := strings.TrimPrefix(w, "-")
			if !fatal {
				p = strings.TrimPrefix(p, "+")
				p, _, _ = strings.Cut(p, ":")
			}
			if isAbsPath(p) {
				continue
			}
			if fatal {
				d.fail(e, "%s= path is not absolute: %s", e.Key, p)
			} else {
				d.warn(e, "%s= path is not absolute, ignoring: %s", e.Key, p)
			}
			return
		}
	}
}

// neDevicePair checks "DEVICE VALUE" settings (IO*Max=, IODeviceWeight=, ...).
func neDevicePair(msg string, value func(string) bool, deprecated string) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if deprecated != "" {
			d.warn(e, "Unit uses %s=; please use %s instead. Support for %s= will be removed soon.", e.Key, deprecated, e.Key)
		}
		if v == "" {
			return
		}
		dev, val, ok := strings.Cut(v, " ")
		if !ok || dev == "" || !value(strings.TrimSpace(val)) {
			d.warn(e, msg, v)
		}
	}
}

func sizeOrInfinity(s string) bool {
	if s == "infinity" {
		return true
	}
	_, err := ParseSize(s)
	return err == nil
}

func uintIn(min, max uint64) func(string) bool {
	return func(s string) bool {
		n, err := strconv.ParseUint(s, 10, 64)
		return err == nil && n >= min && n <= max
	}
}

func neIPAddress(d *decoder, e Entry, v string) {
	for _, w := range strings.Fields(v) {
		switch w {
		case "any", "localhost", "link-local", "multicast":
			continue
		}
		if _, err := netip.ParsePrefix(w); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(w); err == nil {
			continue
		}
		d.warn(e, "Address prefix is invalid, ignoring assignment: %s", w)
	}
}

func neDeviceAllow(d *decoder, e Entry, v string) {
	if v == "" {
		return
	}
	p, _, _ := strings.Cut(v, " ")
	if strings.HasPrefix(p, "/dev/") || strings.HasPrefix(p, "char-") || strings.HasPrefix(p, "block-") || strings.HasPrefix(p, "/run/systemd/inaccessible/") {
		return
	}
	d.warn(e, "Invalid device node path '%s', ignoring.", p)
}

func neDisableControllers(d *decoder, e Entry, v string) {
	for _, w := range strings.Fields(v) {
		if !cgroupControllers[w] {
			d.warn(e, "Invalid cgroup string: %s, ignoring", w)
			return
		}
	}
}

var coredumpFilterNames = map[string]bool{"private-anonymous": true, "shared-anonymous": true,
	"private-file-backed": true, "shared-file-backed": true, "elf-headers": true, "private-huge": true,
	"shared-huge": true, "private-dax": true, "shared-dax": true, "default": true, "all": true}

func neCoredumpFilter(d *decoder, e Entry, v string) {
	for _, w := range strings.Fields(v) {
		if coredumpFilterNames[w] {
			continue
		}
		if _, err := strconv.ParseUint(strings.TrimPrefix(w, "0x"), 16, 64); err == nil {
			continue
		}
		d.warn(e, "Failed to parse the CoredumpFilter=%s, ignoring: Invalid argument", v)
		return
	}
}

var namespaceTypes = map[string]bool{"cgroup": true, "ipc": true, "net": true, "mnt": true, "pid": true, "user": true, "uts": true}

func neRestrictNamespaces(d *decoder, e Entry, v string) {
	if v == "" {
		return
	}
	if _, err := ParseBool(v); err == nil {
		return
	}
	for _, w := range strings.Fields(strings.TrimPrefix(v, "~")) {
		if !namespaceTypes[w] {
			d.warn(e, "Failed to parse namespace type string, ignoring: %s", v)
			return
		}
	}
}

func neRootHash(d *decoder, e Entry, v string) {
	if v == "" || isAbsPath(v) {
		return
	}
	if len(v)%2 == 0 && len(v) >= 32 {
		if _, err := strconv.ParseUint(v[:16], 16, 64); err == nil {
			return
		}
	}
	d.warn(e, "Failed to decode RootHash=, ignoring: %s", v)
}

func neRootHashSignature(d *decoder, e Entry, v string) {
	if v == "" || isAbsPath(v) || strings.HasPrefix(v, "base64:") {
		return
	}
	d.warn(e, "Failed to decode RootHashSignature=, not a path but doesn't start with 'base64:', ignoring: %s", v)
}

func neLogExtraFields(d *decoder, e Entry, v string) {
	words, _, err := splitWords(v, exUnquote|exCUnescape|exRelax)
	if err != nil {
		return
	}
	for _, w := range words {
		if !strings.Contains(w, "=") {
			d.warn(e, "Log field lacks '=' character, ignoring: %s", w)
		}
	}
}

func neBPFProgram(d *decoder, e Entry, v string) {
	if v == "" {
		return
	}
	typ, p, ok := strings.Cut(v, ":")
	if !ok || typ == "" || p == "" {
		d.warn(e, "Invalid syntax in BPFProgram=, ignoring: %s", v)
	}
}

func neMemoryPressureLimit(d *decoder, e Entry, v string) {
	if v == "" {
		return
	}
	if p, ok := parsePercent(v); !ok || p > 100 {
		d.warn(e, "Failed to parse memory pressure limit value, ignoring: %s", v)
	}
}

func neSecDefInfinity(d *decoder, e Entry, v string) {
	if v == "" {
		return
	}
	if _, err := ParseTimespan(v); err != nil {
		d.warn(e, "Failed to parse sec_def_infinity value, ignoring: %s", v)
	}
}

// addMoreNotEnforcedParsers adds to the parsers of notEnforcedParsers.
func addMoreNotEnforcedParsers(ps map[string]parseFunc) {
	for k, p := range map[string]parseFunc{
		"AllowedCPUs":                   neCPUSet,
		"StartupAllowedCPUs":            neCPUSet,
		"AllowedMemoryNodes":            neCPUSet,
		"StartupAllowedMemoryNodes":     neCPUSet,
		"CPUAffinity":                   neCPUSet,
		"NUMAMask":                      neNUMAMask,
		"NUMAPolicy":                    neEnum("Invalid NUMA policy type", false, "", "default", "preferred", "bind", "interleave", "local"),
		"BPFProgram":                    neBPFProgram,
		"BindPaths":                     neAbsPathList(false),
		"BindReadOnlyPaths":             neAbsPathList(false),
		"ExtensionImages":               neAbsPathList(false),
		"MountImages":                   neAbsPathList(false),
		"IPCNamespacePath":              neAbsPathList(false),
		"NetworkNamespacePath":          neAbsPathList(false),
		"IPEgressFilterPath":            neAbsPathList(false),
		"IPIngressFilterPath":           neAbsPathList(false),
		"RootImage":                     neAbsPathList(true),
		"RootVerity":                    neAbsPathList(true),
		"BlockIODeviceWeight":           neDevicePair("Invalid device node or weight specified in '%s', ignoring.", uintIn(10, 1000), "IO*= settings"),
		"IODeviceWeight":                neDevicePair("Invalid device path or weight specified in '%s', ignoring.", uintIn(1, 10000), ""),
		"IODeviceLatencyTargetSec":      neDevicePair("Invalid device path or latency specified in '%s', ignoring.", func(s string) bool { _, err := ParseTimespan(s); return err == nil }, ""),
		"IOReadBandwidthMax":            neDevicePair("Invalid device node or bandwidth specified in '%s', ignoring.", sizeOrInfinity, ""),
		"IOWriteBandwidthMax":           neDevicePair("Invalid device node or bandwidth specified in '%s', ignoring.", sizeOrInfinity, ""),
		"IOReadIOPSMax":                 neDevicePair("Invalid device node or bandwidth specified in '%s', ignoring.", sizeOrInfinity, ""),
		"IOWriteIOPSMax":                neDevicePair("Invalid device node or bandwidth specified in '%s', ignoring.", sizeOrInfinity, ""),
		"IOSchedulingPriority":          neWeight("Failed to parse IO priority", 0, 7, false),
		"IPAddressAllow":                neIPAddress,
		"IPAddressDeny":                 neIPAddress,
		"DeviceAllow":                   neDeviceAllow,
		"DisableControllers":            neDisableControllers,
		"CoredumpFilter":                neCoredumpFilter,
		"RestrictNamespaces":            neRestrictNamespaces,
		"RootHash":                      neRootHash,
		"RootHashSignature":             neRootHashSignature,
		"LogExtraFields":                neLogExtraFields,
		"MountAPIVFS":                   neTristate,
		"SetCredential":                 neCredential,
		"SetCredentialEncrypted":        neCredential,
		"SocketBindAllow":               neSocketBind,
		"SocketBindDeny":                neSocketBind,
		"SystemCallArchitectures":       neSyscallArchs,
		"SystemCallErrorNumber":         neErrno,
		"TTYRows":                       neUnsignedOrEmpty,
		"TTYColumns":                    neUnsignedOrEmpty,
		"TemporaryFileSystem":           neAbsPathList(false),
		"ManagedOOMMemoryPressureLimit": neMemoryPressureLimit,
		"CPUQuotaPeriodSec":             neSecDefInfinity,
	} {
		ps[k] = p
	}
}

func neTristate(d *decoder, e Entry, v string) {
	if v != "" {
		neBool(d, e, v)
	}
}

func neUnsignedOrEmpty(d *decoder, e Entry, v string) {
	if v != "" {
		neUnsigned(d, e, v)
	}
}

func neCredential(d *decoder, e Entry, v string) {
	if v == "" {
		return
	}
	if id, _, ok := strings.Cut(v, ":"); !ok || id == "" {
		d.warn(e, "Invalid syntax, ignoring: %s", v)
	}
}

// neSocketBind checks "any" or "[ipv4|ipv6:][tcp|udp:](any|PORT[-PORT])".
func neSocketBind(d *decoder, e Entry, v string) {
	if v == "" || v == "any" {
		return
	}
	parts := strings.Split(v, ":")
	ok := len(parts) <= 3
	if ok && len(parts) == 3 {
		ok = (parts[0] == "ipv4" || parts[0] == "ipv6") && (parts[1] == "tcp" || parts[1] == "udp")
	}
	if ok && len(parts) == 2 {
		ok = parts[0] == "ipv4" || parts[0] == "ipv6" || parts[0] == "tcp" || parts[0] == "udp"
	}
	if ok {
		port := parts[len(parts)-1]
		lo, hi, isRange := strings.Cut(port, "-")
		ok = port == "any" || uintIn(1, 65535)(lo) && (!isRange || uintIn(1, 65535)(hi))
	}
	if !ok {
		d.warn(e, "Unable to parse %s= assignment, ignoring: %s", e.Key, v)
	}
}

var seccompArchs = map[string]bool{"native": true, "x86": true, "x86-64": true, "x32": true, "arm": true,
	"arm64": true, "mips": true, "mips-le": true, "mips64": true, "mips64-le": true, "mips64-n32": true,
	"mips64-le-n32": true, "ppc": true, "ppc64": true, "ppc64-le": true, "s390": true, "s390x": true,
	"riscv64": true, "loongarch64": true, "parisc": true, "parisc64": true}

func neSyscallArchs(d *decoder, e Entry, v string) {
	for _, w := range strings.Fields(v) {
		if !seccompArchs[w] {
			d.warn(e, "Failed to parse system call architecture \"%s\", ignoring: Invalid argument", w)
			return
		}
	}
}

// neErrno accepts an errno name (E...), a number up to 4095, or kill/log.
func neErrno(d *decoder, e Entry, v string) {
	if v == "" || v == "kill" || v == "log" || uintIn(0, 4095)(v) {
		return
	}
	if len(v) > 1 && v[0] == 'E' && strings.ToUpper(v) == v {
		return
	}
	d.warn(e, "Failed to parse error number, ignoring: %s", v)
}
