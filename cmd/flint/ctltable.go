package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/flint-init/flint/internal/getopt"
)

// ctlOption is one option of systemctl's command line as flint takes it: how it is spelled,
// the verbs systemctl 252 ties it to, whether flint honours it there, and what --help says.
type ctlOption struct {
	getopt.Option
	value string // the value's name in --help (TYPE), for an option that takes one
	help  string
	// verbs are the verbs systemctl 252 applies the option to (systemctl(1)); nil for an
	// option that acts the same whatever the verb (--user, --no-pager, -l: flint never
	// ellipsizes, --no-ask-password: flint never asks, --no-wall: flint writes no wall
	// message, -i: flint has no inhibitors, --no-reload: honoured by every file verb,
	// --legend and -q: honoured by every verb that prints a legend or a result). With any
	// other verb, the option is ignored, as systemctl ignores it.
	verbs []string
	// refused: flint does not implement the option for its verbs, and refuses it with them
	// rather than ignore what the user asked for.
	refused bool
	// hidden: left out of --help (the short-only aliases -P and -., which --help names with
	// their long forms).
	hidden bool
}

// ctlOptions is systemctl's command line: systemctl 252's option table (the order matters:
// it is the order of the "possibilities" of an ambiguous abbreviation), its short options
// "ht:p:P:alqfs:H:M:n:o:iTr.::", and flint's own --control and --units, which match only by
// their whole name so that every abbreviation systemctl accepts means the same here. What
// each option does is setCtlOption's.
var ctlOptions = []ctlOption{
	{Option: getopt.Option{Long: "help", Short: 'h'}, help: "print this help, or with a verb the verb's"},
	{Option: getopt.Option{Long: "version"}, help: "print the version"},
	{Option: getopt.Option{Long: "type", Short: 't', Arg: getopt.RequiredArg}, value: "TYPE",
		help: "unit types or load states to list (-t help lists them)", verbs: []string{"list-units", "list-unit-files"}},
	{Option: getopt.Option{Long: "property", Short: 'p', Arg: getopt.RequiredArg}, value: "NAME",
		help: "properties to show (-P NAME: its value only)", verbs: []string{"show"}},
	{Option: getopt.Option{Long: "all", Short: 'a'}, help: "list inactive units too; show empty properties; expand every unit",
		verbs: []string{"list-units", "list-sockets", "list-timers", "list-paths", "list-automounts", "list-dependencies", "show"}},
	{Option: getopt.Option{Long: "reverse"}, help: "list the units that depend on the unit", verbs: []string{"list-dependencies"}},
	{Option: getopt.Option{Long: "after"}, help: "ordering dependencies", verbs: []string{"list-dependencies", "list-jobs"}, refused: true},
	{Option: getopt.Option{Long: "before"}, help: "ordering dependencies", verbs: []string{"list-dependencies", "list-jobs"}, refused: true},
	{Option: getopt.Option{Long: "show-types"}, help: "show the socket types", verbs: []string{"list-sockets"}},
	{Option: getopt.Option{Long: "failed"}, help: "same as --state=failed", verbs: listByStateVerbs},
	{Option: getopt.Option{Long: "full", Short: 'l'}, help: "do not ellipsize (flint never does); edit: the whole unit file"},
	{Option: getopt.Option{Long: "job-mode", Arg: getopt.RequiredArg}, value: "MODE",
		help: "how new jobs meet queued ones: replace, fail, isolate, ...", verbs: jobModeVerbs},
	{Option: getopt.Option{Long: "fail"}, help: "same as --job-mode=fail", verbs: jobModeVerbs},
	{Option: getopt.Option{Long: "irreversible"}, help: "same as --job-mode=replace-irreversibly", verbs: jobModeVerbs},
	{Option: getopt.Option{Long: "ignore-dependencies"}, help: "same as --job-mode=ignore-dependencies", verbs: jobModeVerbs},
	{Option: getopt.Option{Long: "ignore-inhibitors", Short: 'i'}, help: "accepted (flint has no inhibitors)"},
	{Option: getopt.Option{Long: "check-inhibitors", Arg: getopt.RequiredArg}, value: "MODE", help: "accepted (flint has no inhibitors)"},
	{Option: getopt.Option{Long: "value"}, help: "show property values only", verbs: []string{"show"}},
	{Option: getopt.Option{Long: "user"}, help: "the calling user's manager and unit files"},
	{Option: getopt.Option{Long: "system"}, help: "the system manager and unit files (the default)"},
	{Option: getopt.Option{Long: "global"}, help: "every user's unit files",
		verbs: group(installVerbs, []string{"is-enabled", "list-unit-files", "get-default", "cat"})},
	{Option: getopt.Option{Long: "wait"}, help: "wait until started units end", verbs: group(jobVerbs, []string{"is-system-running"}), refused: true},
	{Option: getopt.Option{Long: "no-block"}, help: "do not wait for the jobs to finish", verbs: group(jobVerbs, powerVerbs, []string{"enable", "disable", "mask", "reenable", "clean"})},
	{Option: getopt.Option{Long: "legend", Arg: getopt.RequiredArg}, value: "BOOL", help: "print or leave out column headers and hints"},
	{Option: getopt.Option{Long: "no-legend"}, help: "same as --legend=no"},
	{Option: getopt.Option{Long: "no-pager"}, help: "accepted (flint uses no pager)"},
	{Option: getopt.Option{Long: "no-wall"}, help: "accepted (flint writes no wall message)"},
	{Option: getopt.Option{Long: "dry-run"}, help: "only say what would be done", verbs: powerVerbs, refused: true},
	{Option: getopt.Option{Long: "quiet", Short: 'q'}, help: "print less"},
	{Option: getopt.Option{Long: "root", Arg: getopt.RequiredArg}, value: "DIR",
		help: "work on the unit files below DIR, without a manager", verbs: rootVerbs},
	{Option: getopt.Option{Long: "image", Arg: getopt.RequiredArg}, value: "IMAGE", help: "refused: flint does not mount disk images"},
	{Option: getopt.Option{Long: "force", Short: 'f'}, help: "overwrite symlinks; power verbs: stop at once",
		verbs: group(powerVerbs, []string{"enable", "link", "preset", "preset-all", "reenable", "mask", "set-default", "add-wants", "add-requires", "edit"})},
	{Option: getopt.Option{Long: "no-reload"}, help: "do not reload the manager after changing unit files"},
	{Option: getopt.Option{Long: "kill-whom", Arg: getopt.RequiredArg}, value: "WHOM", help: "all, main or control processes", verbs: []string{"kill"}},
	{Option: getopt.Option{Long: "signal", Short: 's', Arg: getopt.RequiredArg}, value: "SIGNAL", help: "the signal to send (-s help lists them)", verbs: []string{"kill"}},
	{Option: getopt.Option{Long: "no-ask-password"}, help: "accepted (flint never asks)"},
	{Option: getopt.Option{Long: "host", Short: 'H', Arg: getopt.RequiredArg}, value: "HOST", help: "refused: flint manages this machine only"},
	{Option: getopt.Option{Long: "machine", Short: 'M', Arg: getopt.RequiredArg}, value: "NAME", help: "refused: flint manages this machine only"},
	{Option: getopt.Option{Long: "runtime"}, help: "change /run only, until the manager exits",
		verbs: []string{"enable", "disable", "reenable", "preset", "mask", "unmask", "link", "edit", "revert", "add-wants", "add-requires", "set-property"}},
	{Option: getopt.Option{Long: "lines", Short: 'n', Arg: getopt.RequiredArg}, value: "N", help: "log lines to show", verbs: []string{"status"}},
	{Option: getopt.Option{Long: "output", Short: 'o', Arg: getopt.RequiredArg}, value: "MODE", help: "output format: json, json-pretty, short, ... (-o help)",
		verbs: []string{"status", "list-units", "list-unit-files", "list-sockets", "list-timers", "list-jobs", "list-dependencies", "show"}},
	{Option: getopt.Option{Long: "plain"}, help: "list without tree or bullets", verbs: []string{"list-units", "list-dependencies"}},
	{Option: getopt.Option{Long: "state", Arg: getopt.RequiredArg}, value: "STATE", help: "load, active or sub states to list (--state=help)", verbs: listByStateVerbs},
	{Option: getopt.Option{Long: "recursive", Short: 'r'}, help: "include containers' units",
		verbs: []string{"list-units", "list-sockets", "list-timers", "list-paths", "list-automounts", "list-machines"}, refused: true},
	{Option: getopt.Option{Long: "with-dependencies"}, help: "include the units' dependencies",
		verbs: []string{"status", "cat", "show", "list-units", "list-unit-files"}, refused: true},
	{Option: getopt.Option{Long: "preset-mode", Arg: getopt.RequiredArg}, value: "MODE", help: "full, enable-only or disable-only", verbs: []string{"preset", "preset-all"}},
	{Option: getopt.Option{Long: "firmware-setup"}, help: "reboot into the firmware setup", verbs: []string{"reboot", "poweroff", "halt"}, refused: true},
	{Option: getopt.Option{Long: "boot-loader-menu", Arg: getopt.RequiredArg}, value: "TIME", help: "reboot into the boot loader menu", verbs: []string{"reboot"}, refused: true},
	{Option: getopt.Option{Long: "boot-loader-entry", Arg: getopt.RequiredArg}, value: "NAME", help: "reboot into this boot loader entry", verbs: []string{"reboot"}, refused: true},
	{Option: getopt.Option{Long: "now"}, help: "also start or stop the units", verbs: []string{"enable", "disable", "mask"}},
	{Option: getopt.Option{Long: "message", Arg: getopt.RequiredArg}, value: "TEXT", help: "say why, in the log", verbs: powerVerbs, refused: true},
	{Option: getopt.Option{Long: "show-transaction", Short: 'T'}, help: "print the jobs a transaction enqueued", verbs: jobVerbs, refused: true},
	{Option: getopt.Option{Long: "what", Arg: getopt.RequiredArg}, value: "WHAT", help: "what to clean: runtime, state, cache, logs, configuration, all (--what=help)", verbs: []string{"clean"}},
	{Option: getopt.Option{Long: "reboot-argument", Arg: getopt.RequiredArg}, value: "ARG", help: "argument of reboot(2)", verbs: []string{"reboot"}, refused: true},
	{Option: getopt.Option{Long: "timestamp", Arg: getopt.RequiredArg}, value: "STYLE",
		help: "timestamp style (--timestamp=help); refused but for pretty, flint's", verbs: []string{"status", "show", "list-timers", "list-jobs"}, refused: true},
	{Option: getopt.Option{Long: "read-only"}, help: "bind read-only", verbs: []string{"bind", "mount-image"}, refused: true},
	{Option: getopt.Option{Long: "mkdir"}, help: "create the mount point", verbs: []string{"bind", "mount-image"}, refused: true},
	{Option: getopt.Option{Long: "marked"}, help: "the units marked for restart", verbs: []string{"reload-or-restart"}, refused: true},
	{Option: getopt.Option{Short: 'P', Arg: getopt.RequiredArg}, verbs: []string{"show"}, hidden: true},
	{Option: getopt.Option{Short: '.', Arg: getopt.OptionalArg}, hidden: true},
	// flint's own
	{Option: getopt.Option{Long: "control", Arg: getopt.RequiredArg, Exact: true}, value: "PATH", help: "the manager's control socket"},
	{Option: getopt.Option{Long: "units", Arg: getopt.RequiredArg, Exact: true}, value: "DIR", help: "a unit directory (repeatable); replaces the search path"},
}

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
	jobModeVerbs     = group(jobVerbs, []string{"enable", "disable", "mask", "reenable"})
	// rootVerbs work on the files below --root= (cat: flint's addition); systemctl refuses
	// the others.
	rootVerbs = []string{"enable", "disable", "reenable", "preset", "preset-all", "mask", "unmask", "link", "revert",
		"add-wants", "add-requires", "set-default", "get-default", "is-enabled", "list-unit-files", "cat"}
)

