// Package security is `flint analyze security`: systemd 252's exposure assessment of a
// service's sandbox (systemd-analyze security), computed from a unit's configuration.
//
// Info gathers the settings the assessment looks at, from the unit's typed configuration
// where flint keeps them typed and from the directives as written otherwise (many
// sandboxing directives are validated but kept only as text by the unit package). Assess
// weighs them with systemd 252's table of assessors; Report prints the result as
// systemd-analyze does (text table or JSON), and Overview the one-line-per-unit summary.
package security

import (
	"net/netip"
	"strings"

	"github.com/flint-init/flint/unit"
)

// Capability bits (linux/capability.h) the assessment names.
const (
	capChown          = 0
	capDacOverride    = 1
	capDacReadSearch  = 2
	capFowner         = 3
	capFsetid         = 4
	capKill           = 5
	capSetgid         = 6
	capSetuid         = 7
	capSetpcap        = 8
	capLinuxImmutable = 9
	capNetBindService = 10
	capNetBroadcast   = 11
	capNetAdmin       = 12
	capNetRaw         = 13
	capIPCLock        = 14
	capIPCOwner       = 15
	capSysModule      = 16
	capSysRawio       = 17
	capSysChroot      = 18
	capSysPtrace      = 19
	capSysPacct       = 20
	capSysAdmin       = 21
	capSysBoot        = 22
	capSysNice        = 23
	capSysResource    = 24
	capSysTime        = 25
	capSysTTYConfig   = 26
	capMknod          = 27
	capLease          = 28
	capAuditWrite     = 29
	capAuditControl   = 30
	capSetfcap        = 31
	capMacOverride    = 32
	capMacAdmin       = 33
	capSyslog         = 34
	capWakeAlarm      = 35
	capBlockSuspend   = 36
	capAuditRead      = 37
	capBPF            = 39
)

// Namespace flags (CLONE_NEW*) of RestrictNamespaces=.
const (
	nsMnt    = 0x00020000
	nsCgroup = 0x02000000
	nsUTS    = 0x04000000
	nsIPC    = 0x08000000
	nsUser   = 0x10000000
	nsPID    = 0x20000000
	nsNet    = 0x40000000
	nsAll    = nsMnt | nsCgroup | nsUTS | nsIPC | nsUser | nsPID | nsNet
)

// Info is what the assessment looks at, as systemd's SecurityInfo.
type Info struct {
	ID, Type, FragmentPath string
	DefaultDependencies    bool

	AmbientCapabilities, CapabilityBoundingSet uint64

	User                string
	SupplementaryGroups []string
	DynamicUser         bool

	IPAddressDenyAll, IPAddressAllowLocalhost, IPAddressAllowOther bool
	IPFiltersCustomIngress, IPFiltersCustomEgress                  bool

	KeyringMode, ProtectProc, ProcSubset, NotifyAccess string // "" when the unit type has none
	LockPersonality, MemoryDenyWriteExecute            bool
	NoNewPrivileges, ProtectHostname                   bool

	PrivateDevices, PrivateMounts, PrivateNetwork, PrivateTmp, PrivateUsers bool

	ProtectControlGroups, ProtectKernelModules, ProtectKernelTunables bool
	ProtectKernelLogs, ProtectClock                                   bool
	ProtectHome, ProtectSystem                                        string // "" when the unit type has none

	RemoveIPC bool

	// RestrictAF* are true when the family cannot be allocated.
	RestrictAFInet, RestrictAFUnix, RestrictAFNetlink, RestrictAFPacket, RestrictAFOther bool

	RestrictNamespaces                 uint64 // the namespaces that may be created
	RestrictRealtime, RestrictSUIDSGID bool

	RootDirectory, RootImage string

	Delegate     bool
	DevicePolicy string
	DeviceAllow  []string // "path:rwm", in systemd's list order

	SystemCallArchitectures []string
	SystemCallFilterAllow   bool
	SystemCallFilter        map[string]bool

	UMask uint32

	allow []netip.Prefix // IPAddressAllow=, for ManagerView
}

// newInfo is an Info with systemd's initial values (security_info_new).
func newInfo() *Info {
	return &Info{
		DefaultDependencies:   true,
		CapabilityBoundingSet: ^uint64(0),
		RestrictNamespaces:    ^uint64(0),
		UMask:                 0o002,
	}
}

