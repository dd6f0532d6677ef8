package unit

import (
	"path"
	"strconv"
	"strings"
)

// unitTypes are the unit name suffixes systemd knows.
var unitTypes = map[string]bool{
	"service": true, "socket": true, "target": true, "device": true, "mount": true,
	"automount": true, "swap": true, "timer": true, "path": true, "slice": true, "scope": true,
}

// ValidUnitName reports whether s is a valid unit name (plain, template or instance) as
// systemd's unit_name_is_valid(..., UNIT_NAME_ANY).
func ValidUnitName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	dot := strings.LastIndexByte(s, '.')
	if dot <= 0 || !unitTypes[s[dot+1:]] {
		return false
	}
	name := s[:dot]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(":-_.\\@", c) >= 0) {
			return false
		}
	}
	at := strings.IndexByte(name, '@')
	if at == 0 {
		return false
	}
	if at > 0 && strings.IndexByte(name[at+1:], '@') >= 0 {
		return false
	}
	return true
}

// pDeps adds unit names to a dependency list; as in systemd an empty value does nothing,
// and a bad name is ignored with a warning.
func pDeps(get func(d *decoder) *[]string) parseFunc {
	return func(d *decoder, e Entry, v string) {
		d.eachWord(e, v, exRetainEscape, defaultSpecMsg, func(name string) {
			if !ValidUnitName(name) {
				d.warn(e, "Failed to add dependency on %s, ignoring: Invalid argument", name)
				return
			}
			if IsTemplate(name) {
				x, err := d.resolveTemplate(name)
				if err != nil {
					d.warn(e, "Failed to add dependency on %s, ignoring: Invalid argument", name)
					return
				}
				name = x
			}
			d.appendDep(get(d), name)
		})
	}
}

// appendDep appends name to a dependency list unless it is there. A short list is searched;
// a long one (a target wanting thousands of units on one line) keeps a set, so that a line
// of n names costs O(n), not O(n²).
func (d *decoder) appendDep(list *[]string, name string) {
	const searched = 32
	if len(*list) < searched {
		*list = appendUnique(*list, name)
		return
	}
	set := d.depSets[list]
	if len(set) != len(*list) { // new, or the list was changed elsewhere
		set = make(map[string]bool, 2*len(*list))
		for _, n := range *list {
			set[n] = true
		}
		if d.depSets == nil {
			d.depSets = map[*[]string]map[string]bool{}
		}
		d.depSets[list] = set
	}
	if !set[name] {
		set[name] = true
		*list = append(*list, name)
	}
}

// resolveTemplate is systemd's resolve_template(): a template named in a unit file names the
// instance of this unit's own instance, or of its prefix ("foo@.service" in bar.service:
// foo@bar.service).
func (d *decoder) resolveTemplate(name string) (string, error) {
	inst := d.u.Instance
	if inst == "" {
		inst, _, _, _ = ParseName(d.u.Name)
	}
	return Instantiate(name, inst)
}

func obsoleteDeps(newName string, get func(d *decoder) *[]string) parseFunc {
	add := pDeps(get)
	return func(d *decoder, e Entry, v string) {
		d.warn(e, "Unit dependency type %s= is obsolete, replacing by %s=, please update your unit file", e.Key, newName)
		add(d, e, v)
	}
}

// EmergencyActions are the values of SuccessAction=, FailureAction=, StartLimitAction= and
// JobTimeoutAction= that systemd 252 accepts (its emergency_action_table; the kexec and halt
// actions came later).
var EmergencyActions = []string{"none", "reboot", "reboot-force", "reboot-immediate", "poweroff",
	"poweroff-force", "poweroff-immediate", "exit", "exit-force"}

// JobModes are systemd 252's job modes (OnFailureJobMode=, systemctl --job-mode=).
var JobModes = []string{"fail", "replace", "replace-irreversibly", "isolate", "flush",
	"ignore-dependencies", "ignore-requirements"}

