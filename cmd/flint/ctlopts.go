package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/flint-init/flint/internal/getopt"
)

// systemd 252's string tables that systemctl prints for "help" and checks values against.
var (
	unitTypes      = []string{"service", "mount", "swap", "socket", "target", "device", "automount", "timer", "path", "slice", "scope"}
	unitLoadStates = []string{"stub", "loaded", "not-found", "bad-setting", "error", "merged", "masked"}
	outputModes    = []string{"short", "short-full", "short-iso", "short-iso-precise", "short-precise", "short-monotonic",
		"short-delta", "short-unix", "verbose", "export", "json", "json-pretty", "json-sse", "json-seq", "cat", "with-unit"}
	presetModes     = []string{"full", "enable-only", "disable-only"}
	timestampStyles = []string{"pretty", "us", "utc", "us+utc", "unix"}
	cleanWhat       = []string{"runtime", "state", "cache", "logs", "configuration"}
)

// stateHelp is what systemctl --state=help prints, section by section (title, values).
var stateHelp = [][]string{
	append([]string{"Available unit load states:"}, unitLoadStates...),
	{"Available unit active states:", "active", "reloading", "inactive", "failed", "activating", "deactivating", "maintenance"},
	{"Available unit file states:", "enabled", "enabled-runtime", "linked", "linked-runtime", "alias", "masked",
		"masked-runtime", "static", "disabled", "indirect", "generated", "transient", "bad"},
	{"Available automount unit substates:", "dead", "waiting", "running", "failed"},
	{"Available device unit substates:", "dead", "tentative", "plugged"},
	{"Available mount unit substates:", "dead", "mounting", "mounting-done", "mounted", "remounting", "unmounting",
		"remounting-sigterm", "remounting-sigkill", "unmounting-sigterm", "unmounting-sigkill", "failed", "cleaning"},
	{"Available path unit substates:", "dead", "waiting", "running", "failed"},
	{"Available scope unit substates:", "dead", "start-chown", "running", "abandoned", "stop-sigterm", "stop-sigkill", "failed"},
	{"Available service unit substates:", "dead", "condition", "start-pre", "start", "start-post", "running", "exited",
		"reload", "stop", "stop-watchdog", "stop-sigterm", "stop-sigkill", "stop-post", "final-watchdog",
		"final-sigterm", "final-sigkill", "failed", "auto-restart", "cleaning"},
	{"Available slice unit substates:", "dead", "active"},
	{"Available socket unit substates:", "dead", "start-pre", "start-chown", "start-post", "listening", "running",
		"stop-pre", "stop-pre-sigterm", "stop-pre-sigkill", "stop-post", "final-sigterm", "final-sigkill", "failed", "cleaning"},
	{"Available swap unit substates:", "dead", "activating", "activating-done", "active", "deactivating",
		"deactivating-sigterm", "deactivating-sigkill", "failed", "cleaning"},
	{"Available target unit substates:", "dead", "active"},
	{"Available timer unit substates:", "dead", "waiting", "running", "elapsed", "failed"},
}

// usageError is a command-line error: its message is printed alone on stderr and the
// command exits 1, as systemctl does.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// helpDone: an option printed what was asked (-t help, --version) and the command is done.
type helpDone struct{}

func (helpDone) Error() string { return "done" }

