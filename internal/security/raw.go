package security

import (
	"net/netip"
	"path"
	"strconv"
	"strings"

	"github.com/flint-init/flint/unit"
)

// rawContext reads the directives flint keeps as text, one assignment at a time and in
// file order, with the semantics of systemd 252's parsers (load-fragment.c): an empty
// assignment resets a list, '~' inverts, a bad value is ignored. Values that fail to
// parse were warned about when the unit was loaded; here they are skipped silently.
type rawContext struct {
	service bool

	bools                                map[string]bool
	ambient, bounding                    uint64
	keyringMode, protectProc, procSubset string
	notifyAccess                         string
	namespaces                           uint64
	rootImage                            string
	delegate                             bool
	devicePolicy                         string
	deviceAllow                          []string // most recent first, as systemd's list
	encryptedCreds                       bool
	archs                                []string
	syscallAllow                         bool
	syscalls                             map[string]bool // nil until the first assignment
	afAllow                              bool
	families                             map[int]bool // nil until the first assignment
	deny, allow                          []netip.Prefix
	ingress, egress                      []string
}

// the assessed boolean directives
var boolDirectives = map[string]bool{
	"LockPersonality": true, "MemoryDenyWriteExecute": true, "ProtectHostname": true,
	"PrivateDevices": true, "PrivateMounts": true, "PrivateNetwork": true, "PrivateUsers": true,
	"ProtectControlGroups": true, "ProtectKernelModules": true, "ProtectKernelTunables": true,
	"ProtectKernelLogs": true, "ProtectClock": true, "RestrictRealtime": true,
}

func newRawContext(service bool, scope unit.Scope) *rawContext {
	r := &rawContext{
		service:      service,
		bools:        map[string]bool{},
		bounding:     ^uint64(0),
		namespaces:   ^uint64(0),
		keyringMode:  "inherit",
		protectProc:  "default",
		procSubset:   "all",
		devicePolicy: "auto",
	}
	if service {
		// service_init(): services of the system manager get a private keyring
		if scope == unit.System {
			r.keyringMode = "private"
		}
		r.notifyAccess = "none"
	}
	return r
}

func (r *rawContext) apply(e unit.Entry, expand unit.Expander) {
	v := e.Value
	if boolDirectives[e.Key] {
		if b, err := unit.ParseBool(v); err == nil {
			r.bools[e.Key] = b
		}
		return
	}
	switch e.Key {
	case "CapabilityBoundingSet":
		r.bounding = capabilitySet(r.bounding, ^uint64(0), v)
	case "AmbientCapabilities":
		r.ambient = capabilitySet(r.ambient, 0, v)
	case "KeyringMode":
		r.keyringMode = enum(r.keyringMode, v, "inherit", "private", "shared")
	case "ProtectProc":
		r.protectProc = enum(r.protectProc, v, "default", "noaccess", "invisible", "ptraceable")
	case "ProcSubset":
		r.procSubset = enum(r.procSubset, v, "all", "pid")
	case "NotifyAccess":
		if r.service {
			r.notifyAccess = enum(r.notifyAccess, v, "none", "main", "exec", "all")
		}
	case "RestrictNamespaces":
		r.restrictNamespaces(v)
	case "RootImage":
		if x, err := expand(v); err == nil {
			r.rootImage = x
		}
	case "Delegate":
		if r.service {
			r.parseDelegate(v)
		}
	case "DevicePolicy":
		r.devicePolicy = enum(r.devicePolicy, v, "auto", "closed", "strict")
	case "DeviceAllow":
		r.parseDeviceAllow(v, expand)
	case "LoadCredential", "SetCredential", "LoadCredentialEncrypted", "SetCredentialEncrypted":
		if v == "" {
			r.encryptedCreds = false
		} else if strings.HasSuffix(e.Key, "Encrypted") {
			r.encryptedCreds = true
		}
	case "SystemCallArchitectures":
		r.parseArchs(v)
	case "SystemCallFilter":
		r.parseSyscallFilter(v)
	case "RestrictAddressFamilies":
		r.parseFamilies(v)
	case "IPAddressDeny":
		r.deny = parsePrefixes(r.deny, v)
	case "IPAddressAllow":
		r.allow = parsePrefixes(r.allow, v)
	case "IPIngressFilterPath":
		r.ingress = parseFilterPath(r.ingress, v, expand)
	case "IPEgressFilterPath":
		r.egress = parseFilterPath(r.egress, v, expand)
	}
}

