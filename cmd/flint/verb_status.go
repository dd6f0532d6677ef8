package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/show"
)

func init() {
	register(&verb{name: "status", summary: "show runtime status of units", usage: statusUsage, manager: true,
		run: func(g *globals, a []string) int {
			return untilTemplate(a, "Failed to get properties", func(a []string) int { return runStatus(g, a) })
		}})
}

const statusUsage = `usage: flint status [-n N] [--output=json] [UNIT|PATTERN...]

Show the runtime status of units in systemctl's layout ("● name - Description", Loaded:,
Active:, Triggers:/TriggeredBy:, Listen:, Accepted:, Main PID:, Status:, Tasks:, then the
last N log lines, default 10). Exit status: 0 if the (first) unit is active, 3 if not, 4 if
no such unit. Without units: the manager's state and its processes, unit by unit.
`

// statusOverview is `flint status` without units: systemctl's system overview (State,
// Units, Jobs, Failed, Since) and then every unit that has processes, with them.
func statusOverview(g *globals, c *client.Client) int {
	ov, err := c.Overview()
	if err != nil {
		return reportClientError(err)
	}
	sts, err := c.Status(nil, -1)
	if err != nil {
		return reportClientError(err)
	}
	if g.jsonOutput() {
		writeJSON(map[string]any{"manager": ov, "units": sts})
		return 0
	}
	color := isTerminal(os.Stdout)
	host, _ := os.Hostname()
	w := os.Stdout
	mark := glyphs().blackCircle
	if color {
		switch ov.State {
		case "running":
			mark = ansiGreen + mark + ansiNormal
		case "degraded":
			mark = ansiRed + mark + ansiNormal
		default:
			mark = ansiYellow + mark + ansiNormal
		}
	}
	fmt.Fprintf(w, "%s %s\n", mark, host)
	fmt.Fprintf(w, "    State: %s\n", ov.State)
	fmt.Fprintf(w, "    Units: %d loaded (incl. loaded aliases)\n", ov.Units)
	fmt.Fprintf(w, "     Jobs: %d queued\n", ov.Jobs)
	fmt.Fprintf(w, "   Failed: %d units\n", ov.Failed)
	fmt.Fprintf(w, "    Since: %s; %s ago\n", ov.Since.Format(show.TimestampLayout), ago(time.Since(ov.Since)))
	if g.systemctl {
		// systemctl's lines: the manager's version and taints
		props, _ := c.ManagerProperties()
		for _, p := range props {
			switch {
			case p.Name == "Version":
				fmt.Fprintf(w, "  systemd: %s\n", p.Value)
			case p.Name == "Tainted" && p.Value != "":
				fmt.Fprintf(w, "  Tainted: %s\n", p.Value)
			}
		}
	} else {
		fmt.Fprintf(w, "    flint: pid %d\n", ov.PID)
	}
	if ov.Cgroups != "" {
		fmt.Fprintf(w, "  Cgroups: %s\n", ov.Cgroups)
	}
	var withProcs []client.UnitStatus
	for _, st := range sts {
		if len(st.Processes) > 0 {
			withProcs = append(withProcs, st)
		}
	}
	for i, st := range withProcs {
		branch, cont := glyphs().treeBranch, glyphs().treeVertical
		if i == len(withProcs)-1 {
			branch, cont = glyphs().treeRight, "  "
		}
		prefix := "   Units: "
		if i > 0 {
			prefix = "          "
		}
		fmt.Fprintf(w, "%s%s%s\n", prefix, branch, st.Name)
		for j, p := range st.Processes {
			b := glyphs().treeBranch
			if j == len(st.Processes)-1 {
				b = glyphs().treeRight
			}
			fmt.Fprintf(w, "          %s%s%d %s\n", cont, b, p.PID, unit.Printable(p.Command))
		}
	}
	return 0
}