// pathConditionKinds take an absolute path.
var pathConditionKinds = map[string]bool{
	"PathExists": true, "PathExistsGlob": true, "PathIsDirectory": true, "PathIsSymbolicLink": true,
	"PathIsMountPoint": true, "PathIsReadWrite": true, "PathIsEncrypted": true,
	"DirectoryNotEmpty": true, "FileNotEmpty": true, "FileIsExecutable": true, "NeedsUpdate": true,
}

var conditionKinds = []string{"PathExists", "PathExistsGlob", "PathIsDirectory", "PathIsSymbolicLink",
	"PathIsMountPoint", "PathIsReadWrite", "PathIsEncrypted", "DirectoryNotEmpty", "FileNotEmpty",
	"FileIsExecutable", "NeedsUpdate", "FirstBoot", "Architecture", "Firmware", "Virtualization",
	"Host", "KernelCommandLine", "KernelVersion", "Credential", "Security", "Capability", "ACPower",
	"Memory", "CPUFeature", "CPUs", "Environment", "User", "Group", "ControlGroupController",
	"OSRelease", "MemoryPressure", "CPUPressure", "IOPressure"}

func pCondition(kind string, assert bool) parseFunc {
	return func(d *decoder, e Entry, v string) {
		c := &d.u.Unit.Conditions
		if v == "" {
			// an empty assignment resets all conditions (or all asserts)
			kept := (*c)[:0]
			for _, x := range *c {
				if x.Assert != assert {
					kept = append(kept, x)
				}
			}
			*c = kept
			return
		}
		cond := Condition{Kind: kind, Assert: assert, Pos: e.Where()}
		p := v
		if strings.HasPrefix(p, "|") {
			cond.Trigger = true
			p = strings.TrimLeft(p[1:], whitespace)
		}
		if strings.HasPrefix(p, "!") {
			cond.Negate = true
			p = strings.TrimLeft(p[1:], whitespace)
		}
		var x string
		var ok bool
		if pathConditionKinds[kind] {
			x, ok = d.printfBare(e, p)
		} else {
			x, ok = d.printf(e, p, false)
		}
		if !ok {
			return
		}
		if pathConditionKinds[kind] {
			if !isAbsPath(x) {
				d.warn(e, "%s= path is not absolute, ignoring: %s", e.Key, x)
				return
			}
			x = path.Clean(x)
		} else if x == "" {
			d.warn(e, "%s= value is empty, ignoring.", e.Key)
			return
		}
		cond.Param = x
		*c = append(*c, cond)
	}
}

// documentationURLValid is systemd's documentation_url_is_valid().
func documentationURLValid(s string) bool {
	for _, p := range []string{"http://", "https://", "file:/", "info:", "man:"} {
		if strings.HasPrefix(s, p) && len(s) > len(p) {
			return true
		}
	}
	return false
}

func pExitStatusOrUnset(get func(d *decoder) *int) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if v == "" {
			*get(d) = -1
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			d.warn(e, "Failed to parse exit status '%s', ignoring: Invalid argument", v)
			return
		}
		if n < 0 || n > 255 {
			d.warn(e, "Failed to parse exit status '%s', ignoring: Numerical result out of range", v)
			return
		}
		*get(d) = n
	}
}