// patch is what systemd's unit_patch_contexts() does once the unit is loaded: the
// capabilities the Protect*= and PrivateDevices= settings drop, and the devices they
// (and RootImage=, and encrypted credentials) add to the device access list.
func (r *rawContext) patch() {
	drop := func(caps ...int) {
		for _, c := range caps {
			r.bounding &^= 1 << c
		}
	}
	if r.bools["PrivateDevices"] {
		drop(capMknod, capSysRawio)
	}
	if r.bools["ProtectKernelModules"] {
		drop(capSysModule)
	}
	if r.bools["ProtectKernelLogs"] {
		drop(capSyslog)
	}
	if r.bools["ProtectClock"] {
		drop(capSysTime, capWakeAlarm)
	}
	if r.bools["PrivateDevices"] && r.devicePolicy == "auto" {
		r.devicePolicy = "closed"
	}
	if r.rootImage != "" && (r.devicePolicy != "auto" || len(r.deviceAllow) > 0) {
		for _, d := range []string{"/dev/loop-control:rw", "/dev/mapper/control:rw",
			"block-loop:rwm", "block-blkext:rwm", "block-device-mapper:rwm"} {
			r.deviceAllow = append([]string{d}, r.deviceAllow...)
		}
	}
	if r.bools["ProtectClock"] {
		r.deviceAllow = append([]string{"char-rtc:r"}, r.deviceAllow...)
	}
	if r.encryptedCreds {
		r.deviceAllow = append([]string{"/dev/tpmrm0:rw"}, r.deviceAllow...)
	}
}

// enum returns v when it is one of words, else cur.
func enum(cur, v string, words ...string) string {
	for _, w := range words {
		if v == w {
			return v
		}
	}
	return cur
}

// capabilitySet is config_parse_capability_set: a list of capabilities, '~' for all but
// them; the first assignment (or one of an empty list) replaces initial, later ones merge.
func capabilitySet(cur, initial uint64, v string) uint64 {
	invert := false
	if strings.HasPrefix(v, "~") {
		invert, v = true, v[1:]
	}
	var sum uint64
	for _, w := range words(v) {
		if c, ok := capabilityFromName(w); ok {
			sum |= 1 << c
		}
	}
	if sum == 0 || cur == initial {
		if invert {
			return ^sum
		}
		return sum
	}
	if invert {
		return cur &^ sum
	}
	return cur | sum
}

var capabilityNames = []string{
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid",
	"cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable",
	"cap_net_bind_service", "cap_net_broadcast", "cap_net_admin", "cap_net_raw",
	"cap_ipc_lock", "cap_ipc_owner", "cap_sys_module", "cap_sys_rawio", "cap_sys_chroot",
	"cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
	"cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease",
	"cap_audit_write", "cap_audit_control", "cap_setfcap", "cap_mac_override",
	"cap_mac_admin", "cap_syslog", "cap_wake_alarm", "cap_block_suspend", "cap_audit_read",
	"cap_perfmon", "cap_bpf", "cap_checkpoint_restore",
}

// capabilityFromName is capability_from_name: a name (any case) or a number below 64.
func capabilityFromName(w string) (int, bool) {
	if n, err := strconv.Atoi(w); err == nil {
		return n, n >= 0 && n < 64
	}
	lw := strings.ToLower(w)
	for i, n := range capabilityNames {
		if n == lw {
			return i, true
		}
	}
	return 0, false
}