func runStatus(g *globals, args []string) int {
	lines, units := g.lines, args
	if g.output != "" && g.output != "short" && !g.jsonOutput() {
		fmt.Fprintf(os.Stderr, "%s status: output mode %s is not supported by flint (short and json are).\n", progName(), g.output)
		return 1
	}
	if lines == 0 {
		lines = -1 // none
	}
	c := client.New(g.control)
	if len(units) == 0 {
		return statusOverview(g, c)
	}
	units, pidCode := unitsOfPIDs(c, units)
	if len(units) == 0 {
		return pidCode
	}
	if slices.ContainsFunc(units, isGlob) {
		var err error
		if units, err = expandUnits(g, c, units); err != nil {
			return reportClientError(err)
		}
		if len(units) == 0 {
			return pidCode // patterns that matched no unit
		}
	}
	sts, err := c.Status(units, lines)
	if err != nil {
		code := reportClientError(err)
		if errors.Is(err, client.ErrNoManager) {
			return code
		}
		if len(units) > 0 {
			return 4
		}
		return 1
	}
	if g.jsonOutput() {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(sts)
	}
	// The state glyphs of Triggers:/TriggeredBy: need the other units' states.
	var related []string
	for _, st := range sts {
		p := propMap(st.Props)
		related = append(related, strings.Fields(p["Triggers"]+" "+p["TriggeredBy"])...)
	}
	relatedStates = map[string]string{}
	if len(related) > 0 {
		if states, err := c.ActiveStates(related); err == nil && len(states) == len(related) {
			for i, n := range related {
				relatedStates[n] = states[i]
			}
		}
	}
	code := pidCode
	for i, st := range sts {
		p := propMap(st.Props)
		if p["LoadState"] == "not-found" && p["ActiveState"] == "inactive" && len(units) > 0 {
			fmt.Fprintf(os.Stderr, "Unit %s could not be found.\n", st.Name)
			if code == 0 {
				code = 4
			}
			continue
		}
		if !g.jsonOutput() {
			if i > 0 {
				fmt.Println()
			}
			printStatus(os.Stdout, st, isTerminal(os.Stdout))
			if p["NeedDaemonReload"] == "yes" {
				fmt.Fprintf(os.Stderr, "Warning: The unit file, source configuration file or drop-ins of %s changed on disk. Run '%s daemon-reload' to reload units.\n", st.Name, progName())
			}
		}
		if p["ActiveState"] != "active" && p["ActiveState"] != "reloading" && code == 0 {
			code = 3
		}
	}
	return code
}

// unitsOfPIDs replaces the PIDs among the arguments of status by the units they belong to,
// as systemctl status PID: a PID of no unit is an error (exit 1) and left out.
func unitsOfPIDs(c *client.Client, args []string) ([]string, int) {
	code := 0
	var out []string
	for _, a := range args {
		pid, err := strconv.ParseUint(a, 10, 32)
		if err != nil {
			out = append(out, a)
			continue
		}
		name, err := c.UnitByPID(int(pid))
		if err != nil {
			var ce *client.Error
			if !errors.As(err, &ce) {
				return nil, reportClientError(err)
			}
			fmt.Fprintf(os.Stderr, "Failed to get unit for PID %d: %s\n", pid, ce.Msg)
			code = 1
			continue
		}
		out = append(out, name)
	}
	return out, code
}

func propMap(ps []client.Property) map[string]string {
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		if _, dup := m[p.Name]; dup {
			m[p.Name] += "\n" + p.Value
			continue
		}
		m[p.Name] = p.Value
	}
	return m
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// dot returns systemctl's state bullet for an ActiveState.
func dot(active string, color bool) string {
	d := glyphs().blackCircle
	c := ""
	switch active {
	case "active", "reloading":
		c = "\x1b[0;1;32m"
	case "failed":
		c, d = "\x1b[0;1;31m", glyphs().multiplySign
	case "activating", "deactivating":
		c = "\x1b[0;1;33m"
	default:
		d = glyphs().whiteCircle
	}
	if color && c != "" {
		return c + d + "\x1b[0m"
	}
	return d
}

