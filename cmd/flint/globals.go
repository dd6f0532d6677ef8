package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/flint-init/flint/unit"
)

// globals are the options of one command line: flint's own (--control, --units) and
// systemctl's (see ctlopts.go), wherever they stood, before or after the verb.
type globals struct {
	prog       string   // argv[0] as invoked: getopt's messages start with it
	verb       string   // the verb being run
	control    string   // control socket path
	controlSet bool     // given by --control or FLINT_CONTROL (not the default)
	units      []string // --units DIR, repeatable; replaces the search path
	user       bool     // --user
	global     bool     // --global: the unit files of every user (implies user)
	// systemctl: invoked under the name systemctl (multi-call).
	systemctl bool

	given map[string][]string // option key -> how it was spelled, each time it was given
	help  bool                // -h/--help

	// what are clean's --what= words (none: the default).
	what []string

	types, states []string
	props         []string // -p/-P: nil when not given, empty for -p ''
	value         bool
	all           bool
	full          bool
	quiet         bool
	legend        int // -1: on unless -q; 0 off; 1 on
	plain         bool
	noBlock       bool
	now           bool
	runtime       bool
	reverse       bool
	showTypes     bool
	noPager       bool
	force         int
	jobMode       string // "" for replace
	killWhom      string // "" for all
	output        string // -o: "" for the default (short)
	root          string // --root: absolute, "" for none
	presetMode    string
	timestamp     string
	signal        syscall.Signal
	lines         int // -n: journal lines of status

	// systemd-analyze's
	analyzeTool bool   // invoked as systemd-analyze
	dot         string // --order or --require: the one kind of dependency dot draws
	notes       bool   // verify --notes
	security    securityOptions
	// fileScope is where the file verbs work, found once (files.go).
	fileScope *fileScope
}

func newGlobals(prog string) *globals {
	return &globals{prog: prog, given: map[string][]string{}, legend: -1, lines: 10, signal: syscall.SIGTERM}
}

// resolveControl sets the control socket path when no --control named it: FLINT_CONTROL,
// else the default for the scope.
func (g *globals) resolveControl() {
	if g.controlSet {
		return
	}
	if env := os.Getenv("FLINT_CONTROL"); env != "" {
		g.control, g.controlSet = env, true
		return
	}
	g.control = defaultControl(g.user || os.Getuid() != 0)
}

func defaultControl(user bool) string {
	if !user {
		return "/run/flint/control.sock"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "flint", "control.sock")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("flint-%d", os.Getuid()), "control.sock")
}

// scope is the unit search scope the options select.
func (g *globals) scope() unit.Scope {
	if g.user {
		return unit.User
	}
	return unit.System
}

const usageHead = `usage: %[1]s [OPTIONS...] VERB [ARGS...]

flint is a systemd-compatible service manager: 'flint run' is the manager, every other verb
talks to it through its control socket. The file verbs (enable, disable, mask, edit, preset,
is-enabled, list-unit-files, cat, ...) work on the manager's unit files and reload it, or on
unit files alone when no manager runs (and with --root DIR); analyze verify and activate
need none. Options may come before or after the verb, as systemctl takes them.

Where the manager is: --control PATH, else $FLINT_CONTROL, else /run/flint/control.sock
(root) or $XDG_RUNTIME_DIR/flint/control.sock (--user, or not root). Unit files: --units DIR
(repeatable) replaces the search path, the first DIR being where enable, mask and edit write;
$SYSTEMD_UNIT_PATH is honoured as by systemd.

Installed under other names (symlinks to the flint binary), flint is those tools:
  systemctl                  this command line (systemctl 252's options and verbs)
  journalctl                 flint logs
  systemd-analyze            flint analyze
  systemd-notify             sd_notify(3) from shell scripts
  systemd-socket-activate    flint activate
  systemd-tmpfiles           flint tmpfiles (tmpfiles.d(5))
e.g. ln -s /usr/local/bin/flint /usr/local/bin/systemctl

`

func usage(w io.Writer, prog string) {
	fmt.Fprintf(w, usageHead, filepath.Base(prog))
	fmt.Fprintln(w, "Options (systemctl's, before or after the verb; see systemctl(1)):")
	printCtlOptions(w)
	fmt.Fprintln(w, "\nverbs:")
	for _, n := range sortedVerbs() {
		fmt.Fprintf(w, "  %-20s %s\n", n, verbs[n].summary)
	}
}
