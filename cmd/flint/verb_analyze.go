package main

import (
	"fmt"
	"github.com/flint-init/flint/internal/getopt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/flint-init/flint/unit"
)

func init() {
	register(&verb{name: "analyze", summary: "analyze units (verify FILE..., and more sub-verbs; systemd-analyze's options)", rawArgs: true, run: runAnalyze})
	registerAnalyze("verify", "check unit files and print their problems as file:line: message", runAnalyzeVerify)
}

// analyzeVerb is one `flint analyze` sub-verb. Files add theirs with registerAnalyze from
// init (critical-chain, plot, dot, ...).
type analyzeVerb struct {
	summary string
	run     func(g *globals, args []string) int
}

var analyzeVerbs = map[string]*analyzeVerb{}

func registerAnalyze(name, summary string, run func(g *globals, args []string) int) {
	analyzeVerbs[name] = &analyzeVerb{summary: summary, run: run}
}

func analyzeUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: flint analyze SUB-VERB [ARGS...]")
	fmt.Fprintln(w, "\nsub-verbs:")
	names := make([]string, 0, len(analyzeVerbs))
	for n := range analyzeVerbs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, analyzeVerbs[n].summary)
	}
}

// runAnalyzeTool is flint under the name systemd-analyze: flint analyze.
func runAnalyzeTool(prog string, args []string) int {
	invokedAs = "systemd-analyze"
	g := newGlobals(prog)
	g.verb = "analyze"
	g.analyzeTool = true
	return runAnalyze(g, args)
}

// saSpec is systemd-analyze 252's option table ("hH:M:U:q"), with flint's --control and
// --units and verify's --notes (whole names only).
var saSpec = &getopt.Spec{Options: []getopt.Option{
	{Long: "help", Short: 'h'},
	{Long: "version"},
	{Long: "quiet", Short: 'q'},
	{Long: "order"},
	{Long: "require"},
	{Long: "root", Arg: getopt.RequiredArg},
	{Long: "image", Arg: getopt.RequiredArg},
	{Long: "recursive-errors", Arg: getopt.RequiredArg},
	{Long: "offline", Arg: getopt.RequiredArg},
	{Long: "threshold", Arg: getopt.RequiredArg},
	{Long: "security-policy", Arg: getopt.RequiredArg},
	{Long: "system"},
	{Long: "user"},
	{Long: "global"},
	{Long: "from-pattern", Arg: getopt.RequiredArg},
	{Long: "to-pattern", Arg: getopt.RequiredArg},
	{Long: "fuzz", Arg: getopt.RequiredArg},
	{Long: "no-pager"},
	{Long: "man", Arg: getopt.OptionalArg},
	{Long: "generators", Arg: getopt.OptionalArg},
	{Long: "host", Short: 'H', Arg: getopt.RequiredArg},
	{Long: "machine", Short: 'M', Arg: getopt.RequiredArg},
	{Long: "iterations", Arg: getopt.RequiredArg},
	{Long: "base-time", Arg: getopt.RequiredArg},
	{Long: "unit", Short: 'U', Arg: getopt.RequiredArg},
	{Long: "json", Arg: getopt.RequiredArg},
	{Long: "profile", Arg: getopt.RequiredArg},
	{Long: "control", Arg: getopt.RequiredArg, Exact: true},
	{Long: "units", Arg: getopt.RequiredArg, Exact: true},
	{Long: "notes", Exact: true},
}}