func group(lists ...[]string) []string { return slices.Concat(lists...) }

// ctlSpec is ctlOptions for the parser.
var ctlSpec = func() *getopt.Spec {
	s := &getopt.Spec{}
	for _, o := range ctlOptions {
		s.Options = append(s.Options, o.Option)
	}
	return s
}()

// ctlOptionOf is the table's entry of an option, by key.
func ctlOptionOf(key string) *ctlOption {
	for i := range ctlOptions {
		if ctlOptions[i].Key() == key {
			return &ctlOptions[i]
		}
	}
	return nil
}

// checkVerbOptions refuses an option systemctl would apply to the verb that flint does
// not implement.
func checkVerbOptions(g *globals, v *verb) error {
	for _, o := range ctlOptions {
		key := o.Key()
		if !o.refused || !g.has(key) || !slices.Contains(o.verbs, v.name) {
			continue
		}
		if key == "timestamp" && g.timestamp == "pretty" {
			continue // flint's timestamps are systemd's pretty ones
		}
		return usageErrorf("%s %s: option %s is not supported by flint.", progName(), v.name, g.given[key][0])
	}
	return nil
}

// printCtlOptions writes the options part of --help, from the table.
func printCtlOptions(w io.Writer) {
	for _, o := range ctlOptions {
		if o.hidden {
			continue
		}
		var spell strings.Builder
		if o.Short != 0 {
			fmt.Fprintf(&spell, "-%c ", o.Short)
		}
		spell.WriteString("--" + o.Long)
		if o.value != "" {
			spell.WriteString("=" + o.value)
		}
		help := o.help
		if o.refused && !strings.Contains(help, "refused") {
			help += " (refused by flint)"
		}
		fmt.Fprintf(w, "  %-28s %s\n", spell.String(), help)
	}
}