// restrictNamespaces is config_parse_restrict_namespaces; r.namespaces holds the
// namespaces that may be created, all bits set until the first assignment.
func (r *rawContext) restrictNamespaces(v string) {
	if v == "" {
		r.namespaces = ^uint64(0)
		return
	}
	if b, err := unit.ParseBool(v); err == nil {
		if b {
			r.namespaces = 0
		} else {
			r.namespaces = nsAll
		}
		return
	}
	invert := false
	if strings.HasPrefix(v, "~") {
		invert, v = true, v[1:]
	}
	var flags uint64
	for _, w := range words(v) {
		f, ok := map[string]uint64{"cgroup": nsCgroup, "ipc": nsIPC, "net": nsNet, "mnt": nsMnt,
			"pid": nsPID, "user": nsUser, "uts": nsUTS}[w]
		if !ok {
			return // the whole assignment is refused
		}
		flags |= f
	}
	switch {
	case r.namespaces == ^uint64(0) && invert:
		r.namespaces = ^flags & nsAll
	case r.namespaces == ^uint64(0):
		r.namespaces = flags
	case invert:
		r.namespaces &^= flags
	default:
		r.namespaces |= flags
	}
}

// parseDelegate is config_parse_delegate: a boolean, or a list of controllers (which
// turns delegation on); the empty value turns it on too.
func (r *rawContext) parseDelegate(v string) {
	if v == "" {
		r.delegate = true
		return
	}
	if b, err := unit.ParseBool(v); err == nil {
		r.delegate = b
		return
	}
	r.delegate = true
}

// parseDeviceAllow is config_parse_device_allow: "PATH [rwm]"; systemd prepends each
// entry to its list.
func (r *rawContext) parseDeviceAllow(v string, expand unit.Expander) {
	if v == "" {
		r.deviceAllow = nil
		return
	}
	p, perm, _ := strings.Cut(strings.TrimLeft(v, " \t"), " ")
	perm = strings.Trim(perm, " \t")
	p, err := expand(p)
	if err != nil {
		return
	}
	valid := strings.HasPrefix(p, "block-") || strings.HasPrefix(p, "char-") ||
		(strings.HasPrefix(p, "/dev/") || strings.HasPrefix(p, "/run/systemd/inaccessible/")) && path.Clean(p) == p
	if !valid {
		return
	}
	if perm == "" {
		perm = "rwm"
	}
	var rr, w, m bool
	for _, c := range perm {
		switch c {
		case 'r':
			rr = true
		case 'w':
			w = true
		case 'm':
			m = true
		default:
			return
		}
	}
	s := ""
	if rr {
		s += "r"
	}
	if w {
		s += "w"
	}
	if m {
		s += "m"
	}
	r.deviceAllow = append([]string{p + ":" + s}, r.deviceAllow...)
}

// the architecture names of seccomp_arch_from_string
var archNames = map[string]bool{
	"native": true, "x86": true, "x86-64": true, "x32": true, "arm": true, "arm64": true,
	"loongarch64": true, "mips": true, "mips64": true, "mips64-n32": true, "mips-le": true,
	"mips64-le": true, "mips64-le-n32": true, "parisc": true, "parisc64": true, "ppc": true,
	"ppc64": true, "ppc64-le": true, "riscv64": true, "s390": true, "s390x": true,
}

// parseArchs is config_parse_syscall_archs: a set of architectures; empty resets.
func (r *rawContext) parseArchs(v string) {
	if v == "" {
		r.archs = nil
		return
	}
	for _, w := range words(v) {
		if !archNames[w] {
			continue
		}
		dup := false
		for _, a := range r.archs {
			dup = dup || a == w
		}
		if !dup {
			r.archs = append(r.archs, w)
		}
	}
}

// Address families of RestrictAddressFamilies= the assessment tells apart.
const (
	afUnix    = 1
	afInet    = 2
	afInet6   = 10
	afNetlink = 16
	afPacket  = 17
)