// runAnalyze reads systemd-analyze's command line and runs the sub-verb.
func runAnalyze(g *globals, args []string) int {
	p := saSpec.Parse(args)
	for {
		f, ok, err := p.Next()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", g.prog, err)
			return 1
		}
		if !ok {
			break
		}
		switch f.Key() {
		case "help":
			if ops := p.Operands(); len(ops) > 0 && ops[0] == "verify" {
				fmt.Print(verifyUsage)
			} else if len(ops) > 0 && ops[0] == "security" {
				fmt.Print(securityUsage)
			} else {
				analyzeUsage(os.Stdout)
			}
			return 0
		case "version":
			fmt.Println(versionString)
			return 0
		case "order", "require":
			g.dot = f.Key()
		case "man", "generators":
			// flint checks no man pages and runs no generators: both values mean the same.
			if _, ok := parseBool(f.Value); f.HasValue && !ok {
				fmt.Fprintf(os.Stderr, "Failed to parse boolean argument to --%s: %s.\n", f.Key(), f.Value)
				return 1
			}
		case "quiet", "no-pager":
			// flint prints no hints and uses no pager
		case "system":
			g.user = false
		case "user":
			g.user = true
		case "control":
			g.control, g.controlSet = f.Value, true
		case "units":
			g.units = append(g.units, f.Value)
		case "notes":
			g.notes = true
		case "offline", "threshold", "json", "security-policy":
			if err := g.security.set(f.Key(), f.Value); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		default:
			fmt.Fprintf(os.Stderr, "%s: option %s is not supported by flint.\n", filepath.Base(g.prog), f.Spelled)
			return 1
		}
	}
	g.resolveControl()
	ops := p.Operands()
	if len(ops) == 0 {
		if g.analyzeTool {
			fmt.Fprintln(os.Stderr, "systemd-analyze: the verb time (the default) is not supported by flint; see --help.")
			return 1
		}
		analyzeUsage(os.Stderr)
		return 2
	}
	if ops[0] == "help" {
		analyzeUsage(os.Stdout)
		return 0
	}
	v, ok := analyzeVerbs[ops[0]]
	if !ok {
		if g.analyzeTool {
			fmt.Fprintf(os.Stderr, "Unknown command verb %s.\n", ops[0])
			return 1
		}
		fmt.Fprintf(os.Stderr, "flint analyze: unknown sub-verb %q\n", ops[0])
		analyzeUsage(os.Stderr)
		return 2
	}
	if len(g.security.given) > 0 && ops[0] != "security" {
		fmt.Fprintln(os.Stderr, securityOnly(g.security.given[0]))
		return 1
	}
	if g.dot != "" && ops[0] != "dot" {
		fmt.Fprintf(os.Stderr, "%s: --%s is for dot only.\n", filepath.Base(g.prog), g.dot)
		return 1
	}
	return v.run(g, ops[1:])
}

const verifyUsage = `usage: flint analyze verify [--notes] FILE|UNIT...

Load unit files as systemd-analyze verify does: each FILE's directory is searched first, then
the unit path (--units DIR, or the default path). Every problem is printed as
"file:line: message" (or "unit: message" when it concerns the whole unit). The exit status is
1 when a unit does not load (bad setting, not found), a command to run is not executable, or a
unit it requires does not exist; warnings alone exit 0. Each directive flint parses but does not
enforce is warned about at its file and line; --notes also lists them per unit.
`

// execSearchPath is where systemd looks up an Exec*= program given without a directory.
var execSearchPath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

func runAnalyzeVerify(g *globals, args []string) int {
	notes, targets := g.notes, args
	if len(targets) == 0 {
		fmt.Fprint(os.Stderr, verifyUsage)
		return 2
	}
	r := verifyUnits(os.Stdout, g, targets, notes)
	return r
}

// verifyUnits checks targets and writes the diagnostics to w; it returns the exit status.
func verifyUnits(w io.Writer, g *globals, targets []string, notes bool) int {
	status := 0
	var dirs, names []string
	seenDir := map[string]bool{}
	for _, t := range targets {
		name := filepath.Base(t)
		if !unit.IsValidName(name) || unit.IsTemplate(name) && !strings.Contains(t, "/") {
			fmt.Fprintf(w, "Failed to prepare filename %s: Invalid argument\n", unit.Printable(t))
			status = 1
			continue
		}
		if strings.Contains(t, "/") || fileExists(t) {
			abs, err := filepath.Abs(t)
			if err != nil {
				fmt.Fprintf(w, "Failed to prepare filename %s: %v\n", unit.Printable(t), unit.Printable(err.Error()))
				status = 1
				continue
			}
			if d := filepath.Dir(abs); !seenDir[d] {
				seenDir[d] = true
				dirs = append(dirs, d)
			}
		}
		names = append(names, name)
	}
	for _, d := range searchPath(g) {
		if !seenDir[d] {
			seenDir[d] = true
			dirs = append(dirs, d)
		}
	}
	l := unit.NewLoader(g.scope(), dirs)
	for _, name := range names {
		if verifyUnit(w, l, name, notes) {
			status = 1
		}
	}
	return status
}

