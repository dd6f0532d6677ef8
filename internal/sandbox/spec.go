package sandbox

import (
	"encoding/json"
	"fmt"
)

// Settings are a unit's privilege and system call settings, as the unit file gave them
// (unit.ExecContext's block "Privileges and system calls") plus the few the other half of
// the sandbox shares: PrivateDevices= refuses @raw-io, ProtectKernel*= and ProtectClock=
// have a system call part here and a file system part in internal/sandbox/fs.
type Settings struct {
	CapabilityBoundingSet uint64 // CapAll: not restricted
	AmbientCapabilities   uint64
	SecureBits            int
	NoNewPrivileges       bool
	Personality           string // "" or systemd's name ("x86", "x86-64")

	SystemCallFilter        SyscallFilter
	SystemCallErrorNumber   int // ErrnoKill by default
	SystemCallArchitectures []string
	SystemCallLog           SyscallFilter
	RestrictAddressFamilies Families
	RestrictNamespaces      uint64 // retained types; NamespacesInitial or NamespacesAll: none restricted
	RestrictRealtime        bool
	RestrictSUIDSGID        bool
	LockPersonality         bool
	MemoryDenyWriteExecute  bool
	ProtectClock            bool
	ProtectKernelTunables   bool
	ProtectKernelModules    bool
	ProtectKernelLogs       bool
	PrivateDevices          bool

	// Security labels, with systemd's "-" prefix ("" none): lsm.go.
	SELinuxContext, AppArmorProfile, SmackProcessLabel string
}

// BoundingSet is the bounding set systemd applies: CapabilityBoundingSet= less what the
// sandboxing settings drop (unit_patch_contexts).
func (s *Settings) BoundingSet() uint64 {
	b := s.CapabilityBoundingSet
	if s.PrivateDevices {
		b &^= 1<<CapMknod | 1<<CapSysRawio
	}
	if s.ProtectKernelModules {
		b &^= 1 << CapSysModule
	}
	if s.ProtectKernelLogs {
		b &^= 1 << CapSyslog
	}
	if s.ProtectClock {
		b &^= 1<<CapSysTime | 1<<CapWakeAlarm
	}
	return b
}

// Spec is what the sandboxed spawn path applies in the child: the settings compiled, the
// seccomp filters built. It travels as JSON to `flint __sandbox`.
type Spec struct {
	// FS is internal/sandbox/fs's plan (namespaces and mounts), opaque here; FSHook gets it.
	FS json.RawMessage `json:",omitempty"`

	Personality     *uint64 `json:",omitempty"`
	BoundingSet     *uint64 `json:",omitempty"` // nil: not restricted
	Ambient         uint64  `json:",omitempty"`
	SecureBits      int     `json:",omitempty"`
	NoNewPrivileges bool    `json:",omitempty"`
	// UID is the user the program switches to (-1: none), for keep-caps.
	UID int
	GID int
	// Filters are loaded in this order, last, each with the exit status its failure has.
	Filters []LoadedFilter `json:",omitempty"`
	// Security labels of the modules enabled (lsm.go).
	SELinux, AppArmor, Smack *Label `json:",omitempty"`
}

// LoadedFilter is one compiled seccomp filter.
type LoadedFilter struct {
	Name   string
	Status int
	BPF    []byte
}

// Empty reports whether the spec changes nothing the fast spawn path does not.
func (s *Spec) Empty() bool {
	return len(s.FS) == 0 && s.Personality == nil && s.BoundingSet == nil &&
		s.Ambient == 0 && s.SecureBits == 0 && len(s.Filters) == 0 && s.SELinux == nil && s.AppArmor == nil && s.Smack == nil
}

// Exit statuses (systemd's exit-status.h) of the steps here.
const (
	StatusSecurebits      = 213
	StatusCapabilities    = 218
	StatusNamespace       = 226
	StatusNoNewPrivileges = 227
	StatusSeccomp         = 228
	StatusPersonality     = 230
	StatusAddressFamilies = 232
	StatusKeyring         = 237
)

// personalities are systemd's names for the execution domains of an x86-64 machine.
var personalities = map[string]uint64{"x86-64": 0x0000, "x86": 0x0008} // PER_LINUX, PER_LINUX32

// ParsePersonality is systemd's personality_from_string for this machine.
func ParsePersonality(s string) (uint64, bool) {
	p, ok := personalities[s]
	return p, ok
}

// Compile builds the Spec of s for a process that will run as uid:gid (-1: unchanged).
func Compile(s *Settings, uid, gid int) (*Spec, error) {
	// The ambient set never reaches outside the bounding set (systemd 252 raises only those
	// of its ambient capabilities the bounding set keeps, and says nothing of the others).
	sp := &Spec{UID: uid, GID: gid, Ambient: s.AmbientCapabilities & s.BoundingSet(), SecureBits: s.SecureBits,
		NoNewPrivileges: s.NoNewPrivileges}
	if s.Personality != "" {
		p, ok := ParsePersonality(s.Personality)
		if !ok {
			return nil, fmt.Errorf("Personality=%s: not an execution domain of this machine", s.Personality)
		}
		sp.Personality = &p
	}
	sp.SELinux = label(s.SELinuxContext, selinuxEnabled)
	sp.AppArmor = label(s.AppArmorProfile, apparmorEnabled)
	sp.Smack = label(s.SmackProcessLabel, smackEnabled)
	if b := s.BoundingSet(); b != CapAll {
		sp.BoundingSet = &b
	}
	fs, err := Filters(s)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		prog, err := f.filter.Program()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.filter.Name, err)
		}
		sp.Filters = append(sp.Filters, LoadedFilter{Name: f.filter.Name, Status: f.status, BPF: prog})
	}
	return sp, nil
}