func registerUnit() {
	u := func(d *decoder) *UnitSection { return &d.u.Unit }
	S := Supported
	reg("Unit", "Description", S, pString(func(d *decoder) *string { return &u(d).Description }, true))
	reg("Unit", "Documentation", S, pStrv(func(d *decoder) *[]string { return &u(d).Documentation }, true, documentationURLValid))
	reg("Unit", "SourcePath", S, pPath(func(d *decoder) *string { return &u(d).SourcePath }, false))
	deps := map[string]func(d *decoder) *[]string{
		"Requires":             func(d *decoder) *[]string { return &u(d).Requires },
		"Requisite":            func(d *decoder) *[]string { return &u(d).Requisite },
		"Wants":                func(d *decoder) *[]string { return &u(d).Wants },
		"BindsTo":              func(d *decoder) *[]string { return &u(d).BindsTo },
		"BindTo":               func(d *decoder) *[]string { return &u(d).BindsTo },
		"Upholds":              func(d *decoder) *[]string { return &u(d).Upholds },
		"Conflicts":            func(d *decoder) *[]string { return &u(d).Conflicts },
		"Before":               func(d *decoder) *[]string { return &u(d).Before },
		"After":                func(d *decoder) *[]string { return &u(d).After },
		"OnSuccess":            func(d *decoder) *[]string { return &u(d).OnSuccess },
		"OnFailure":            func(d *decoder) *[]string { return &u(d).OnFailure },
		"PropagatesReloadTo":   func(d *decoder) *[]string { return &u(d).PropagatesReloadTo },
		"PropagateReloadTo":    func(d *decoder) *[]string { return &u(d).PropagatesReloadTo },
		"ReloadPropagatedFrom": func(d *decoder) *[]string { return &u(d).ReloadPropagatedFrom },
		"PropagateReloadFrom":  func(d *decoder) *[]string { return &u(d).ReloadPropagatedFrom },
		"PropagatesStopTo":     func(d *decoder) *[]string { return &u(d).PropagatesStopTo },
		"StopPropagatedFrom":   func(d *decoder) *[]string { return &u(d).StopPropagatedFrom },
		"PartOf":               func(d *decoder) *[]string { return &u(d).PartOf },
		"JoinsNamespaceOf":     func(d *decoder) *[]string { return &u(d).JoinsNamespaceOf },
	}
	for name, get := range deps {
		reg("Unit", name, S, pDeps(get))
	}
	reg("Unit", "RequiresOverridable", S, obsoleteDeps("Requires", deps["Requires"]))
	reg("Unit", "RequisiteOverridable", S, obsoleteDeps("Requisite", deps["Requisite"]))
	reg("Unit", "RequiresMountsFor", S, pStrv(func(d *decoder) *[]string { return &u(d).RequiresMountsFor }, true, isAbsPath))
	for name, get := range map[string]func(d *decoder) *bool{
		"StopWhenUnneeded":    func(d *decoder) *bool { return &u(d).StopWhenUnneeded },
		"RefuseManualStart":   func(d *decoder) *bool { return &u(d).RefuseManualStart },
		"RefuseManualStop":    func(d *decoder) *bool { return &u(d).RefuseManualStop },
		"AllowIsolate":        func(d *decoder) *bool { return &u(d).AllowIsolate },
		"DefaultDependencies": func(d *decoder) *bool { return &u(d).DefaultDependencies },
		"IgnoreOnIsolate":     func(d *decoder) *bool { return &u(d).IgnoreOnIsolate },
	} {
		reg("Unit", name, S, pBool(get))
	}
	reg("Unit", "OnSuccessJobMode", S, pEnum(func(d *decoder) *string { return &u(d).OnSuccessJobMode }, "\x00", "job mode", JobModes...))
	reg("Unit", "OnFailureJobMode", S, pEnum(func(d *decoder) *string { return &u(d).OnFailureJobMode }, "\x00", "job mode", JobModes...))
	reg("Unit", "OnFailureIsolate", S, func(d *decoder, e Entry, v string) {
		b, err := ParseBool(v)
		if err != nil {
			d.warn(e, "Failed to parse boolean, ignoring: %s", v)
			return
		}
		if b {
			u(d).OnFailureJobMode = "isolate"
		} else {
			u(d).OnFailureJobMode = "replace"
		}
	})
	// As systemd's config_parse_job_timeout_sec: JobTimeoutSec= sets JobRunningTimeoutSec= too,
	// unless that was given (before or after it).
	parseJobTimeout := pSecMsg(func(d *decoder) *time_ { return &u(d).JobTimeout }, true, "Failed to parse %K= parameter")
	reg("Unit", "JobTimeoutSec", S, func(d *decoder, e Entry, v string) {
		parseJobTimeout(d, e, v)
		if _, err := ParseTimespan(v); err == nil && !u(d).JobRunningTimeoutSet {
			u(d).JobRunningTimeout = u(d).JobTimeout
		}
	})
	parseJobRunningTimeout := pSecMsg(func(d *decoder) *time_ { return &u(d).JobRunningTimeout }, true, "Failed to parse %K= parameter")
	reg("Unit", "JobRunningTimeoutSec", S, func(d *decoder, e Entry, v string) {
		if _, err := ParseTimespan(v); err == nil {
			u(d).JobRunningTimeoutSet = true
		}
		parseJobRunningTimeout(d, e, v)
	})
	for name, get := range map[string]func(d *decoder) *string{
		"StartLimitAction": func(d *decoder) *string { return &u(d).StartLimitAction },
		"FailureAction":    func(d *decoder) *string { return &u(d).FailureAction },
		"SuccessAction":    func(d *decoder) *string { return &u(d).SuccessAction },
	} {
		reg("Unit", name, S, pEnum(get, "\x00", "%K=", EmergencyActions...))
	}
	reg("Unit", "JobTimeoutAction", S, pEnum(func(d *decoder) *string { return &u(d).JobTimeoutAction }, "\x00", "%K=", EmergencyActions...))
	reg("Unit", "JobTimeoutRebootArgument", NotEnforced, pString(func(d *decoder) *string { return &u(d).JobTimeoutRebootArgument }, false))
	reg("Unit", "RebootArgument", NotEnforced, pString(func(d *decoder) *string { return &u(d).RebootArgument }, false))
	reg("Unit", "StartLimitIntervalSec", S, pSec(func(d *decoder) *time_ { return &u(d).StartLimitInterval }, false))
	reg("Unit", "StartLimitInterval", S, pSec(func(d *decoder) *time_ { return &u(d).StartLimitInterval }, false))
	reg("Unit", "StartLimitBurst", S, pUnsigned(func(d *decoder) *int { return &u(d).StartLimitBurst }))
	reg("Unit", "FailureActionExitStatus", S, pExitStatusOrUnset(func(d *decoder) *int { return &u(d).FailureActionExitStatus }))
	reg("Unit", "SuccessActionExitStatus", S, pExitStatusOrUnset(func(d *decoder) *int { return &u(d).SuccessActionExitStatus }))
	reg("Unit", "CollectMode", S, pEnum(func(d *decoder) *string { return &u(d).CollectMode }, "\x00", "garbage collection mode", "inactive", "inactive-or-failed"))
	for _, k := range conditionKinds {
		reg("Unit", "Condition"+k, S, pCondition(k, false))
		if k != "Firmware" { // systemd 252 has no AssertFirmware=
			reg("Unit", "Assert"+k, S, pCondition(k, true))
		}
	}
}