// printStatus prints one unit in systemctl status's layout.
func printStatus(w io.Writer, st client.UnitStatus, color bool) {
	p := propMap(st.Props)
	title := st.Name
	// Every value that comes from a unit file or a process goes through unit.Printable: a
	// hostile Description=, drop-in name, STATUS= or argv must not drive the terminal.
	if d := p["Description"]; d != "" && d != st.Name {
		title += " - " + unit.Printable(d)
	}
	fmt.Fprintf(w, "%s %s\n", dot(p["ActiveState"], color), title)
	loaded := p["LoadState"]
	// As systemctl: the file a generator made the unit from (SourcePath=), else the unit file.
	if fp := cmp.Or(p["SourcePath"], p["FragmentPath"]); fp != "" && p["LoadState"] == "loaded" {
		extra := unit.Printable(fp)
		if ufs := p["UnitFileState"]; ufs != "" {
			extra += "; " + ufs
			// systemctl leaves the preset out where it would only confuse.
			if pr := p["UnitFilePreset"]; pr != "" && !contains([]string{"alias", "static", "generated", "transient"}, ufs) {
				extra += "; preset: " + pr
			}
		}
		loaded += " (" + extra + ")"
	}
	switch p["LoadState"] {
	case "not-found":
		loaded += " (Reason: Unit " + st.Name + " not found.)"
	case "masked":
		loaded += " (Reason: Unit " + st.Name + " is masked.)"
	case "bad-setting", "error":
		loaded += " (Reason: Unit " + st.Name + " has a bad unit file setting.)"
		if le := p["LoadError"]; le != "" {
			loaded += "\n     Error: " + unit.Printable(le)
		}
	}
	fmt.Fprintf(w, "     Loaded: %s\n", loaded)
	if dp := p["DropInPaths"]; dp != "" {
		for i, l := range dropInLines(strings.Fields(dp)) {
			l = unit.Printable(l)
			if i == 0 {
				fmt.Fprintf(w, "    Drop-In: %s\n", l)
			} else {
				fmt.Fprintf(w, "             %s\n", l)
			}
		}
	}
	active := p["ActiveState"]
	if sub := p["SubState"]; sub != "" && sub != active {
		active += " (" + sub + ")"
	}
	if r := p["Result"]; r != "" && r != "success" {
		rearm := ""
		if p["ActiveState"] == "failed" {
			rearm = rearming(p["FlintTriggerLimitRearmTimestamp"], p["FlintTriggerLimitRearmWaitsFor"], time.Now())
		}
		active += " (Result: " + r + rearm + ")"
	}
	if color {
		// As systemctl: the state green when active, red when failed.
		switch p["ActiveState"] {
		case "active", "reloading":
			active = ansiGreen + active + ansiNormal
		case "failed":
			active = ansiRed + active + ansiNormal
		}
	}
	var since string
	switch p["ActiveState"] {
	case "active", "reloading":
		since = p["ActiveEnterTimestamp"]
	case "inactive", "failed":
		since = p["InactiveEnterTimestamp"]
	case "activating":
		since = p["InactiveExitTimestamp"]
	default:
		since = p["ActiveExitTimestamp"]
	}
	if since != "" {
		if t, err := time.Parse(show.TimestampLayout, since); err == nil {
			active += " since " + since + "; " + ago(time.Since(t)) + " ago"
		}
	}
	fmt.Fprintf(w, "     Active: %s\n", active)
	if d, ok := activeDuration(p); ok {
		fmt.Fprintf(w, "   Duration: %s\n", unit.FormatTimespanAccuracy(d, time.Millisecond))
	}
	// systemctl 252's order; the units a unit triggers always get ●, those that trigger it
	// the glyph of their state.
	if t := p["TriggeredBy"]; t != "" {
		fmt.Fprintf(w, "TriggeredBy: %s\n", bulletList(t, true))
	}
	if strings.HasSuffix(st.Name, ".timer") {
		fmt.Fprintf(w, "    Trigger: %s\n", timerTrigger(p))
	}
	if t := p["Triggers"]; t != "" {
		fmt.Fprintf(w, "   Triggers: %s\n", bulletList(t, false))
	}
	unmetLines(w, p, "Condition", "ConditionResult", "ConditionTimestamp", "FlintUnmetConditions")
	unmetLines(w, p, "Assert", "AssertResult", "AssertTimestamp", "FlintUnmetAsserts")
	for i, d := range unit.SplitStrv(p["Documentation"]) {
		label := "       Docs:"
		if i > 0 {
			label = "            "
		}
		fmt.Fprintf(w, "%s %s\n", label, unit.Printable(d))
	}
	if l := p["Listen"]; l != "" {
		for i, x := range strings.Split(l, "\n") {
			x = unit.Printable(x)
			if i == 0 {
				fmt.Fprintf(w, "     Listen: %s\n", x)
			} else {
				fmt.Fprintf(w, "             %s\n", x)
			}
		}
	}
	if p["Accept"] == "yes" {
		fmt.Fprintf(w, "   Accepted: %s; Connected: %s;", p["NAccepted"], p["NConnections"])
		if r := p["NRefused"]; r != "" && r != "0" {
			fmt.Fprintf(w, " Refused: %s", r)
		}
		fmt.Fprintln(w)
	}
	printProcesses(w, st.Props)
	if pid := p["MainPID"]; pid != "" && pid != "0" {
		comm := ""
		for _, pr := range st.Processes {
			if strconv.Itoa(pr.PID) == pid {
				comm = pr.Command
			}
		}
		if f := strings.Fields(comm); len(f) > 0 {
			comm = " (" + unit.Printable(baseName(f[0])) + ")"
		}
		fmt.Fprintf(w, "   Main PID: %s%s\n", pid, comm)
	} else if pid := p["ExecMainPID"]; pid != "" && pid != "0" && p["ExecMainCode"] != "" && p["ExecMainCode"] != "0" {
		fmt.Fprintf(w, "   Main PID: %s (%s)\n", pid, exitWords(codeName(p["ExecMainCode"]), p["ExecMainStatus"]))
	}
	if s := p["StatusText"]; s != "" {
		fmt.Fprintf(w, "     Status: \"%s\"\n", unit.Printable(s))
	}
	printIP(w, p) // status_bpf.go
	if printCgroup(w, p, st.Processes) {
		// systemctl 252's lines from the unit's cgroup (status_cgroup.go)
	} else if n, err := strconv.Atoi(p["TasksCurrent"]); err == nil && n > 0 {
		fmt.Fprintf(w, "      Tasks: %d\n", n)
		for i, pr := range st.Processes {
			pre := "             " + glyphs().treeBranch
			if i == len(st.Processes)-1 {
				pre = "             " + glyphs().treeRight
			}
			fmt.Fprintf(w, "%s%d %s\n", pre, pr.PID, unit.Printable(pr.Command))
		}
	}
	if len(st.Logs) > 0 {
		// The unit's journal lines as journalctl's short mode shows them (a line that is
		// no printable text as "[N blob data]": a service's output must not drive the
		// terminal of whoever reads its status).
		fmt.Fprintln(w)
		host := newJournalHost(false)
		jw := newJournalWriter(w, "short")
		jw.color = color
		for _, l := range st.Logs {
			e := entryOf(l, host)
			jw.write(&e)
		}
	}
	if st.LogsWithheld {
		// systemctl status, for a user who may not read the unit's journal entries.
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Warning: some journal files were not opened due to insufficient permissions.")
	}
}

