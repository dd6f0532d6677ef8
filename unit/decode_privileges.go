package unit

import (
	"strings"

	"github.com/flint-init/flint/internal/sandbox"
)

// The privilege and system call directives internal/sandbox enforces. Each keeps the
// validation (and warnings) of its earlier not-enforced parser, fills its typed field of
// ExecContext, and keeps its last value in NotEnforcedValues, which `show` words as before.

// privilegeDirectives maps each directive to its typed parser; the parser warns only where
// the earlier validation did not.
var privilegeDirectives = map[string]parseFunc{
	"CapabilityBoundingSet":   pCaps(true),
	"AmbientCapabilities":     pCaps(false),
	"SecureBits":              pSecureBits,
	"KeyringMode":             func(d *decoder, e Entry, v string) { setIf(&d.exec.KeyringMode, v, "inherit", "private", "shared") },
	"Personality":             pPersonality,
	"SystemCallFilter":        pSyscalls(true),
	"SystemCallLog":           pSyscalls(false),
	"SystemCallErrorNumber":   pSyscallErrno,
	"SystemCallArchitectures": pSyscallArchs,
	"RestrictAddressFamilies": pFamilies,
	"RestrictNamespaces":      pNamespaces,
	"RestrictRealtime":        pBool(func(d *decoder) *bool { return &d.exec.RestrictRealtime }),
	"LockPersonality":         pBool(func(d *decoder) *bool { return &d.exec.LockPersonality }),
	"MemoryDenyWriteExecute":  pBool(func(d *decoder) *bool { return &d.exec.MemoryDenyWriteExecute }),
	"ProtectClock":            pBool(func(d *decoder) *bool { return &d.exec.ProtectClock }),
	"ProtectKernelTunables":   pBool(func(d *decoder) *bool { return &d.exec.ProtectKernelTunables }),
	"ProtectKernelModules":    pBool(func(d *decoder) *bool { return &d.exec.ProtectKernelModules }),
	"ProtectKernelLogs":       pBool(func(d *decoder) *bool { return &d.exec.ProtectKernelLogs }),
	"RestrictSUIDSGID":        pBool(func(d *decoder) *bool { return &d.exec.RestrictSUIDSGID }),
}

// typedOnly are the directives whose earlier parser validated nothing (neAny) or warns as
// the typed one does: only the typed parser runs.
var typedOnly = map[string]bool{"CapabilityBoundingSet": true, "AmbientCapabilities": true, "SecureBits": true,
	"SystemCallFilter": true, "SystemCallLog": true, "RestrictRealtime": true, "LockPersonality": true,
	"MemoryDenyWriteExecute": true, "ProtectClock": true, "ProtectKernelTunables": true,
	"ProtectKernelModules": true, "ProtectKernelLogs": true, "RestrictSUIDSGID": true}

// wordByWord are the lists whose bad words systemd skips, keeping the others.
var wordByWord = map[string]bool{"RestrictAddressFamilies": true, "SystemCallArchitectures": true}

// registerPrivileges re-registers the directives of privilegeDirectives as Supported; it runs
// after registerNotEnforced.
func registerPrivileges() {
	for name, typed := range privilegeDirectives {
		for _, sec := range []string{"Service", "Socket"} {
			var check parseFunc
			if old := directiveTable[sec][name]; old != nil && !typedOnly[name] {
				check = old.parse
			}
			// A value the check warned about is ignored whole, as systemd ignores it, except
			// for the lists systemd takes word by word (the typed parser skips the bad words).
			quiet := check != nil && !wordByWord[name]
			reg(sec, name, Supported, func(d *decoder, e Entry, v string) {
				if d.exec == nil {
					return
				}
				n := len(d.diags)
				if check != nil {
					check(d, e, v)
				}
				if quiet && len(d.diags) > n {
					return // the value was warned about and is ignored
				}
				typed(d, e, v)
				if d.exec.NotEnforcedValues == nil {
					d.exec.NotEnforcedValues = map[string]string{}
				}
				d.exec.NotEnforcedValues[e.Key] = e.Value
			})
		}
	}
}

func setIf(dst *string, v string, ok ...string) {
	for _, o := range ok {
		if v == o {
			*dst = v
		}
	}
}

func pCaps(bounding bool) parseFunc {
	return func(d *decoder, e Entry, v string) {
		cur := &d.exec.AmbientCapabilities
		if bounding {
			cur = &d.exec.CapabilityBoundingSet
		}
		*cur, _ = sandbox.ParseCapLine(*cur, v, bounding) // systemd ignores unknown names silently
	}
}