// FromUnit gathers the Info of a loaded unit. files are the files it was loaded from
// (Loader.SourceFiles), expand expands specifiers in a value (Loader.Expander), and scope
// is the manager's (its services' keyring defaults differ).
func FromUnit(u *unit.Unit, files []*unit.File, expand unit.Expander, scope unit.Scope) *Info {
	info := newInfo()
	info.ID = u.Name
	info.Type = string(u.Type)
	info.FragmentPath = u.FragmentPath
	info.DefaultDependencies = u.Unit.DefaultDependencies

	var c *unit.ExecContext
	section := ""
	switch {
	case u.Service != nil:
		c, section = u.Service.Exec, "Service"
	case u.Socket != nil:
		c, section = u.Socket.Exec, "Socket"
	default:
		return info
	}
	r := newRawContext(u.Type == unit.TypeService, scope)
	for _, f := range files {
		for _, s := range f.Sections {
			if s.Name != section {
				continue
			}
			for _, e := range s.Entries {
				r.apply(e, expand)
			}
		}
	}
	r.patch()

	// settings the unit package keeps typed (DynamicUser='s implications applied)
	info.User = c.User
	info.SupplementaryGroups = c.SupplementaryGroups
	info.DynamicUser = c.DynamicUser
	info.NoNewPrivileges = c.NoNewPrivileges
	info.RemoveIPC = c.RemoveIPC
	info.PrivateTmp = c.PrivateTmp
	info.RestrictSUIDSGID = c.RestrictSUIDSGID
	info.ProtectSystem = c.ProtectSystem
	info.ProtectHome = c.ProtectHome
	info.RootDirectory = c.RootDirectory
	info.UMask = uint32(c.UMask.Perm())

	// settings read from the directives as written
	info.AmbientCapabilities = r.ambient
	info.CapabilityBoundingSet = r.bounding
	info.KeyringMode = r.keyringMode
	info.ProtectProc = r.protectProc
	info.ProcSubset = r.procSubset
	info.NotifyAccess = r.notifyAccess
	info.LockPersonality = r.bools["LockPersonality"]
	info.MemoryDenyWriteExecute = r.bools["MemoryDenyWriteExecute"]
	info.ProtectHostname = r.bools["ProtectHostname"]
	info.PrivateDevices = r.bools["PrivateDevices"]
	info.PrivateMounts = r.bools["PrivateMounts"]
	info.PrivateNetwork = r.bools["PrivateNetwork"]
	info.PrivateUsers = r.bools["PrivateUsers"]
	info.ProtectControlGroups = r.bools["ProtectControlGroups"]
	info.ProtectKernelModules = r.bools["ProtectKernelModules"]
	info.ProtectKernelTunables = r.bools["ProtectKernelTunables"]
	info.ProtectKernelLogs = r.bools["ProtectKernelLogs"]
	info.ProtectClock = r.bools["ProtectClock"]
	info.RestrictRealtime = r.bools["RestrictRealtime"]
	info.RestrictNamespaces = r.namespaces
	info.RootImage = r.rootImage
	info.Delegate = r.delegate
	info.DevicePolicy = r.devicePolicy
	info.DeviceAllow = r.deviceAllow
	info.SystemCallArchitectures = r.archs
	info.SystemCallFilterAllow = r.syscallAllow
	info.SystemCallFilter = r.syscallNames()
	info.IPAddressDenyAll = r.denyAll()
	info.IPAddressAllowLocalhost, info.IPAddressAllowOther = r.allowKinds()
	info.allow = r.allow
	info.IPFiltersCustomIngress = len(r.ingress) > 0
	info.IPFiltersCustomEgress = len(r.egress) > 0

	// the address families: an allow list leaves every family restricted but the listed
	// ones, a deny list restricts the listed ones
	allow := r.afAllow
	info.RestrictAFInet, info.RestrictAFUnix, info.RestrictAFNetlink = allow, allow, allow
	info.RestrictAFPacket, info.RestrictAFOther = allow, allow
	for af := range r.families {
		switch af {
		case afInet, afInet6:
			info.RestrictAFInet = !allow
		case afUnix:
			info.RestrictAFUnix = !allow
		case afNetlink:
			info.RestrictAFNetlink = !allow
		case afPacket:
			info.RestrictAFPacket = !allow
		default:
			info.RestrictAFOther = !allow
		}
	}
	return info
}

// words splits a value at whitespace, honouring "..." and '...' quoting.
func words(v string) []string {
	var out []string
	var b strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(v); i++ {
		ch := v[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				b.WriteByte(ch)
			}
		case ch == '"' || ch == '\'':
			quote, in = ch, true
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			if in {
				out = append(out, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteByte(ch)
			in = true
		}
	}
	if in {
		out = append(out, b.String())
	}
	return out
}

// ManagerView turns an Info read from unit files into what systemd-analyze security sees
// when it asks the manager for the unit's properties rather than loading the files itself
// (acquire_security_info): the settings that imply PrivateMounts= do so, and an
// IPAddressAllow= entry counts as localhost only with the prefix length 8 (IPv4) or 128
// (IPv6).
func (i *Info) ManagerView() {
	if i.PrivateDevices || i.PrivateTmp || i.ProtectControlGroups || i.ProtectKernelTunables ||
		i.ProtectKernelModules || i.ProtectHome != "no" || i.ProtectSystem != "no" || i.RootImage != "" {
		i.PrivateMounts = true
	}
	i.IPAddressAllowLocalhost, i.IPAddressAllowOther = false, false
	for _, p := range i.allow {
		a := p.Addr()
		switch {
		case a.Is4() && p.Bits() == 8 && a.As4()[0] == 127, a.Is6() && p.Bits() == 128 && a == netip.IPv6Loopback():
			i.IPAddressAllowLocalhost = true
		default:
			i.IPAddressAllowOther = true
		}
	}
}
