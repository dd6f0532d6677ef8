package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/show"
)

func init() {
	register(&verb{name: "list-units", summary: "list loaded units", usage: listUnitsUsage, manager: true, run: runListUnits})
	register(&verb{name: "list-sockets", summary: "list socket units and what they activate", usage: listSocketsUsage, manager: true, run: runListSockets})
	register(&verb{name: "list-timers", summary: "list timer units, their next and last elapse", usage: listTimersUsage, manager: true, run: runListTimers})
	register(&verb{name: "list-dependencies", summary: "show a unit's dependency tree", usage: listDepsUsage, manager: true, run: runListDeps})
	register(&verb{name: "is-active", summary: "check whether units are active", manager: true,
		usage: fmt.Sprintf(isStateUsage, "is-active", "ActiveState", "at least one unit is active", 3),
		run: func(g *globals, a []string) int {
			return untilTemplate(a, "Failed to retrieve unit state", func(a []string) int { return runIsState(g, "is-active", a) })
		}})
	register(&verb{name: "is-failed", summary: "check whether units failed", manager: true,
		usage: fmt.Sprintf(isStateUsage, "is-failed", "ActiveState", "at least one unit failed", 1),
		run: func(g *globals, a []string) int {
			return untilTemplate(a, "Failed to retrieve unit state", func(a []string) int { return runIsState(g, "is-failed", a) })
		}})
	register(&verb{name: "daemon-reload", summary: "reload unit files", usage: simpleUsage["daemon-reload"], manager: true, run: runSimple("daemon-reload")})
	register(&verb{name: "reset-failed", summary: "reset the failed state of units", usage: simpleUsage["reset-failed"], manager: true, run: runSimple("reset-failed")})
	register(&verb{name: "kill", summary: "send a signal to a unit's processes", usage: killUsage, manager: true, run: runKill})
	register(&verb{name: "clean", summary: "remove what units keep on disk (runtime, state, cache, logs, configuration)", usage: cleanUsage, manager: true, run: runClean})
	register(&verb{name: "list-jobs", summary: "list queued and running jobs", usage: listJobsUsage, manager: true, run: runListJobs})
	register(&verb{name: "is-system-running", summary: "print the manager's state (running, degraded, ...)", usage: isSystemRunningUsage, run: runIsSystemRunning})
}

// Colours, used only when stdout is a terminal.
const (
	ansiRed    = "\x1b[0;1;31m"
	ansiGreen  = "\x1b[0;1;32m"
	ansiYellow = "\x1b[0;1;33m"
	ansiBold   = "\x1b[0;1;39m"
	ansiNormal = "\x1b[0m"
)

// table prints rows as systemd's format-table does: columns separated by one space, padded
// to the widest cell (the last column is not padded). A cell's colour wraps its text only.
type table struct {
	rows   [][]string
	colors [][]string
}

func (t *table) add(color []string, cells ...string) {
	t.rows = append(t.rows, cells)
	t.colors = append(t.colors, color)
}