var secureBitNames = []string{"noroot", "noroot-locked", "no-setuid-fixup", "no-setuid-fixup-locked", "keep-caps", "keep-caps-locked"}

func pSecureBits(d *decoder, e Entry, v string) {
	bits := 0
	for _, w := range strings.Fields(v) {
		found := false
		for i, n := range secureBitNames {
			if w == n {
				bits |= 1 << i
				found = true
			}
		}
		_ = found // systemd's secure_bits_from_string skips unknown words silently
	}
	d.exec.SecureBits = bits
}

func pPersonality(d *decoder, e Entry, v string) {
	if _, ok := sandbox.ParsePersonality(v); ok || v == "" {
		d.exec.Personality = v
	}
}

func pSyscalls(errnos bool) parseFunc {
	return func(d *decoder, e Entry, v string) {
		cur := &d.exec.SystemCallLog
		if errnos {
			cur = &d.exec.SystemCallFilter
		}
		var warns []string
		*cur, warns = sandbox.ParseSyscallLine(*cur, v, errnos)
		for _, w := range warns {
			d.warn(e, "%s", w)
		}
	}
}

func pSyscallErrno(d *decoder, e Entry, v string) {
	if v == "" {
		d.exec.SystemCallErrorNumber = 0
		return
	}
	if n, ok := sandbox.ParseErrnoOrAction(v); ok {
		d.exec.SystemCallErrorNumber = n
	}
}

func pSyscallArchs(d *decoder, e Entry, v string) {
	if v == "" {
		d.exec.SystemCallArchitectures = nil
		return
	}
	for _, w := range strings.Fields(v) {
		if _, ok := sandbox.ArchFromName(w); !ok {
			continue
		}
		dup := false
		for _, x := range d.exec.SystemCallArchitectures {
			dup = dup || x == w
		}
		if !dup {
			d.exec.SystemCallArchitectures = append(d.exec.SystemCallArchitectures, w)
		}
	}
}

func pFamilies(d *decoder, e Entry, v string) {
	d.exec.RestrictAddressFamilies, _ = sandbox.ParseFamiliesLine(d.exec.RestrictAddressFamilies, v)
}

func pNamespaces(d *decoder, e Entry, v string) {
	cur := sandbox.NamespacesInitial
	if d.exec.RestrictNamespacesSet {
		cur = d.exec.RestrictNamespaces
	}
	next, ok := sandbox.ParseNamespaces(cur, v)
	if !ok {
		return
	}
	d.exec.RestrictNamespacesSet = next != sandbox.NamespacesInitial
	d.exec.RestrictNamespaces = next & sandbox.NamespacesAll
}

// SandboxSettings are c's settings for internal/sandbox; privateDevices is PrivateDevices=
// (the file-system half's directive, whose system call part is enforced here).
func (c *ExecContext) SandboxSettings(privateDevices bool) *sandbox.Settings {
	s := &sandbox.Settings{
		CapabilityBoundingSet: sandbox.CapAll, AmbientCapabilities: c.AmbientCapabilities.Mask,
		SecureBits: c.SecureBits, NoNewPrivileges: c.NoNewPrivileges,
		Personality: c.Personality, SystemCallFilter: c.SystemCallFilter,
		SystemCallErrorNumber: c.SystemCallErrorNumber, SystemCallArchitectures: c.SystemCallArchitectures,
		SystemCallLog: c.SystemCallLog, RestrictAddressFamilies: c.RestrictAddressFamilies,
		RestrictNamespaces: sandbox.NamespacesAll, RestrictRealtime: c.RestrictRealtime,
		RestrictSUIDSGID: c.RestrictSUIDSGID, LockPersonality: c.LockPersonality,
		MemoryDenyWriteExecute: c.MemoryDenyWriteExecute, ProtectClock: c.ProtectClock,
		ProtectKernelTunables: c.ProtectKernelTunables, ProtectKernelModules: c.ProtectKernelModules,
		ProtectKernelLogs: c.ProtectKernelLogs, PrivateDevices: privateDevices,
		SELinuxContext: c.SELinuxContext, AppArmorProfile: c.AppArmorProfile, SmackProcessLabel: c.SmackProcessLabel,
	}
	if c.CapabilityBoundingSet.Set {
		s.CapabilityBoundingSet = c.CapabilityBoundingSet.Mask
	}
	if c.RestrictNamespacesSet {
		s.RestrictNamespaces = c.RestrictNamespaces
	}
	if s.SystemCallErrorNumber == 0 {
		s.SystemCallErrorNumber = sandbox.ErrnoKill
	}
	return s
}