// addressFamilies are the names af_from_name knows (glibc 2.36's AF_* defined as PF_*).
var addressFamilies = map[string]int{
	"AF_UNIX": 1, "AF_LOCAL": 1, "AF_FILE": 1, "AF_INET": 2, "AF_AX25": 3, "AF_IPX": 4,
	"AF_APPLETALK": 5, "AF_NETROM": 6, "AF_BRIDGE": 7, "AF_ATMPVC": 8, "AF_X25": 9,
	"AF_INET6": 10, "AF_ROSE": 11, "AF_DECnet": 12, "AF_NETBEUI": 13, "AF_SECURITY": 14,
	"AF_KEY": 15, "AF_NETLINK": 16, "AF_ROUTE": 16, "AF_PACKET": 17, "AF_ASH": 18,
	"AF_ECONET": 19, "AF_ATMSVC": 20, "AF_RDS": 21, "AF_SNA": 22, "AF_IRDA": 23,
	"AF_PPPOX": 24, "AF_WANPIPE": 25, "AF_LLC": 26, "AF_IB": 27, "AF_MPLS": 28, "AF_CAN": 29,
	"AF_TIPC": 30, "AF_BLUETOOTH": 31, "AF_IUCV": 32, "AF_RXRPC": 33, "AF_ISDN": 34,
	"AF_PHONET": 35, "AF_IEEE802154": 36, "AF_CAIF": 37, "AF_ALG": 38, "AF_NFC": 39,
	"AF_VSOCK": 40, "AF_KCM": 41, "AF_QIPCRTR": 42, "AF_SMC": 43, "AF_XDP": 44, "AF_MCTP": 45,
}

// parseFamilies is config_parse_address_families.
func (r *rawContext) parseFamilies(v string) {
	switch v {
	case "":
		r.families, r.afAllow = nil, false
		return
	case "none":
		r.families, r.afAllow = map[int]bool{}, true
		return
	}
	invert := false
	if strings.HasPrefix(v, "~") {
		invert, v = true, v[1:]
	}
	if r.families == nil {
		r.families, r.afAllow = map[int]bool{}, !invert
	}
	for _, w := range words(v) {
		af, ok := addressFamilies[w]
		if !ok {
			continue
		}
		if !invert == r.afAllow {
			r.families[af] = true
		} else {
			delete(r.families, af)
		}
	}
}

// parsePrefixes is config_parse_in_addr_prefixes: addresses with an optional prefix
// length, or any, localhost, link-local, multicast; empty resets. An invalid word ends
// the assignment, the words before it kept.
func parsePrefixes(cur []netip.Prefix, v string) []netip.Prefix {
	if v == "" {
		return nil
	}
	for _, w := range words(v) {
		switch w {
		case "any":
			cur = append(cur, netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0"))
		case "localhost":
			cur = append(cur, netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"))
		case "link-local":
			cur = append(cur, netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("fe80::/64"))
		case "multicast":
			cur = append(cur, netip.MustParsePrefix("224.0.0.0/4"), netip.MustParsePrefix("ff00::/8"))
		default:
			var p netip.Prefix
			var err error
			if strings.Contains(w, "/") {
				p, err = netip.ParsePrefix(w)
			} else {
				var a netip.Addr
				if a, err = netip.ParseAddr(w); err == nil && a.Zone() == "" {
					p = netip.PrefixFrom(a, a.BitLen())
				}
			}
			if err != nil || !p.IsValid() {
				return cur
			}
			cur = append(cur, p.Masked())
		}
	}
	return cur
}

func (r *rawContext) denyAll() bool {
	v4, v6 := false, false
	for _, p := range r.deny {
		if p.Bits() == 0 {
			v4 = v4 || p.Addr().Is4()
			v6 = v6 || p.Addr().Is6()
		}
	}
	return v4 && v6
}

// allowKinds tells whether IPAddressAllow= has localhost entries and other ones
// (in_addr_is_localhost: 127.0.0.0/8, ::1).
func (r *rawContext) allowKinds() (localhost, other bool) {
	for _, p := range r.allow {
		a := p.Addr()
		if a.Is4() && a.As4()[0] == 127 || a.Is6() && a == netip.IPv6Loopback() {
			localhost = true
		} else {
			other = true
		}
	}
	return
}

func parseFilterPath(cur []string, v string, expand unit.Expander) []string {
	if v == "" {
		return nil
	}
	p, err := expand(v)
	if err != nil || !strings.HasPrefix(p, "/") {
		return cur
	}
	return append(cur, p)
}
