package unit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// builtinTargets are the standard targets of systemd.special(7) that flint provides when the
// unit directories lack them (a container, a --units directory): their own dependencies are
// those systemd ships; .wants/ and .requires/ directories in the unit path still apply.
var builtinTargets = map[string]struct {
	desc                              string
	requires, wants, after, conflicts []string
	// noDefaultDeps: DefaultDependencies=no in systemd's file (no Conflicts=/Before=
	// shutdown.target, no After= on what the target wants).
	noDefaultDeps, allowIsolate, refuseManualStart bool
}{
	"default.target":         {desc: "Default", requires: []string{"multi-user.target"}, after: []string{"multi-user.target"}},
	"multi-user.target":      {desc: "Multi-User System", requires: []string{"basic.target"}, after: []string{"basic.target"}, conflicts: []string{"rescue.target"}},
	"basic.target":           {desc: "Basic System", requires: []string{"sysinit.target"}, wants: []string{"sockets.target", "timers.target", "paths.target", "slices.target"}, after: []string{"sysinit.target", "sockets.target", "paths.target", "slices.target"}},
	"sysinit.target":         {desc: "System Initialization", wants: []string{"local-fs.target", "swap.target"}, after: []string{"local-fs.target", "swap.target"}},
	"sockets.target":         {desc: "Socket Units"},
	"timers.target":          {desc: "Timer Units"},
	"paths.target":           {desc: "Path Units"},
	"slices.target":          {desc: "Slice Units"},
	"local-fs.target":        {desc: "Local File Systems"},
	"remote-fs.target":       {desc: "Remote File Systems"},
	"swap.target":            {desc: "Swaps"},
	"network.target":         {desc: "Network"},
	"network-pre.target":     {desc: "Preparation for Network"},
	"network-online.target":  {desc: "Network is Online", after: []string{"network.target"}},
	"nss-lookup.target":      {desc: "Host and Network Name Lookups"},
	"nss-user-lookup.target": {desc: "User and Group Name Lookups"},
	"time-sync.target":       {desc: "System Time Synchronized"},
	"time-set.target":        {desc: "System Time Set"},
	"getty.target":           {desc: "Login Prompts"},
	"graphical.target":       {desc: "Graphical Interface", requires: []string{"multi-user.target"}, after: []string{"multi-user.target"}},
	"rescue.target":          {desc: "Rescue Mode"},
	"emergency.target":       {desc: "Emergency Mode"},
	"shutdown.target":        {desc: "System Shutdown", noDefaultDeps: true, refuseManualStart: true},
	"umount.target":          {desc: "Unmount All Filesystems", noDefaultDeps: true, refuseManualStart: true},
	"final.target":           {desc: "Late Shutdown Services", after: []string{"shutdown.target", "umount.target"}, noDefaultDeps: true, refuseManualStart: true},
	// The targets of flint exit, poweroff, halt and reboot (and of the unit actions without
	// -force): each ends in its service's SuccessAction= (builtinServices).
	"exit.target":          {desc: "Exit the Container", requires: []string{"systemd-exit.service"}, after: []string{"systemd-exit.service"}, noDefaultDeps: true, allowIsolate: true},
	"poweroff.target":      {desc: "System Power Off", requires: []string{"systemd-poweroff.service"}, after: []string{"systemd-poweroff.service"}, noDefaultDeps: true, allowIsolate: true},
	"halt.target":          {desc: "System Halt", requires: []string{"systemd-halt.service"}, after: []string{"systemd-halt.service"}, noDefaultDeps: true, allowIsolate: true},
	"reboot.target":        {desc: "System Reboot", requires: []string{"systemd-reboot.service"}, after: []string{"systemd-reboot.service"}, noDefaultDeps: true, allowIsolate: true},
	"rpcbind.target":       {desc: "RPC Port Mapper"},
	"remote-fs-pre.target": {desc: "Preparation for Remote File Systems"},
	"local-fs-pre.target":  {desc: "Preparation for Local File Systems"},
	"cryptsetup.target":    {desc: "Local Encrypted Volumes"},
	"user.target":          {desc: "User units"},
}

// IsStandardTarget reports whether name is one of the standard targets of
// systemd.special(7) that flint provides even when no unit file defines it.
func IsStandardTarget(name string) bool {
	_, ok := builtinTargets[name]
	return ok
}