// verifyUnit prints the problems of one unit and reports whether any is an error.
func verifyUnit(w io.Writer, l *unit.Loader, name string, notes bool) bool {
	if unit.IsTemplate(name) {
		// A template cannot be loaded itself: check its instance "i", as systemd-analyze does.
		inst, err := unit.Instantiate(name, "i")
		if err == nil {
			name = inst
		}
	}
	u := l.Load(name)
	failed, fatalLine := false, false
	var fatalErrno syscall.Errno
	for _, d := range u.Diagnostics {
		if d.Severity == unit.Error {
			failed = true
			fatalLine = fatalLine || d.Line > 0
			if fatalErrno == 0 {
				fatalErrno = d.Errno
			}
		}
		// d.Msg is Printable already; the file name may come from a hostile directory
		if d.Line > 0 {
			fmt.Fprintf(w, "%s:%d: %s\n", unit.Printable(d.File), d.Line, d.Msg)
		} else {
			fmt.Fprintf(w, "%s: %s\n", u.Name, d.Msg)
		}
	}
	switch u.LoadState {
	case unit.NotFound:
		fmt.Fprintf(w, "Unit %s not found.\n", name)
		return true
	case unit.Masked:
		fmt.Fprintf(w, "Unit %s is masked.\n", u.Name)
		return true
	case unit.LoadError:
		const failedToLoad = "Unit %s failed to load properly, please adjust/correct and reload service manager: %s\n"
		switch {
		case fatalLine:
			// a fatal syntax error (config_parse() fails with EBADMSG, EINVAL for invalid
			// UTF-8, ENOBUFS for a line too long): the lines before it were applied and
			// reported above, as systemd-analyze does
			if fatalErrno == 0 {
				fatalErrno = syscall.EBADMSG
			}
			fmt.Fprintf(w, failedToLoad, u.Name, unit.Strerror(fatalErrno))
		case !failed:
			// the unit file could not be read (a directory): LoadError names it and says why
			fmt.Fprintf(w, failedToLoad, u.Name, u.LoadError)
		default:
			fmt.Fprintf(w, "%s: Unit configuration has fatal error, unit will not be started.\n", u.Name)
			fmt.Fprintf(w, "Unit %s failed to load properly: %s\n", u.Name, u.LoadError)
		}
		return true
	case unit.BadSetting:
		// systemd says so after an error at a line; a unit refused as a whole (no Listen=,
		// no ExecStart=) only gets its reason and the line below.
		if fatalLine {
			fmt.Fprintf(w, "%s: Unit configuration has fatal error, unit will not be started.\n", u.Name)
		}
		fmt.Fprintf(w, "Unit %s has a bad unit file setting.\n", u.Name)
		return true
	}
	for _, c := range unitCommands(u) {
		if c.Flags.IgnoreFailure {
			continue
		}
		if err := checkExecutable(c.Path); err != nil {
			fmt.Fprintf(w, "%s: Command %s is not executable: %s\n", u.Name, c.Path, err)
			failed = true
		}
	}
	if u.Socket != nil && !u.Socket.Accept {
		if svc := u.SocketService(); l.Load(svc).LoadState != unit.Loaded {
			fmt.Fprintf(w, "%s: service %s not loaded, socket cannot be started.\n", u.Name, svc)
			failed = true
		}
	}
	for _, deps := range [][]string{u.Unit.Requires, u.Unit.Requisite, u.Unit.BindsTo} {
		for _, dep := range deps {
			switch unit.TypeOf(dep) {
			case unit.TypeService, unit.TypeSocket, unit.TypeTarget:
			default:
				continue // devices, mounts, slices...: systemd makes them up; flint does not load them
			}
			switch d := l.Load(dep); d.LoadState {
			case unit.NotFound:
				fmt.Fprintf(w, "%s: Failed to create %s/start: Unit %s not found.\n", u.Name, u.Name, dep)
				failed = true
			case unit.Masked:
				fmt.Fprintf(w, "%s: Failed to create %s/start: Unit %s is masked.\n", u.Name, u.Name, dep)
				failed = true
			}
		}
	}
	warnNotEnforced(w, l, u)
	warnBPF(w, l, u) // verify_bpf.go
	if notes {
		if e := execContext(u); e != nil && len(e.NotEnforced) > 0 {
			fmt.Fprintf(w, "%s: note: parsed but not enforced by flint: %s\n", u.Name, strings.Join(dedupe(e.NotEnforced), ", "))
		}
	}
	return failed
}

func unitCommands(u *unit.Unit) []unit.ExecCommand {
	var out []unit.ExecCommand
	if s := u.Service; s != nil {
		for _, l := range [][]unit.ExecCommand{s.ExecCondition, s.ExecStartPre, s.ExecStart, s.ExecStartPost, s.ExecReload, s.ExecStop, s.ExecStopPost} {
			out = append(out, l...)
		}
	}
	if s := u.Socket; s != nil {
		for _, l := range [][]unit.ExecCommand{s.ExecStartPre, s.ExecStartPost, s.ExecStopPre, s.ExecStopPost} {
			out = append(out, l...)
		}
	}
	return out
}

func execContext(u *unit.Unit) *unit.ExecContext {
	switch {
	case u.Service != nil:
		return u.Service.Exec
	case u.Socket != nil:
		return u.Socket.Exec
	}
	return nil
}

// checkExecutable reports why path (absolute, or a bare name looked up on systemd's fixed
// search path) cannot be executed, in the words of strerror.
func checkExecutable(path string) error {
	if !strings.HasPrefix(path, "/") {
		for _, d := range execSearchPath {
			if checkExecutable(filepath.Join(d, path)) == nil {
				return nil
			}
		}
		return fmt.Errorf("No such file or directory")
	}
	fi, err := os.Stat(path)
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("No such file or directory")
	case os.IsPermission(err):
		return fmt.Errorf("Permission denied")
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("Is a directory")
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("Permission denied")
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func dedupe(l []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range l {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