// pInstallList is an [Install] list: systemd's unit loader does not parse [Install] (it
// is read when enabling), so nothing is reported here; specifiers are expanded when they
// can be, else the word is kept as written.
func pInstallList(get func(d *decoder) *[]string) parseFunc {
	return func(d *decoder, e Entry, v string) {
		l := get(d)
		if v == "" {
			*l = nil
			return
		}
		words, _, err := splitWords(v, exUnquote|exRelax)
		if err != nil {
			return
		}
		for _, w := range words {
			if x, err := expandWith(d.expand, w); err == nil {
				w = x
			}
			*l = append(*l, w)
		}
	}
}

func registerInstall() {
	in := func(d *decoder) *InstallSection { return d.u.Install }
	S := Supported
	reg("Install", "Alias", S, pInstallList(func(d *decoder) *[]string { return &in(d).Alias }))
	reg("Install", "WantedBy", S, pInstallList(func(d *decoder) *[]string { return &in(d).WantedBy }))
	reg("Install", "RequiredBy", S, pInstallList(func(d *decoder) *[]string { return &in(d).RequiredBy }))
	reg("Install", "Also", S, pInstallList(func(d *decoder) *[]string { return &in(d).Also }))
	reg("Install", "DefaultInstance", S, func(d *decoder, e Entry, v string) {
		if x, err := expandWith(d.expand, v); err == nil {
			v = x
		}
		in(d).DefaultInstance = v
	})
}