// setCtlOption applies one systemctl option to g as systemctl 252's parse_argv does,
// printing at once what an option's "help" value asks for (with the legend as the options
// before it left it).
func (g *globals) setCtlOption(f getopt.Found, stdout io.Writer) error {
	g.given[f.Key()] = append(g.given[f.Key()], f.Spelled)
	v := f.Value
	switch f.Key() {
	case "help":
		g.help = true
		return helpDone{}
	case "version":
		fmt.Fprintln(stdout, versionString)
		return helpDone{}
	case "type":
		if v == "" {
			return usageErrorf("--type= requires arguments.")
		}
		for _, t := range splitList(v) {
			switch {
			case t == "help":
				if g.legendOn() {
					fmt.Fprintln(stdout, "Available unit types:")
				}
				fmt.Fprint(stdout, lines(unitTypes))
				return helpDone{}
			case contains(unitTypes, t):
				g.types = append(g.types, t)
			case contains(unitLoadStates, t):
				g.states = append(g.states, t)
			default:
				return usageErrorf("Unknown unit type or load state '%s'.\nUse -t help to see a list of allowed values.", t)
			}
		}
	case "P":
		g.value = true
		fallthrough
	case "property":
		if g.props == nil {
			g.props = []string{}
		}
		g.props = append(g.props, splitList(v)...)
	case "all":
		g.all = true
	case "reverse":
		g.reverse = true
	case "show-types":
		g.showTypes = true
	case "failed":
		g.states = append(g.states, "failed")
	case "full":
		g.full = true
	case "job-mode":
		g.jobMode = v
	case "fail":
		g.jobMode = "fail"
	case "irreversible":
		g.jobMode = "replace-irreversibly"
	case "ignore-dependencies":
		g.jobMode = "ignore-dependencies"
	case "check-inhibitors":
		if _, ok := parseBool(v); !ok && v != "auto" {
			return usageErrorf("Failed to parse --check-inhibitors= argument: %s", v)
		}
	case "value":
		g.value = true
	case "user":
		g.user, g.global = true, false
	case "system":
		g.user, g.global = false, false
	case "global":
		g.user, g.global = true, true
	case "no-block":
		g.noBlock = true
	case "legend":
		b, ok := parseBool(v)
		if !ok {
			return usageErrorf("Failed to parse boolean argument to --legend: %s.", v)
		}
		g.legend = map[bool]int{true: 1, false: 0}[b]
	case "no-legend":
		g.legend = 0
	case "no-pager":
		g.noPager = true
	case "quiet":
		g.quiet = true
		if g.legend < 0 {
			g.legend = 0
		}
	case "root":
		g.root = ""
		if v != "" {
			abs, err := filepath.Abs(v)
			if err != nil {
				return usageErrorf("Failed to parse path %s: %v", v, err)
			}
			g.root = abs
		}
	case "force":
		g.force++
	case "kill-whom":
		g.killWhom = v
	case "signal":
		if v == "help" {
			fmt.Fprint(stdout, lines(signalHelp()))
			return helpDone{}
		}
		s, ok := signalFromString(v)
		if !ok {
			return usageErrorf("Failed to parse signal string \"%s\".", v)
		}
		g.signal = s
	case "runtime":
		g.runtime = true
	case "lines":
		n, err := strconv.ParseUint(strings.TrimLeft(v, " \t\n"), 10, 32)
		if err != nil || strings.HasPrefix(v, "-") {
			return usageErrorf("Failed to parse lines '%s'", v)
		}
		g.lines = int(n)
	case "output":
		if v == "help" {
			fmt.Fprint(stdout, lines(outputModes))
			return helpDone{}
		}
		if !contains(outputModes, v) {
			return usageErrorf("Unknown output '%s'.", v)
		}
		g.output = v
		if strings.HasPrefix(v, "json") {
			g.legend = 0
			g.plain = true
		}
	case "plain":
		g.plain = true
	case "state":
		if v == "" {
			return usageErrorf("--state= requires arguments.")
		}
		for _, s := range splitList(v) {
			if s == "help" {
				for i, sec := range stateHelp {
					if g.legendOn() {
						if i > 0 {
							fmt.Fprintln(stdout)
						}
						fmt.Fprintln(stdout, sec[0])
					}
					fmt.Fprint(stdout, lines(sec[1:]))
				}
				return helpDone{}
			}
			g.states = append(g.states, s)
		}
	case "recursive":
		if os.Geteuid() != 0 {
			return usageErrorf("--recursive requires root privileges.")
		}
	case "preset-mode":
		if v == "help" {
			fmt.Fprint(stdout, lines(presetModes))
			return helpDone{}
		}
		if !contains(presetModes, v) {
			return usageErrorf("Failed to parse preset mode: %s.", v)
		}
		g.presetMode = v
	case "now":
		g.now = true
	case "what":
		if v == "" {
			return usageErrorf("--what= requires arguments.")
		}
		for _, w := range splitList(v) {
			if w == "help" {
				fmt.Fprint(stdout, lines(cleanWhat))
				return helpDone{}
			}
			g.what = append(g.what, w)
		}
	case "timestamp":
		if v == "help" {
			fmt.Fprint(stdout, lines(timestampStyles))
			return helpDone{}
		}
		if !contains(timestampStyles, v) {
			return usageErrorf("Invalid value: %s.", v)
		}
		g.timestamp = v
	case ".":
		return usageErrorf("%s: invalid option -- '.'\nHint: to specify units starting with a dash, use \"--\":\n      %[1]s [OPTIONS...] COMMAND -- -.%s ...",
			g.prog, orDefault(v, "mount"))
	case "control":
		g.control, g.controlSet = v, true
	case "units":
		g.units = append(g.units, v)
	}
	return nil
}