// Builtin returns the standard unit name as flint provides it when the search path lacks it
// (a standard target, the service behind exit.target, poweroff.target, halt.target or
// reboot.target, or the system's systemd-tmpfiles-setup.service), or nil when flint has no
// such unit built in.
//
// A target has the dependencies systemd ships it with, plus the .wants/ and .requires/
// directories of the search path, and, unless systemd's file says DefaultDependencies=no,
// After= on what it wants or requires (target_add_default_dependencies).
func (l *Loader) Builtin(name string) *Unit {
	if _, ok := builtinServices[name]; ok {
		return l.builtinService(name)
	}
	if name == TmpfilesSetupService && l.scope == System {
		return l.builtinTmpfilesSetup()
	}
	b, ok := builtinTargets[name]
	if !ok {
		return nil
	}
	u := &Unit{
		Name:   name,
		Type:   TypeTarget,
		Names:  []string{name},
		Prefix: strings.TrimSuffix(name, ".target"),
		Target: &TargetSection{},
	}
	u.Unit.Description = b.desc
	u.Unit.DefaultDependencies = false
	u.Unit.Requires = append([]string(nil), b.requires...)
	u.Unit.Wants = append([]string(nil), b.wants...)
	u.Unit.After = append([]string(nil), b.after...)
	u.Unit.Conflicts = append([]string(nil), b.conflicts...)
	u.Unit.AllowIsolate = b.allowIsolate
	u.Unit.RefuseManualStart = b.refuseManualStart
	u.Unit.UnitSettings = &UnitSettings{StartLimitInterval: 10 * time.Second, StartLimitBurst: 5}
	u.initShared()
	u.setLoadState(Loaded)
	if !b.noDefaultDeps {
		u.Unit.Conflicts = append(u.Unit.Conflicts, "shutdown.target")
		u.Unit.Before = append(u.Unit.Before, "shutdown.target")
	}
	for _, dir := range l.Paths() {
		for _, kind := range []string{"wants", "requires"} {
			ents, err := os.ReadDir(filepath.Join(dir, name+"."+kind))
			if err != nil {
				continue
			}
			for _, e := range ents {
				if kind == "wants" {
					u.Unit.Wants = appendUnique(u.Unit.Wants, e.Name())
				} else {
					u.Unit.Requires = appendUnique(u.Unit.Requires, e.Name())
				}
			}
		}
	}
	if !b.noDefaultDeps {
		u.Unit.After = appendUnique(u.Unit.After, append(append([]string(nil), u.Unit.Wants...), u.Unit.Requires...)...)
	}
	return u
}

// builtinServices are the services of exit.target, poweroff.target, halt.target and
// reboot.target as systemd 252 ships them (units/systemd-*.service): Type=oneshot without a
// command, whose success is the action. systemd's systemd-halt.service runs
// `systemctl --force halt` instead; flint's ends in SuccessAction=halt-force, an action
// systemd 252 does not know.
var builtinServices = map[string]struct{ desc, doc, action string }{
	"systemd-exit.service":     {"Exit the Container", "man:systemd.special(7)", "exit-force"},
	"systemd-poweroff.service": {"System Power Off", "man:systemd-poweroff.service(8)", "poweroff-force"},
	"systemd-halt.service":     {"System Halt", "man:systemd-halt.service(8)", "halt-force"},
	"systemd-reboot.service":   {"System Reboot", "man:systemd-reboot.service(8)", "reboot-force"},
}

// builtinService decodes the built-in service name like a unit file without a path.
func (l *Loader) builtinService(name string) *Unit {
	b := builtinServices[name]
	action := b.action
	if !slices.Contains(EmergencyActions, action) {
		action = "exit-force" // decoded, so that Verify sees a SuccessAction=; replaced below
	}
	text := "[Unit]\nDescription=" + b.desc + "\nDocumentation=" + b.doc + `
DefaultDependencies=no
Requires=shutdown.target umount.target final.target
After=shutdown.target umount.target final.target
SuccessAction=` + action + "\n"
	u := &Unit{
		Name:   name,
		Type:   TypeService,
		Names:  []string{name},
		Prefix: strings.TrimSuffix(name, ".service"),
	}
	f, _ := ParseFile(name, []byte(text))
	Decode(u, []*File{f}, l.Expander(u))
	u.Unit.OwnSettings().SuccessAction = b.action
	return u
}

// TmpfilesSetupService is the unit that applies tmpfiles.d at boot. Where no unit file
// defines it (a machine without systemd), flint's system manager has done that work itself at
// start (internal/manager/tmpfiles.go); its built-in unit is the one systemd 252 ships without
// the command, so that the units ordered after it or requiring it load and start.
const TmpfilesSetupService = "systemd-tmpfiles-setup.service"

// builtinTmpfilesSetup decodes systemd 252's units/systemd-tmpfiles-setup.service, with
// neither ExecStart= nor the credentials the command would read.
func (l *Loader) builtinTmpfilesSetup() *Unit {
	const text = `[Unit]
Description=Create System Files and Directories
Documentation=man:tmpfiles.d(5) man:systemd-tmpfiles(8)
DefaultDependencies=no
After=local-fs.target systemd-sysusers.service systemd-journald.service
Before=sysinit.target
Conflicts=shutdown.target initrd-switch-root.target
Before=shutdown.target initrd-switch-root.target
RefuseManualStop=yes

[Service]
Type=oneshot
RemainAfterExit=yes
SuccessExitStatus=DATAERR CANTCREAT
`
	u := &Unit{
		Name:   TmpfilesSetupService,
		Type:   TypeService,
		Names:  []string{TmpfilesSetupService},
		Prefix: strings.TrimSuffix(TmpfilesSetupService, ".service"),
	}
	f, _ := ParseFile(TmpfilesSetupService, []byte(text))
	Decode(u, []*File{f}, l.Expander(u))
	// Verify's one refusal, of a service without a command, does not apply to a unit whose
	// work the manager does itself: a oneshot without a command starts and stays active.
	u.setLoadState(Loaded)
	u.setLoadError("")
	if u.Diagnostics != nil {
		u.OwnSources().Diagnostics = nil
	}
	return u
}