func (t *table) write(w io.Writer, useColor bool) {
	var width []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			if n := utf8.RuneCountInString(c); n > width[i] {
				width[i] = n
			}
		}
	}
	for ri, r := range t.rows {
		var b strings.Builder
		for i, c := range r {
			if i > 0 {
				b.WriteByte(' ')
			}
			col := ""
			if useColor && ri < len(t.colors) && i < len(t.colors[ri]) {
				col = t.colors[ri][i]
			}
			if col != "" {
				b.WriteString(col + c + ansiNormal)
			} else {
				b.WriteString(c)
			}
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

const listUnitsUsage = `usage: flint list-units [--all] [--type=TYPE[,TYPE]] [--state=STATE[,STATE]] [--failed] [--no-legend] [--plain] [--output=json] [PATTERN...]

List the units the manager has loaded, as systemctl list-units: without --all only those that
are not inactive or have a pending job; --state matches the LOAD, ACTIVE or SUB column.
`

func runListUnits(g *globals, args []string) int {
	all, states := g.all, g.states
	c := client.New(g.control)
	res, err := c.ListUnits(all, g.types, states, args)
	if err != nil {
		return reportClientError(err)
	}
	if g.jsonOutput() && g.systemctl {
		writeTableJSON(os.Stdout, g.output, unitRowsJSON(res))
		return 0
	}
	if g.jsonOutput() {
		if res == nil {
			res = []client.UnitInfo{}
		}
		writeJSON(res)
		return 0
	}
	legend := g.legendOn()
	plain := g.plain
	color := isTerminal(os.Stdout)
	jobs := 0
	for _, u := range res {
		if u.Job != "" {
			jobs++
		}
	}
	t := &table{}
	header := func(cells ...string) []string {
		out := []string{""}
		out = append(out, cells...)
		if jobs == 0 {
			out = append(out[:5], out[6:]...)
		}
		return out
	}
	if legend {
		t.add(nil, header("UNIT", "LOAD", "ACTIVE", "SUB", "JOB", "DESCRIPTION")...)
	}
	for _, u := range res {
		mark := " "
		var col []string
		switch {
		case u.Load == "error" || u.Load == "not-found" || u.Load == "bad-setting" || u.Load == "masked":
			mark = glyphs().blackCircle
			col = []string{ansiYellow, "", ansiRed}
		case u.Active == "failed":
			mark = glyphs().blackCircle
			col = []string{ansiRed, ansiRed, "", ansiRed, ansiRed}
		}
		t.add(col, header(u.Name, u.Load, u.Active, u.Sub, u.Job, unit.Printable(u.Description))...)
		t.rows[len(t.rows)-1][0] = mark
	}
	if plain {
		for i := range t.rows {
			t.rows[i] = t.rows[i][1:]
			t.colors[i] = nil
		}
	}
	t.write(os.Stdout, color)
	if legend {
		if len(res) > 0 {
			fmt.Println()
			fmt.Println("LOAD   = Reflects whether the unit definition was properly loaded.")
			fmt.Println("ACTIVE = The high-level unit activation state, i.e. generalization of SUB.")
			fmt.Println("SUB    = The low-level unit activation state, values depend on unit type.")
			if jobs > 0 {
				fmt.Println("JOB    = Pending job for the unit.")
				fmt.Println()
			}
		}
		seeFiles := fmt.Sprintf("To show all installed unit files use '%s list-unit-files'.\n", progName())
		switch {
		case all || contains(states, "inactive"):
			fmt.Printf("%d loaded units listed.\n%s", len(res), seeFiles)
		case len(states) == 0:
			fmt.Printf("%d loaded units listed. Pass --all to see loaded but inactive units, too.\n%s", len(res), seeFiles)
		default:
			fmt.Printf("%d loaded units listed.\n", len(res))
		}
	}
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func writeJSON(v any) {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

const listSocketsUsage = `usage: flint list-sockets [--all] [--show-types] [--no-legend] [--output=json] [PATTERN...]

List the listening addresses of socket units, and the service each one activates (- for
Accept=yes sockets, which start one instance per connection), as systemctl list-sockets.
`

func runListSockets(g *globals, args []string) int {
	all := g.all
	c := client.New(g.control)
	var res []client.SocketInfo
	if err := c.Do(&client.Request{Verb: api.VerbListSockets, All: all, Units: args}, &res); err != nil {
		return reportClientError(err)
	}
	if g.jsonOutput() && g.systemctl {
		writeTableJSON(os.Stdout, g.output, socketRowsJSON(res, g.showTypes))
		return 0
	}
	if g.jsonOutput() {
		if res == nil {
			res = []client.SocketInfo{}
		}
		writeJSON(res)
		return 0
	}
	legend := g.legendOn()
	types := g.showTypes
	t := &table{}
	row := func(cells ...string) []string {
		if !types {
			return append(cells[:1], cells[2:]...)
		}
		return cells
	}
	if legend {
		t.add(nil, row("LISTEN", "TYPE", "UNIT", "ACTIVATES")...)
	}
	for _, s := range res {
		act := strings.Join(s.Activates, " ")
		if act == "" {
			act = "-"
		}
		t.add(nil, row(s.Listen, s.Type, s.Unit, act)...)
	}
	t.write(os.Stdout, false)
	if legend {
		fmt.Printf("\n%d sockets listed.\n", len(res))
		if !all {
			fmt.Println("Pass --all to see loaded but inactive sockets, too.")
		}
	}
	return 0
}

const listTimersUsage = `usage: flint list-timers [--all] [--no-legend] [--output=json] [PATTERN...]

List the timer units that are active (every loaded one with --all), the next to elapse first,
with when they elapse next and last elapsed and the unit each starts, as systemctl
list-timers.
`

func runListTimers(g *globals, args []string) int {
	all := g.all
	c := client.New(g.control)
	var res []client.TimerInfo
	if err := c.Do(&client.Request{Verb: api.VerbListTimers, All: all, Units: args}, &res); err != nil {
		return reportClientError(err)
	}
	if g.jsonOutput() && g.systemctl {
		writeTableJSON(os.Stdout, g.output, timerRowsJSON(res))
		return 0
	}
	if g.jsonOutput() {
		if res == nil {
			res = []client.TimerInfo{}
		}
		writeJSON(res)
		return 0
	}
	legend := g.legendOn()
	t := &table{}
	if legend {
		t.add(nil, "NEXT", "LEFT", "LAST", "PASSED", "UNIT", "ACTIVATES")
	}
	stamp := func(at time.Time) (string, string) {
		if at.IsZero() {
			return "-", "-"
		}
		return show.FormatTimestamp(at), relative(at)
	}
	for _, r := range res {
		next, left := stamp(r.Next)
		last, passed := stamp(r.Last)
		act := strings.Join(r.Activates, " ")
		if act == "" {
			act = "-"
		}
		t.add(nil, next, left, last, passed, r.Unit, act)
	}
	t.write(os.Stdout, false)
	if legend {
		fmt.Printf("\n%d timers listed.\n", len(res))
		if !all {
			fmt.Println("Pass --all to see loaded but inactive timers, too.")
		}
	}
	return 0
}

const listDepsUsage = `usage: flint list-dependencies [--all] [--reverse] [UNIT]

Show the units UNIT (default.target if none) requires or wants, recursively for targets (for
every unit with --all); --reverse shows the units that depend on UNIT.
`

func runListDeps(g *globals, args []string) int {
	names := args
	if len(names) == 0 {
		names = []string{""} // the manager's default.target
	}
	c := client.New(g.control)
	for i, name := range names {
		nodes, err := c.ListDependencies(name, g.all, g.reverse)
		if err != nil {
			return reportClientError(err)
		}
		if g.jsonOutput() && !g.systemctl { // systemctl: -o json makes the list plain
			writeJSON(nodes)
			continue
		}
		if i > 0 {
			fmt.Fprintln(os.Stdout)
		}
		if g.plain {
			writeDepList(os.Stdout, nodes)
			continue
		}
		writeDepTree(os.Stdout, nodes, isTerminal(os.Stdout))
	}
	return 0
}

// writeDepList prints nodes as list-dependencies --plain does: the root, then every other
// unit once (where the tree first has it), indented by two spaces, without state or branch.
func writeDepList(w io.Writer, nodes []client.DepNode) {
	seen := map[string]bool{}
	for _, n := range nodes {
		switch {
		case n.Depth == 0:
			fmt.Fprintln(w, n.Unit)
		case !seen[n.Unit]:
			fmt.Fprintln(w, "  "+n.Unit)
		}
		seen[n.Unit] = true
	}
}

// writeDepTree draws nodes as systemctl list-dependencies does: the root alone, then each
// unit with its state glyph and "├─"/"└─" branches ("│ " where an ancestor has more).
func writeDepTree(w io.Writer, nodes []client.DepNode, color bool) {
	last := func(i int) bool {
		d := nodes[i].Depth
		for j := i + 1; j < len(nodes); j++ {
			if nodes[j].Depth < d {
				return true
			}
			if nodes[j].Depth == d {
				return false
			}
		}
		return true
	}
	var open []bool // open[d]: the ancestor at depth d has later siblings
	for i, n := range nodes {
		if n.Depth == 0 {
			fmt.Fprintln(w, n.Unit)
			continue
		}
		for len(open) <= n.Depth {
			open = append(open, false)
		}
		var b strings.Builder
		b.WriteString(dot(n.Active, color) + " ")
		for d := 1; d < n.Depth; d++ {
			if open[d] {
				b.WriteString(glyphs().treeVertical)
			} else {
				b.WriteString("  ")
			}
		}
		isLast := last(i)
		if isLast {
			b.WriteString(glyphs().treeRight)
		} else {
			b.WriteString(glyphs().treeBranch)
		}
		open[n.Depth] = !isLast
		b.WriteString(n.Unit)
		fmt.Fprintln(w, b.String())
	}
}

const isStateUsage = `usage: flint %s [-q|--quiet] UNIT...

Print the %s of each unit (active, inactive, failed, activating, ...). Exit status 0 if
%s, else %d.
`

func runIsState(g *globals, verb string, args []string) int {
	units, quiet := args, g.quiet
	if len(units) == 0 {
		fmt.Fprintln(os.Stderr, "Too few arguments.")
		return 1
	}
	c := client.New(g.control)
	units, err := expandUnits(g, c, units)
	if err != nil {
		return reportClientError(err)
	}
	code := 1
	if verb == "is-active" {
		code = 3
	}
	if len(units) == 0 {
		return code // patterns that matched no unit
	}
	var states []string
	if err := c.Do(&client.Request{Verb: api.Verb(verb), Units: units}, &states); err != nil {
		return reportClientError(err)
	}
	for _, s := range states {
		if !quiet {
			fmt.Println(s)
		}
		if verb == "is-active" && (s == "active" || s == "reloading") {
			code = 0
		}
		if verb == "is-failed" && s == "failed" {
			code = 0
		}
	}
	return code
}

func normalizeUnitName(n string) string {
	if i := strings.LastIndexByte(n, '.'); i > 0 {
		switch n[i+1:] {
		case "service", "socket", "target", "timer", "path", "mount", "slice", "scope", "device", "swap", "automount":
			return n
		}
	}
	return n + ".service"
}

// isGlob says whether a unit name is a pattern (systemd's string_is_glob).
func isGlob(n string) bool { return strings.ContainsAny(n, "*?[") }

// expandUnits is systemctl's expand_unit_names: the names that are no pattern, completed
// (normalizeUnitName), then the loaded units the patterns match, as list-units lists them
// with the same options: inactive ones only with --all, of the --type= and --state= given.
// Without a pattern the manager is not asked.
func expandUnits(g *globals, c *client.Client, names []string) ([]string, error) {
	var out, globs []string
	for _, n := range names {
		if isGlob(n) {
			globs = append(globs, n)
		} else {
			out = append(out, normalizeUnitName(n))
		}
	}
	if len(globs) == 0 {
		return out, nil
	}
	infos, err := c.ListUnits(g.all, g.types, g.states, globs)
	if err != nil {
		return nil, err
	}
	for _, u := range infos {
		if !slices.Contains(out, u.Name) {
			out = append(out, u.Name)
		}
	}
	return out, nil
}

// untilTemplate runs a verb that asks the manager for unit objects by name (show, status,
// is-active, is-failed) as systemctl runs it on systemd: a template name without its
// instance names no unit object and systemd refuses it, so systemctl stops there, after the
// units named before it, with what (its message) and exit status 1.
func untilTemplate(args []string, what string, run func([]string) int) int {
	for i, a := range args {
		if n := normalizeUnitName(a); unit.IsTemplate(n) {
			if i > 0 {
				run(args[:i])
			}
			fmt.Fprintf(os.Stderr, "%s: Unit name %s is neither a valid invocation ID nor unit name.\n", what, n)
			return 1
		}
	}
	return run(args)
}

var simpleUsage = map[string]string{
	"daemon-reload": `usage: flint daemon-reload

Make the manager re-read the unit files. Running services keep running; a socket whose
Listen*= did not change keeps its open file descriptors and pending connections; a changed
address takes effect when the socket is restarted.
`,
	"reset-failed": `usage: flint reset-failed [UNIT...]

Reset the failed state (and the start-limit counter) of the units, of all units if none is
named.
`,
}

func runSimple(verb string) func(g *globals, args []string) int {
	return func(g *globals, args []string) int {
		c := client.New(g.control)
		var err error
		switch verb {
		case "daemon-reload":
			if len(args) > 0 {
				fmt.Fprintln(os.Stderr, "Too many arguments.")
				return 1
			}
			err = c.DaemonReload()
		default:
			err = c.ResetFailed(args)
		}
		if err != nil {
			if code := reportClientError(err); code != 5 {
				return code
			}
			return 1 // systemctl reset-failed exits 1 for a unit that is not loaded
		}
		return 0
	}
}

const killUsage = `usage: flint kill [-s SIGNAL] [--kill-whom=all|main|control] UNIT...

Send a signal (default SIGTERM) to the processes of units: all of them, the main process or
the control process.
`

func runKill(g *globals, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "Too few arguments.")
		return 1
	}
	c := client.New(g.control)
	units, err := expandUnits(g, c, args)
	if err != nil {
		return reportClientError(err)
	}
	if len(units) == 0 {
		return 0 // patterns that matched no unit
	}
	whom := g.killWhom
	if whom == "" {
		whom = "all"
	}
	if err := c.Kill(units, int(g.signal), whom); err != nil {
		code := reportClientError(err)
		if code == 5 {
			code = 1 // systemctl kill exits 1 for a unit that is not loaded
		}
		return code
	}
	return 0
}

const cleanUsage = `usage: flint clean [--what=KIND[,KIND]]... [--no-block] UNIT...

Remove what the units keep on disk, as systemctl clean: the RuntimeDirectory=,
StateDirectory=, CacheDirectory=, LogsDirectory= and ConfigurationDirectory= of the kinds
given (runtime, state, cache, logs, configuration, all; default cache and runtime; with
DynamicUser=, their private directories), a Persistent= timer's stamp file (state). A unit
must be inactive and have no job (a failed one: reset-failed first). The removal takes at
most TimeoutCleanSec=; flint clean waits for it unless --no-block. Exit status 1 when a unit
could not be cleaned.
`

func runClean(g *globals, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "Too few arguments.")
		return 1
	}
	units := make([]string, len(args))
	for i, a := range args {
		units[i] = normalizeUnitName(a)
	}
	what := g.what
	if len(what) == 0 {
		what = []string{"cache", "runtime"} // systemctl's default
	}
	if err := client.New(g.control).Clean(units, what, g.noBlock); err != nil {
		reportClientError(err)
		return 1
	}
	return 0
}

