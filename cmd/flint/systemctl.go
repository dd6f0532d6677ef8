package main

import (
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// Multi-call: installed as `systemctl` (a symlink to flint), flint takes systemctl's command
// line, so that scripts, container builds (`RUN systemctl enable foo.socket`) and
// configuration tools drive it as they drive systemd. Offline verbs (enable, disable, mask,
// cat, ...) work without a manager; verbs that need one fail, saying where they looked,
// unless flint runs in a chroot, where systemctl ignores them (ignoredOffline).

// versionString is what --version prints.
const versionString = "flint (systemd 252 compatible: systemctl, journalctl, systemd-analyze, systemd-notify, systemd-socket-activate, systemd-tmpfiles)"

// invokedAs is the program name used in messages ("See \"flint status foo.service\"").
var invokedAs = "flint"

func progName() string { return invokedAs }

// Verb groups of systemctl 252, as its options apply to them.
var (
	jobVerbs = []string{"start", "stop", "reload", "restart", "try-restart", "reload-or-restart",
		"try-reload-or-restart", "isolate", "condstop", "condrestart", "force-reload", "condreload",
		"reload-or-try-restart"}
	powerVerbs = []string{"halt", "poweroff", "reboot", "kexec", "exit", "default", "rescue", "emergency",
		"suspend", "hibernate", "hybrid-sleep", "suspend-then-hibernate"}
	installVerbs = []string{"enable", "disable", "reenable", "preset", "preset-all", "mask", "unmask", "link",
		"revert", "add-wants", "add-requires", "edit", "set-default"}
	listByStateVerbs = []string{"list-units", "list-unit-files", "list-sockets", "list-timers", "list-paths", "list-automounts"}
)

func group(lists ...[]string) []string { return slices.Concat(lists...) }

// ctlOptionVerbs are, for each systemctl option that acts on some verbs only, the verbs
// systemctl 252 applies it to (systemctl(1)). Given with one of those verbs, the option
// must be one the flint verb implements (verb.uses): flint refuses it rather than ignore
// what the user asked for. Options not listed act the same for every verb (--user,
// --no-pager, -l: flint never ellipsizes, --no-ask-password: flint never asks,
// --no-wall: flint writes no wall message, -i: flint has no inhibitors, --no-reload:
// honoured by every file verb, --legend and -q: honoured by every verb that prints a
// legend or a result).
var ctlOptionVerbs = map[string][]string{
	"type":                {"list-units", "list-unit-files"},
	"state":               listByStateVerbs,
	"failed":              listByStateVerbs,
	"property":            {"show"},
	"P":                   {"show"},
	"value":               {"show"},
	"all":                 {"list-units", "list-sockets", "list-timers", "list-paths", "list-automounts", "list-dependencies", "show"},
	"reverse":             {"list-dependencies"},
	"after":               {"list-dependencies", "list-jobs"},
	"before":              {"list-dependencies", "list-jobs"},
	"show-types":          {"list-sockets"},
	"job-mode":            group(jobVerbs, []string{"enable", "disable", "mask", "reenable"}),
	"fail":                group(jobVerbs, []string{"enable", "disable", "mask", "reenable"}),
	"irreversible":        group(jobVerbs, []string{"enable", "disable", "mask", "reenable"}),
	"ignore-dependencies": group(jobVerbs, []string{"enable", "disable", "mask", "reenable"}),
	"show-transaction":    jobVerbs,
	"wait":                group(jobVerbs, []string{"is-system-running"}),
	"no-block":            group(jobVerbs, powerVerbs, []string{"enable", "disable", "mask", "reenable"}),
	"global":              group(installVerbs, []string{"is-enabled", "list-unit-files", "get-default", "cat"}),
	"runtime":             {"enable", "disable", "reenable", "preset", "mask", "unmask", "link", "edit", "revert", "add-wants", "add-requires", "set-property"},
	"force":               group(powerVerbs, []string{"enable", "link", "preset", "preset-all", "reenable", "mask", "set-default", "add-wants", "add-requires", "edit"}),
	"now":                 {"enable", "disable", "mask"},
	"dry-run":             powerVerbs,
	"message":             powerVerbs,
	"firmware-setup":      {"reboot", "poweroff", "halt"},
	"boot-loader-menu":    {"reboot"},
	"boot-loader-entry":   {"reboot"},
	"reboot-argument":     {"reboot"},
	"kill-whom":           {"kill"},
	"signal":              {"kill"},
	"lines":               {"status"},
	"output":              {"status", "list-units", "list-unit-files", "list-sockets", "list-timers", "list-jobs", "list-dependencies", "show"},
	"plain":               {"list-units", "list-dependencies"},
	"recursive":           {"list-units", "list-sockets", "list-timers", "list-paths", "list-automounts", "list-machines"},
	"with-dependencies":   {"status", "cat", "show", "list-units", "list-unit-files"},
	"preset-mode":         {"preset", "preset-all"},
	"timestamp":           {"status", "show", "list-timers", "list-jobs"},
	"what":                {"clean"},
	"read-only":           {"bind", "mount-image"},
	"mkdir":               {"bind", "mount-image"},
	"marked":              {"reload-or-restart"},
	// the verbs that work on the files below --root= (cat: flint's addition); systemctl
	// refuses the others
	"root": {"enable", "disable", "reenable", "preset", "preset-all", "mask", "unmask", "link", "revert",
		"add-wants", "add-requires", "set-default", "get-default", "is-enabled", "list-unit-files", "cat"},
}

// checkVerbOptions refuses an option systemctl would apply to the verb that flint's verb
// does not implement.
func checkVerbOptions(g *globals, v *verb) error {
	for _, o := range ctlSpec.Options {
		key := o.Key()
		if !g.has(key) || !slices.Contains(ctlOptionVerbs[key], v.name) || slices.Contains(v.uses, key) {
			continue
		}
		if key == "timestamp" && g.timestamp == "pretty" {
			continue // flint's timestamps are systemd's pretty ones
		}
		return usageErrorf("%s %s: option %s is not supported by flint.", progName(), v.name, g.given[key][0])
	}
	return nil
}

// ignoredOffline is systemctl's running_in_chroot_or_offline: with $SYSTEMD_OFFLINE=1, or
// in a chroot (the root directory is not PID 1's, unless $SYSTEMD_IGNORE_CHROOT is set),
// systemctl ignores the verbs that need a manager and exits 0. A container build (docker
// build, podman build) is no chroot: its processes share the root of the container's PID 1.
func ignoredOffline() bool {
	if b, ok := parseBool(os.Getenv("SYSTEMD_OFFLINE")); ok {
		return b
	}
	if os.Getenv("SYSTEMD_IGNORE_CHROOT") != "" {
		return false
	}
	var root, pid1 unix.Stat_t
	if unix.Stat("/", &root) != nil || unix.Stat("/proc/1/root", &pid1) != nil {
		return false // as systemd: not knowing is no chroot
	}
	return root.Dev != pid1.Dev || root.Ino != pid1.Ino
}

// noManagerMessage says that no manager answers, and where flint looked.
func noManagerMessage(control string) string {
	return fmt.Sprintf("No flint manager is running: nothing answers on %s.\n"+
		"Start one with 'flint run', or name its control socket with --control=PATH or $FLINT_CONTROL.", control)
}