// checkCtlOptions is what systemctl checks once every option is read, and what flint
// refuses whatever the verb: remote and container managers, disk images.
func (g *globals) checkCtlOptions(verb string, operands []string) error {
	if g.has("host", "machine") {
		if g.has("host") && g.user {
			return usageErrorf("Cannot access user instance remotely.")
		}
		return usageErrorf("flint manages the services of this machine only: -H/--host and -M/--machine (remote hosts, containers) are not supported.")
	}
	if g.has("wait") && g.noBlock {
		return usageErrorf("--wait may not be combined with --no-block.")
	}
	if g.has("marked") {
		if verb != "reload-or-restart" {
			return usageErrorf("--marked may only be used with 'reload-or-restart'.")
		}
		if len(operands) > 0 {
			return usageErrorf("No additional arguments allowed with 'reload-or-restart --marked'.")
		}
	}
	if g.has("image") && g.root != "" {
		return usageErrorf("Please specify either --root= or --image=, the combination of both is not supported.")
	}
	if g.has("image") {
		return usageErrorf("flint does not mount disk images: --image= is not supported (use --root= on a mounted file system).")
	}
	return nil
}

// has reports whether any of the options (by key) was given.
func (g *globals) has(keys ...string) bool {
	for _, k := range keys {
		if len(g.given[k]) > 0 {
			return true
		}
	}
	return false
}

// legendOn: systemctl prints column headers and hints unless --legend=no, --no-legend, -q
// or a JSON output turned them off.
func (g *globals) legendOn() bool { return g.legend != 0 }

// jsonOutput: -o json (and its json-pretty, json-sse, json-seq forms).
func (g *globals) jsonOutput() bool { return strings.HasPrefix(g.output, "json") }

// splitList splits a comma-separated option value, dropping empty words, as systemd's
// extract_first_word with "," does.
func splitList(v string) []string {
	var out []string
	for _, w := range strings.Split(v, ",") {
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

func lines(words []string) string {
	if len(words) == 0 {
		return ""
	}
	return strings.Join(words, "\n") + "\n"
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// parseBool is systemd's parse_boolean.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "1", "yes", "y", "true", "t", "on":
		return true, true
	case "0", "no", "n", "false", "f", "off":
		return false, true
	}
	return false, false
}

// signalNames are systemd 252's signal names 1..31 (signal_to_string without the SIG).
var signalNames = []string{"", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
	"PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM",
	"PROF", "WINCH", "IO", "PWR", "SYS"}

const sigRTMin, sigRTMax = 34, 64

// signalFromString is systemd's signal_from_string: a name with or without "SIG" (case
// matters), RTMIN[+n] and RTMAX[-n], or a number 1..64.
func signalFromString(s string) (syscall.Signal, bool) {
	name := strings.TrimPrefix(s, "SIG")
	for i, n := range signalNames {
		if i > 0 && n == name {
			return syscall.Signal(i), true
		}
	}
	rt := func(base string, sign int) (syscall.Signal, bool) {
		rest, ok := strings.CutPrefix(name, base)
		if !ok {
			return 0, false
		}
		off := 0
		if rest != "" {
			op := map[int]byte{1: '+', -1: '-'}[sign]
			if rest[0] != op {
				return 0, false
			}
			n, err := strconv.Atoi(rest[1:])
			if err != nil || n < 0 || n > sigRTMax-sigRTMin {
				return 0, false
			}
			off = n
		}
		if sign > 0 {
			return syscall.Signal(sigRTMin + off), true
		}
		return syscall.Signal(sigRTMax - off), true
	}
	if sig, ok := rt("RTMIN", 1); ok {
		return sig, true
	}
	if sig, ok := rt("RTMAX", -1); ok {
		return sig, true
	}
	if name != s {
		return 0, false // "SIG9" is no signal
	}
	n, err := strconv.Atoi(strings.TrimLeft(s, " \t\n"))
	if err != nil || n < 1 || n > sigRTMax {
		return 0, false
	}
	return syscall.Signal(n), true
}

// signalHelp is what systemctl -s help prints: systemd's signal table by number.
func signalHelp() []string {
	out := []string{"0"}
	out = append(out, signalNames[1:]...)
	out = append(out, "32", "33")
	for i := 0; i <= sigRTMax-sigRTMin; i++ {
		out = append(out, "RTMIN+"+strconv.Itoa(i))
	}
	return out
}
