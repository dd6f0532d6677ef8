package unit

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// builtinTargets are the standard targets of systemd.special(7) that flint provides when the
// unit directories lack them (a container, a --units directory): their own dependencies are
// those systemd ships; .wants/ and .requires/ directories in the unit path still apply.
var builtinTargets = map[string]struct {
	desc                              string
	requires, wants, after, conflicts []string
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
	"shutdown.target":        {desc: "System Shutdown"},
	"final.target":           {desc: "Late Shutdown Services"},
	"rpcbind.target":         {desc: "RPC Port Mapper"},
	"remote-fs-pre.target":   {desc: "Preparation for Remote File Systems"},
	"local-fs-pre.target":    {desc: "Preparation for Local File Systems"},
	"cryptsetup.target":      {desc: "Local Encrypted Volumes"},
	"user.target":            {desc: "User units"},
}

// IsStandardTarget reports whether name is one of the standard targets of
// systemd.special(7) that flint provides even when no unit file defines it.
func IsStandardTarget(name string) bool {
	_, ok := builtinTargets[name]
	return ok
}

// BuiltinTarget returns the standard target name as flint provides it when the search path
// lacks it, or nil when name is not a standard target: the dependencies systemd ships it
// with, plus the .wants/ and .requires/ directories of the search path, and After= on what
// it wants or requires (target_add_default_dependencies).
func (l *Loader) BuiltinTarget(name string) *Unit {
	b, ok := builtinTargets[name]
	if !ok {
		return nil
	}
	u := &Unit{
		Name:      name,
		Type:      TypeTarget,
		Names:     []string{name},
		Prefix:    strings.TrimSuffix(name, ".target"),
		LoadState: Loaded,
		Target:    &TargetSection{},
	}
	u.Unit.Description = b.desc
	u.Unit.DefaultDependencies = false
	u.Unit.Requires = append([]string(nil), b.requires...)
	u.Unit.Wants = append([]string(nil), b.wants...)
	u.Unit.After = append([]string(nil), b.after...)
	u.Unit.Conflicts = append([]string(nil), b.conflicts...)
	u.Unit.StartLimitInterval = 10 * time.Second
	u.Unit.StartLimitBurst = 5
	if name != "shutdown.target" && name != "final.target" {
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
	u.Unit.After = appendUnique(u.Unit.After, append(append([]string(nil), u.Unit.Wants...), u.Unit.Requires...)...)
	return u
}