// rearming describes a pending re-arm after trigger-limit-hit (X-Flint-TriggerLimitCooldownSec=)
// for the Active: line: ", re-arming in 25s", or, once the cooldown is over while the
// socket's service still runs (waitsFor), ", re-arming when foo.service has stopped"; ""
// when none is pending.
func rearming(due, waitsFor string, now time.Time) string {
	if waitsFor != "" {
		return ", re-arming when " + waitsFor + " has stopped"
	}
	t, err := time.Parse(show.TimestampLayout, due)
	if due == "" || err != nil {
		return ""
	}
	// The timestamp has whole seconds: the cooldown ends within the second after it.
	return ", re-arming in " + ago(max(t.Add(time.Second).Sub(now).Truncate(time.Second), time.Second))
}

// dropInLines groups drop-in files by directory as systemctl status does: the directory, then
// "└─a.conf, b.conf".
func dropInLines(paths []string) []string {
	var out []string
	var dir string
	var names []string
	flush := func() {
		if dir != "" {
			out = append(out, dir, glyphs().treeRight+strings.Join(names, ", "))
		}
	}
	for _, p := range paths {
		d, f := p, p
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			d, f = p[:i], p[i+1:]
		}
		if d != dir {
			flush()
			dir, names = d, nil
		}
		names = append(names, f)
	}
	flush()
	return out
}

// execArgv takes the command line out of an Exec*= property value
// ("{ path=/bin/false ; argv[]=/bin/false -x ; ... }"); the first command only.
func execArgv(v string) string {
	_, rest, ok := strings.Cut(v, "argv[]=")
	if !ok {
		return ""
	}
	argv, _, _ := strings.Cut(rest, " ; ")
	return argv
}

