package difftest

import "path"

// KnownDifference is one property that the differential test does not compare (for the
// units matching Units, a path.Match pattern), and why. docs/compatibility.md lists them.
// With Entry set, only that entry of a list property is ignored; with LoadState set, the
// difference applies only to units flint loads in that state.
type KnownDifference struct {
	Units     string
	Property  string
	Entry     string
	LoadState string
	Reason    string
}

// KnownDifferences are the accepted differences between `flint show` and systemd 252's
// `systemctl show` on the same unit files.
var KnownDifferences = []KnownDifference{
	{Units: "*", Property: "LoadError", LoadState: "error", Reason: "for a unit that fails to load (a fatal syntax error), flint names the file, line and error (org.freedesktop.systemd1.LoadFailed \"...: FILE:LINE: error: ...\"); systemd 252 says only org.freedesktop.DBus.Error.InconsistentMessage \"...: Bad message\". The lines before the error apply in both."},
	{Units: "*", Property: "FlintTriggerLimitCooldownUSec", Reason: "flint's own setting X-Flint-TriggerLimitCooldownSec= (see flint's own directives above), which systemd ignores as it ignores every X- key."},
	{Units: "*", Property: "TasksMax", Reason: "systemd's DefaultTasksMax= is 15% of the least of kernel.threads-max, kernel.pid_max - 1 and the root cgroup's pids.max; kernel.pid_max is one of each PID namespace's (Linux 6.14 and later), and the systemd of the test runs in a new one: flint, computing the same in the test's, finds another value."},
	{Units: "*", Property: "LimitNOFILE", Reason: "flint shows the hard limit it gives a unit without LimitNOFILE=: systemd's 524288, or the manager's own hard limit where that is lower (a manager without CAP_SYS_RESOURCE cannot raise it). systemd shows 524288 whatever its own limit; the test runs with a lower one."},
}

// UnitFileStateByConfigDir is the reason UnitFileState is not compared when flint says
// enabled, indirect, linked or alias.
const UnitFileStateByConfigDir = "flint treats its --units directories as the configuration directory (enable writes there), so .wants/ symlinks and linked units there count; systemd 252 with SYSTEMD_UNIT_PATH counts only symlinks under /etc/systemd/system and /run/systemd/system and says static or disabled. The test compares UnitFileState only where flint says static, disabled, masked or bad."

// ImplicitOnlyInSystemd are the dependencies systemd adds that flint does not have, removed
// from systemd's dependency lists before comparing: a pattern and the reason.
var ImplicitOnlyInSystemd = []KnownDifference{
	{Units: "*.slice", Property: "dependencies", Reason: "systemd lists the slice of every service, socket and slice in its Requires= and After= (system.slice, system-<prefix>.slice, the parent slice); flint starts the slice with the unit (with cgroups) and orders the unit after it, without listing the dependency."},
	{Units: "*.mount", Property: "dependencies", Reason: "systemd orders units After= the mount units of the paths they use (-.mount, ... for each RequiresMountsFor= path, which flint shows as systemd does) and a PrivateTmp= unit Wants= and After=tmp.mount; flint has no mount units."},
	{Units: "init.scope", Property: "dependencies", Reason: "systemd's own scope unit."},
	{Units: "*.automount", Property: "dependencies", Reason: "flint does not load automount units."},
	{Units: "*.device", Property: "dependencies", Reason: "flint does not load device units."},
	{Units: "*.swap", Property: "dependencies", Reason: "flint does not load swap units."},
	{Units: "*.scope", Property: "dependencies", Reason: "scope units are transient: systemd lists those that exist at that moment (made by systemd-run --scope, logind, ...); flint makes transient scopes too, but the differential test compares unit files loaded without a running manager, where no scope exists."},
}

// OpenBugs are differences that are flint bugs to fix, not accepted behaviour; the test
// skips them so that it guards everything else, and lists them in its log.
var OpenBugs = []KnownDifference{}

// TriggeredByOnlyLoaded: systemd fills TriggeredBy= only from socket units that happen to be
// loaded at that moment (it unloads unreferenced units between two `systemctl show` calls),
// flint from every socket in the unit path; systemd's list must be a subset of flint's.
const TriggeredByOnlyLoaded = "systemd fills TriggeredBy= only from the socket units it has loaded at that moment (unreferenced units are garbage-collected between calls); flint from every socket unit in the path. The same holds for a service's After= on the sockets that trigger it. The test checks that systemd's list is a subset of flint's."

func allDifferences() []KnownDifference {
	return append(KnownDifferences[:len(KnownDifferences):len(KnownDifferences)], OpenBugs...)
}

// skipped reports whether property prop of unit (loaded by flint in loadState) is a known
// difference as a whole.
func skipped(unit, prop, loadState string) bool {
	for _, k := range allDifferences() {
		if k.Property != prop || k.Entry != "" || (k.LoadState != "" && k.LoadState != loadState) {
			continue
		}
		if ok, _ := path.Match(k.Units, unit); ok {
			return true
		}
	}
	return false
}

// ignoredEntry reports whether entry of the list property prop of unit is a known difference.
func ignoredEntry(unit, prop, entry string) bool {
	for _, k := range allDifferences() {
		if k.Property != prop || k.Entry == "" {
			continue
		}
		okUnit, _ := path.Match(k.Units, unit)
		okEntry, _ := path.Match(k.Entry, entry)
		if okUnit && okEntry {
			return true
		}
	}
	return false
}

// implicitOnlyInSystemd reports whether a dependency systemd lists is one flint never adds.
func implicitOnlyInSystemd(dep string) bool {
	for _, k := range ImplicitOnlyInSystemd {
		if ok, _ := path.Match(k.Units, dep); ok {
			return true
		}
	}
	return false
}
