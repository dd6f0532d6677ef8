package unit

import (
	"reflect"
	"testing"

	"github.com/flint-init/flint/internal/sandbox"
)

// TestDecodePrivileges: the typed fields of the privilege and system call directives, and
// that they are enforced (not in NotEnforced).
func TestDecodePrivileges(t *testing.T) {
	u, _ := decodeText(t, "p.service", "[Service]\nExecStart=/bin/true\n"+
		"CapabilityBoundingSet=CAP_NET_RAW CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=~CAP_NET_RAW\n"+
		"AmbientCapabilities=CAP_NET_BIND_SERVICE\nSecureBits=keep-caps noroot bogus\n"+
		"SystemCallFilter=~@reboot mount:EPERM\nSystemCallErrorNumber=EACCES\n"+
		"SystemCallArchitectures=native bogus\nRestrictAddressFamilies=AF_UNIX AF_BOGUS\n"+
		"RestrictNamespaces=net\nRestrictNamespaces=~net\nPersonality=x86\nKeyringMode=shared\n"+
		"LockPersonality=yes\nProtectClock=yes\n")
	e := u.Service.Exec
	if e.CapabilityBoundingSet.Mask != 1<<10 || e.AmbientCapabilities.Mask != 1<<10 || e.SecureBits != 1<<4|1 {
		t.Errorf("caps %+v %+v securebits %d", e.CapabilityBoundingSet, e.AmbientCapabilities, e.SecureBits)
	}
	if e.SystemCallFilter.AllowList || e.SystemCallFilter.Entries["mount"] != 1 || e.SystemCallErrorNumber != 13 {
		t.Errorf("filter %+v errno %d", e.SystemCallFilter.Entries, e.SystemCallErrorNumber)
	}
	if !reflect.DeepEqual(e.SystemCallArchitectures, []string{"native"}) {
		t.Errorf("archs %q", e.SystemCallArchitectures)
	}
	if f := e.RestrictAddressFamilies; !f.AllowList || !reflect.DeepEqual(f.Names(), []string{"AF_UNIX"}) {
		t.Errorf("families %+v (the good words of a line with a bad one are kept, as systemd keeps them)", f)
	}
	if !e.RestrictNamespacesSet || e.RestrictNamespaces != 0 {
		t.Errorf("namespaces %#x", e.RestrictNamespaces)
	}
	if e.Personality != "x86" || e.KeyringMode != "shared" || !e.LockPersonality || !e.ProtectClock {
		t.Errorf("%+v", e)
	}
	if len(e.NotEnforced) != 0 {
		t.Errorf("NotEnforced %q", e.NotEnforced)
	}
	s := e.SandboxSettings(false)
	if s.BoundingSet()&(1<<sandbox.CapSysTime) != 0 || s.SystemCallErrorNumber != 13 {
		t.Errorf("settings %+v", s)
	}
}
