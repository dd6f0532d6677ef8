package sandbox

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// capNames are the kernel's capability names by number, as systemd spells them.
var capNames = [...]string{"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid",
	"cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable", "cap_net_bind_service",
	"cap_net_broadcast", "cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner", "cap_sys_module",
	"cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot",
	"cap_sys_nice", "cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease",
	"cap_audit_write", "cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin", "cap_syslog",
	"cap_wake_alarm", "cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf", "cap_checkpoint_restore"}

// Capability numbers this package uses by name.
const (
	CapSetpcap   = 8
	CapSysModule = 16
	CapSysRawio  = 17
	CapSysAdmin  = 21
	CapSysTime   = 25
	CapMknod     = 27
	CapSyslog    = 34
	CapWakeAlarm = 35
)

// CapAll is systemd's CAP_MASK_ALL: the bounding set of a unit that does not restrict it.
const CapAll = ^uint64(0)

// CapFromName is systemd's capability_from_name: a name (any case) or a number below 64.
func CapFromName(s string) (int, bool) {
	l := strings.ToLower(s)
	for i, n := range capNames {
		if n == l {
			return i, true
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < 64 {
		return n, true
	}
	return 0, false
}

// CapName is the name of capability n, or its number when the kernel's is unnamed here.
func CapName(n int) string {
	if n >= 0 && n < len(capNames) {
		return capNames[n]
	}
	return strconv.Itoa(n)
}

// LastCap is /proc/sys/kernel/cap_last_cap (the highest capability the kernel knows).
var LastCap = sync.OnceValue(func() int {
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n < 64 {
			return n
		}
	}
	return len(capNames) - 1
})

// FormatCaps is systemd's capability_set_to_string: the names of the capabilities in set, up
// to the kernel's last, in number order, space-separated.
func FormatCaps(set uint64) string {
	var b strings.Builder
	for i := 0; i <= LastCap(); i++ {
		if set&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(CapName(i))
		}
	}
	return b.String()
}

// CapSet is the value of CapabilityBoundingSet= or AmbientCapabilities= while lines are
// parsed.
type CapSet struct {
	Mask uint64
	Set  bool // a line was parsed (else Mask is the directive's initial value)
}

// ParseCapLine applies one line of CapabilityBoundingSet= (bounding true: the initial value is
// every capability) or AmbientCapabilities= to cur, as systemd's config_parse_capability_set:
// "~" inverts; a line that names no capability, or the first line, replaces the value; other
// lines add to it (or, inverted, take away). Unknown names are ignored; bad lists the words
// it did not know.
func ParseCapLine(cur CapSet, line string, bounding bool) (next CapSet, bad []string) {
	initial := uint64(0)
	if bounding {
		initial = CapAll
	}
	if !cur.Set {
		cur.Mask = initial
	}
	invert := false
	if strings.HasPrefix(line, "~") {
		invert = true
		line = line[1:]
	}
	var sum uint64
	for _, w := range strings.Fields(line) {
		w = strings.Trim(w, `"'`)
		n, ok := CapFromName(w)
		if !ok {
			bad = append(bad, w)
			continue
		}
		sum |= 1 << n
	}
	switch {
	case sum == 0 || cur.Mask == initial:
		if invert {
			cur.Mask = ^sum
		} else {
			cur.Mask = sum
		}
	case invert:
		cur.Mask &^= sum
	default:
		cur.Mask |= sum
	}
	cur.Set = true
	return cur, bad
}