func codeName(c string) string {
	switch c {
	case "1":
		return "exited"
	case "2":
		return "killed"
	case "3":
		return "dumped"
	}
	return c
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// relatedStates holds the ActiveState of the units named in Triggers:/TriggeredBy: lines.
var relatedStates map[string]string

// bulletList renders "a.socket b.socket" as "● a.socket\n             ○ b.socket", with the
// glyph of each unit's state (byState) or ● for all, as systemctl prints them.
func bulletList(s string, byState bool) string {
	f := strings.Fields(s)
	for i := range f {
		st, ok := relatedStates[f[i]]
		if !ok || !byState {
			st = "active"
		}
		f[i] = dot(st, false) + " " + f[i]
	}
	return strings.Join(f, "\n             ")
}

// timerTrigger is a timer's next elapse as systemctl status shows it: "Mon 2026-12-07
// 00:00:00 UTC; 22h left", the earlier of the calendar and the monotonic one, or "n/a".
func timerTrigger(p map[string]string) string {
	var next time.Time
	if v := p["NextElapseUSecRealtime"]; v != "" {
		if t, err := time.Parse(show.TimestampLayout, v); err == nil {
			next = t
		}
	}
	if v := p["NextElapseUSecMonotonic"]; v != "" && v != "infinity" && v != "0" {
		if d, err := unit.ParseTimespan(v); err == nil {
			if at := time.Now().Add(d - monotonicNow()); next.IsZero() || at.Before(next) {
				next = at
			}
		}
	}
	if next.IsZero() {
		return "n/a"
	}
	return show.FormatTimestamp(next) + "; " + relative(next)
}

// relative is "22h left" or "2s ago" for t.
func relative(t time.Time) string {
	d := time.Until(t)
	if d > 0 {
		return ago(d) + " left"
	}
	if d == 0 {
		return "now"
	}
	return ago(-d) + " ago"
}

// monotonicNow is CLOCK_MONOTONIC now (the manager's NextElapseUSecMonotonic is on it).
func monotonicNow() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// ago is a time span as systemd's format_timestamp_relative shows it ("22h", "1 day 8h",
// "2min 5s"), without its "ago" or "left".
func ago(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	const (
		day   = 24 * time.Hour
		week  = 7 * day
		month = 2629800 * time.Second  // systemd's USEC_PER_MONTH: a year / 12
		year  = 31557600 * time.Second // USEC_PER_YEAR: 365.25 days
	)
	plural := func(n int64, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	switch {
	case d >= year:
		return plural(int64(d/year), "year", "years") + " " + plural(int64(d%year/month), "month", "months")
	case d >= month:
		return plural(int64(d/month), "month", "months") + " " + plural(int64(d%month/day), "day", "days")
	case d >= week:
		return plural(int64(d/week), "week", "weeks") + " " + plural(int64(d%week/day), "day", "days")
	case d >= 2*day:
		return fmt.Sprintf("%d days", d/day)
	case d >= 25*time.Hour:
		return fmt.Sprintf("1 day %dh", (d-day)/time.Hour)
	case d >= 6*time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh %dmin", d/time.Hour, d%time.Hour/time.Minute)
	case d >= 5*time.Minute:
		return fmt.Sprintf("%dmin", d/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dmin %ds", d/time.Minute, d%time.Minute/time.Second)
	case d >= time.Second:
		return fmt.Sprintf("%ds", d/time.Second)
	case d >= time.Millisecond:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	case d > 0:
		return fmt.Sprintf("%dus", d/time.Microsecond)
	}
	return "now"
}

// unmetLines prints systemctl 252's "Condition:" ("Assert:") lines of a unit whose last check
// failed: when, and the unmet conditions in a tree (the assertion).
func unmetLines(w io.Writer, p map[string]string, label, result, stamp, list string) {
	if p[result] != "no" || p[stamp] == "" {
		return
	}
	t, err := time.Parse(show.TimestampLayout, p[stamp])
	if err != nil {
		return
	}
	what := "condition"
	if label == "Assert" {
		what = "assertion"
	}
	fmt.Fprintf(w, "%*s: start %s failed at %s; %s ago\n", 11, label, what, p[stamp], ago(time.Since(t)))
	var unmet []string
	json.Unmarshal([]byte(p[list]), &unmet)
	if label == "Assert" && len(unmet) > 0 {
		// systemctl 252 names one assertion, without a tree: the failed one that is not a
		// trigger (the first in file order, where systemd's test stopped), else none.
		if _, param, _ := strings.Cut(unmet[0], "="); strings.HasPrefix(param, "|") {
			fmt.Fprintf(w, "             none of the trigger assertions were met\n")
		} else {
			fmt.Fprintf(w, "             %s was not met\n", unit.Printable(unmet[0]))
		}
		return
	}
	for i, c := range unmet {
		glyph := "├─"
		if i == len(unmet)-1 {
			glyph = "└─"
		}
		fmt.Fprintf(w, "             %s %s was not met\n", glyph, unit.Printable(c))
	}
}
