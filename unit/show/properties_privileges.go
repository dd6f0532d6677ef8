package show

import (
	"strings"

	"github.com/flint-init/flint/internal/sandbox"
	"github.com/flint-init/flint/unit"
)

// privilegeProperties adds the properties of the privilege and system call settings
// (decode_privileges.go) as systemctl show of systemd 252 prints them; set reports which
// execProps it has taken over.
func privilegeProperties(p *propList, e *unit.ExecContext) {
	p.int("SecureBits", e.SecureBits)
	if e.CapabilityBoundingSet.Set {
		s := e.SandboxSettings(false)
		s.CapabilityBoundingSet = e.CapabilityBoundingSet.Mask
		drop := sandbox.CapAll
		if b, err := unit.ParseBool(e.NotEnforcedValues["PrivateDevices"]); err == nil && b {
			drop &^= 1<<sandbox.CapMknod | 1<<sandbox.CapSysRawio
		}
		p.add("CapabilityBoundingSet", sandbox.FormatCaps(s.BoundingSet()&drop))
	}
	p.add("AmbientCapabilities", sandbox.FormatCaps(e.AmbientCapabilities.Mask))
	if n := e.SystemCallErrorNumber; n != 0 {
		p.int("SystemCallErrorNumber", n)
	} else {
		p.int("SystemCallErrorNumber", sandbox.ErrnoKill)
	}
	if !e.SystemCallFilter.Empty() {
		p.add("SystemCallFilter", formatSyscalls(e.SystemCallFilter))
	}
	if !e.SystemCallLog.Empty() {
		p.add("SystemCallLog", formatSyscalls(e.SystemCallLog))
	}
	if len(e.SystemCallArchitectures) > 0 {
		p.add("SystemCallArchitectures", strings.Join(e.SystemCallArchitectures, " "))
	}
	if f := e.RestrictAddressFamilies; f.Restricts() {
		s := strings.Join(f.Names(), " ")
		if !f.AllowList {
			s = "~" + s
		}
		p.add("RestrictAddressFamilies", s)
	}
	retain := uint64(sandbox.NamespacesAll)
	if e.RestrictNamespacesSet {
		retain = e.RestrictNamespaces
	}
	p.add("RestrictNamespaces", sandbox.FormatNamespaces(retain))
	if e.Personality != "" {
		p.add("Personality", e.Personality)
	}
}

// formatSyscalls is systemctl's SystemCallFilter=/SystemCallLog=: the names sorted, "~"
// before a deny list, ":ERRNO" after a name with an errno of its own.
func formatSyscalls(f sandbox.SyscallFilter) string {
	var b strings.Builder
	if !f.AllowList {
		b.WriteByte('~')
	}
	for i, n := range f.Names() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(n)
		if e := f.Entries[n]; e >= 0 {
			b.WriteByte(':')
			if e == sandbox.ErrnoKill {
				b.WriteString("kill")
			} else {
				b.WriteString(sandbox.FormatErrno(e))
			}
		}
	}
	return b.String()
}

// privilegeProps are the execProps privilegeProperties prints instead.
var privilegeProps = map[string]bool{"SecureBits": true, "SystemCallErrorNumber": true, "RestrictNamespaces": true}