const isSystemRunningUsage = `usage: flint is-system-running [-q|--quiet]

Print the manager's state as systemctl is-system-running does: starting (jobs are queued),
running, degraded (some unit failed), stopping, or offline (no manager answers). Exit status
0 only for running.
`

func runIsSystemRunning(g *globals, args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(os.Stderr, "Too many arguments.")
		return 1
	}
	quiet := g.quiet
	state := "offline"
	if ov, err := client.New(g.control).Overview(); err == nil {
		state = ov.State
	} else if !errors.Is(err, client.ErrNoManager) {
		return reportClientError(err)
	}
	if !quiet {
		fmt.Println(state)
	}
	if state == "running" {
		return 0
	}
	return 1
}

const listJobsUsage = `usage: flint list-jobs [--no-legend] [--output=json]

List the jobs the manager has queued or is running, as systemctl list-jobs.
`

func runListJobs(g *globals, args []string) int {
	jobs, err := client.New(g.control).ListJobs()
	if err != nil {
		return reportClientError(err)
	}
	if g.jsonOutput() && g.systemctl {
		if len(jobs) > 0 { // systemctl prints nothing for no job
			rows := [][]jsonCell{}
			for _, j := range jobs {
				rows = append(rows, []jsonCell{{"job", uint64(j.ID)}, {"unit", j.Unit}, {"type", j.Type}, {"state", j.State}})
			}
			writeTableJSON(os.Stdout, g.output, rows)
		}
		return 0
	}
	if g.jsonOutput() {
		if jobs == nil {
			jobs = []client.JobInfo{}
		}
		writeJSON(jobs)
		return 0
	}
	legend := g.legendOn()
	if len(jobs) == 0 {
		if legend {
			fmt.Println("No jobs running.")
		}
		return 0
	}
	t := &table{}
	if legend {
		t.add(nil, "JOB", "UNIT", "TYPE", "STATE")
	}
	for _, j := range jobs {
		t.add(nil, strconv.Itoa(j.ID), j.Unit, j.Type, j.State)
	}
	t.write(os.Stdout, false)
	if legend {
		fmt.Printf("\n%d jobs listed.\n", len(jobs))
	}
	return 0
}
