package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/internal/getopt"
	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/unit"
)

// flint logs: the manager's captured output of units, shown the way journalctl shows it.

func init() {
	register(&verb{name: "logs", summary: "show captured service output (journalctl's options)", rawArgs: true,
		run: func(g *globals, args []string) int { return runLogs(g, args, os.Stdout, os.Stderr) }})
}

// runJournalctl is flint under the name journalctl: flint logs.
func runJournalctl(prog string, args []string) int {
	g := newGlobals(prog)
	g.verb = "logs"
	return runLogs(g, args, os.Stdout, os.Stderr)
}

const logsUsage = `usage: flint logs [OPTIONS...]    (journalctl 252's options: see journalctl(1))

Show what the manager keeps of its units' logs, as journalctl shows the journal: each
process's output line tagged with its name and pid ("Dec 07 12:00:00 host sh[598]: text"),
and the manager's messages about units as systemd[PID] logs them ("Started web.service -
Web server.", "web.service: Deactivated successfully.").

  -u --unit=UNIT|PATTERN    lines of these units (repeatable; glob patterns)
  -t --identifier=ID        lines with this SYSLOG_IDENTIFIER (repeatable)
  -p --priority=RANGE       lines of these levels: err, 3, 3..5, info..err
  -g --grep=PATTERN         messages matching PATTERN (Go regexp; case-insensitive when
                            all lower case, or --case-sensitive[=BOOL])
  -S --since=TIME  -U --until=TIME   "2026-11-25 12:00:00", "12:00", "today", "-10min", "+1h"
  -c --cursor=CURSOR  --after-cursor=CURSOR  --cursor-file=FILE  --show-cursor
  -n --lines[=N|all]  --no-tail  -r --reverse  -e --pager-end  -f --follow
  -b --boot[=ID][±N]  --list-boots   the manager's runs: 0 the current, -1 the one before
                            (read from its journal files, flint run --log-storage)
  -o --output=MODE          short, short-full, short-iso, short-iso-precise, short-precise,
                            short-monotonic, short-delta, short-unix, with-unit, cat,
                            verbose, export, json, json-pretty, json-sse, json-seq
  --output-fields=LIST  --utc  --no-hostname  -x --catalog  -a --all  -q --quiet
  -F --field=FIELD  -N --fields      the values of FIELD, the field names (every line)
  --disk-usage  --vacuum-size=BYTES  --vacuum-files=N  --vacuum-time=SPAN   the journal files
  --system  --user  --user-unit=UNIT  --control=PATH  --units=DIR

Options flint does not implement are refused. Only root, the manager's user and (system
manager) members of the groups adm and systemd-journal may read the lines: anyone else gets
journalctl's hint and error (exit 1); -q leaves the hint out.
`

// jcSpec is journalctl 252's option table ("hefo:aln::qmb::kD:p:g:c:S:U:t:u:NF:xrM:"), with
// flint's --control and --units (whole names only).
var jcSpec = &getopt.Spec{Options: []getopt.Option{
	{Long: "help", Short: 'h'},
	{Long: "version"},
	{Long: "no-pager"},
	{Long: "pager-end", Short: 'e'},
	{Long: "follow", Short: 'f'},
	{Long: "force"},
	{Long: "output", Short: 'o', Arg: getopt.RequiredArg},
	{Long: "all", Short: 'a'},
	{Long: "full", Short: 'l'},
	{Long: "no-full"},
	{Long: "lines", Short: 'n', Arg: getopt.OptionalArg},
	{Long: "no-tail"},
	{Long: "new-id128"},
	{Long: "quiet", Short: 'q'},
	{Long: "merge", Short: 'm'},
	{Long: "this-boot"},
	{Long: "boot", Short: 'b', Arg: getopt.OptionalArg},
	{Long: "list-boots"},
	{Long: "dmesg", Short: 'k'},
	{Long: "system"},
	{Long: "user"},
	{Long: "directory", Short: 'D', Arg: getopt.RequiredArg},
	{Long: "file", Arg: getopt.RequiredArg},
	{Long: "root", Arg: getopt.RequiredArg},
	{Long: "image", Arg: getopt.RequiredArg},
	{Long: "header"},
	{Long: "identifier", Short: 't', Arg: getopt.RequiredArg},
	{Long: "priority", Short: 'p', Arg: getopt.RequiredArg},
	{Long: "facility", Arg: getopt.RequiredArg},
	{Long: "grep", Short: 'g', Arg: getopt.RequiredArg},
	{Long: "case-sensitive", Arg: getopt.OptionalArg},
	{Long: "setup-keys"},
	{Long: "interval", Arg: getopt.RequiredArg},
	{Long: "verify"},
	{Long: "verify-key", Arg: getopt.RequiredArg},
	{Long: "disk-usage"},
	{Long: "cursor", Short: 'c', Arg: getopt.RequiredArg},
	{Long: "cursor-file", Arg: getopt.RequiredArg},
	{Long: "after-cursor", Arg: getopt.RequiredArg},
	{Long: "show-cursor"},
	{Long: "since", Short: 'S', Arg: getopt.RequiredArg},
	{Long: "until", Short: 'U', Arg: getopt.RequiredArg},
	{Long: "unit", Short: 'u', Arg: getopt.RequiredArg},
	{Long: "user-unit", Arg: getopt.RequiredArg},
	{Long: "field", Short: 'F', Arg: getopt.RequiredArg},
	{Long: "fields", Short: 'N'},
	{Long: "catalog", Short: 'x'},
	{Long: "list-catalog"},
	{Long: "dump-catalog"},
	{Long: "update-catalog"},
	{Long: "reverse", Short: 'r'},
	{Long: "machine", Short: 'M', Arg: getopt.RequiredArg},
	{Long: "utc"},
	{Long: "flush"},
	{Long: "relinquish-var"},
	{Long: "smart-relinquish-var"},
	{Long: "sync"},
	{Long: "rotate"},
	{Long: "vacuum-size", Arg: getopt.RequiredArg},
	{Long: "vacuum-files", Arg: getopt.RequiredArg},
	{Long: "vacuum-time", Arg: getopt.RequiredArg},
	{Long: "no-hostname"},
	{Long: "output-fields", Arg: getopt.RequiredArg},
	{Long: "namespace", Arg: getopt.RequiredArg},
	{Long: "control", Arg: getopt.RequiredArg, Exact: true},
	{Long: "units", Arg: getopt.RequiredArg, Exact: true},
}}

// logsOptions are what flint logs acts on.
type logsOptions struct {
	req          client.Request
	rng          client.LogRange
	match        client.LogMatch
	format       string
	noHost       bool
	quiet        bool
	linesSet     bool
	pagerEnd     bool
	noTail       bool
	sinceSet     bool
	untilSet     bool
	showCursor   bool
	cursor       string // --cursor
	afterCursor  string // --after-cursor
	cursorFile   string
	utc          bool
	catalog      bool
	all          bool
	outputFields map[string]bool
	fieldOrder   []string
	listBoots    bool
	boot         *bootSpec // -b; nil: the current run (earlier ones only with -b)
	grep         string
	caseSens     int    // --case-sensitive: -1 unset (smart case), 0 no, 1 yes
	field        string // -F: list the values of this field
	listFields   bool   // -N: list the field names
	diskUsage    bool
	vacuum       *logs.VacuumLimits // --vacuum-size=, --vacuum-files=, --vacuum-time=
}

// bootSpec is a -b descriptor: a boot id (may be empty) and an offset.
type bootSpec struct {
	id     string
	offset int
}

// parseBoot reads journalctl's boot descriptor: "", "ID", "ID+N", "ID-N", "+N", "-N", "N".
func parseBoot(v string) (*bootSpec, bool) {
	b := &bootSpec{}
	if len(v) >= 32 && isHexID(v[:32]) {
		b.id, v = strings.ToLower(v[:32]), v[32:]
		if v == "" {
			return b, true
		}
		if v[0] != '+' && v[0] != '-' {
			return nil, false
		}
	}
	if v == "" {
		return b, true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, false
	}
	b.offset = n
	return b, true
}

func isHexID(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i])) {
			return false
		}
	}
	return true
}

// parsePriorities reads -p: a level or a range of levels ("err", "3", "3..5",
// "info..err"), by name or number; the result has bit n set for each level n shown.
func parsePriorities(v string) (uint8, string) {
	level := func(s string) (int, bool) {
		for i, n := range []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"} {
			if s == n {
				return i, true
			}
		}
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 0 && n <= 7
	}
	if from, to, ok := strings.Cut(v, ".."); ok {
		a, ok1 := level(from)
		b, ok2 := level(to)
		if !ok1 || !ok2 {
			return 0, fmt.Sprintf("Failed to parse log level range %s", v)
		}
		if a > b {
			a, b = b, a
		}
		var m uint8
		for i := a; i <= b; i++ {
			m |= 1 << i
		}
		return m, ""
	}
	n, ok := level(v)
	if !ok {
		return 0, fmt.Sprintf("Unknown log level %s", v)
	}
	return uint8(1<<(n+1) - 1), ""
}

// parseLogs reads journalctl's command line as journalctl 252 does; done is true when the
// command is over (help printed, or an error reported with its exit code).
func parseLogs(g *globals, args []string, stdout, stderr io.Writer) (o *logsOptions, code int, done bool) {
	o = &logsOptions{format: "short", caseSens: -1}
	o.rng.Lines = -1
	fail := func(format string, a ...any) (*logsOptions, int, bool) {
		fmt.Fprintf(stderr, format+"\n", a...)
		return nil, 1, true
	}
	setFormat := func(v string) bool {
		if !contains(outputModes, v) {
			return false
		}
		o.format = v
		return true
	}
	if g.output != "" { // flint -o json logs: systemctl's -o, before the verb
		if !setFormat(g.output) {
			return fail("Unknown output format '%s'.", g.output)
		}
	}
	isLines := func(v string) bool {
		n, err := strconv.Atoi(v)
		return v == "all" || err == nil && n >= 0
	}
	isBoot := func(v string) bool { _, ok := parseBoot(v); return ok }
	parseTime := func(v string) (time.Time, bool) {
		t, err := parseSince(v)
		return t, err == nil
	}
	prog := filepath.Base(g.prog)
	p := jcSpec.Parse(args)
	for {
		f, ok, err := p.Next()
		if err != nil {
			return fail("%s: %v", g.prog, err)
		}
		if !ok {
			break
		}
		v := f.Value
		switch f.Key() {
		case "help":
			fmt.Fprint(stdout, logsUsage)
			return nil, 0, true
		case "version":
			fmt.Fprintln(stdout, versionString)
			return nil, 0, true
		case "unit":
			o.req.Units = append(o.req.Units, v)
		case "user-unit":
			g.user = true
			o.req.Units = append(o.req.Units, v)
		case "identifier":
			o.match.Identifiers = append(o.match.Identifiers, v)
		case "priority":
			m, msg := parsePriorities(v)
			if msg != "" {
				return fail("%s", msg)
			}
			o.match.Priorities = int(m)
		case "grep":
			o.grep = v
		case "case-sensitive":
			o.caseSens = 1
			if f.HasValue {
				b, err := unit.ParseBool(v)
				if err != nil {
					return fail("Bad --case-sensitive= argument \"%s\": Invalid argument", v)
				}
				o.caseSens = 0
				if b {
					o.caseSens = 1
				}
			}
		case "follow":
			o.req.Follow = true
		case "lines":
			if !f.HasValue {
				v = "10"
				if next, took := p.TakeNext(isLines); took {
					v = next
				}
			}
			if v == "all" {
				o.rng.Lines = -1
			} else if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				o.rng.Lines = n
			} else {
				return fail("Failed to parse lines '%s'", v)
			}
			o.linesSet = true
		case "no-tail":
			o.noTail = true
		case "pager-end":
			o.pagerEnd = true
		case "reverse":
			o.rng.Reverse = true
		case "output":
			if v == "help" {
				fmt.Fprint(stdout, lines(outputModes))
				return nil, 0, true
			}
			if !setFormat(v) {
				return fail("Unknown output format '%s'.", v)
			}
		case "output-fields":
			o.outputFields = map[string]bool{}
			for _, x := range strings.Split(v, ",") {
				if !o.outputFields[x] {
					o.fieldOrder = append(o.fieldOrder, x)
				}
				o.outputFields[x] = true
			}
		case "since":
			t, ok := parseTime(v)
			if !ok {
				return fail("Failed to parse timestamp: %s", v)
			}
			o.rng.Since, o.sinceSet = t, true
		case "until":
			t, ok := parseTime(v)
			if !ok {
				return fail("Failed to parse timestamp: %s", v)
			}
			o.rng.Until, o.untilSet = t, true
		case "cursor":
			o.cursor = v
		case "after-cursor":
			o.afterCursor = v
		case "cursor-file":
			o.cursorFile = v
		case "show-cursor":
			o.showCursor = true
		case "boot", "this-boot":
			if f.Key() == "this-boot" || !f.HasValue {
				v = ""
				if next, took := p.TakeNext(isBoot); took {
					v = next
				}
			}
			b, ok := parseBoot(v)
			if !ok {
				return fail("Failed to parse boot descriptor '%s'", v)
			}
			o.boot = b
		case "list-boots":
			o.listBoots = true
		case "utc":
			o.utc = true
		case "catalog":
			o.catalog = true
		case "all":
			o.all = true
		case "quiet":
			o.quiet = true
		case "no-hostname":
			o.noHost = true
		case "no-pager", "full", "no-full", "merge":
			// no pager; nothing is ellipsized (journalctl's default, --full); one journal
		case "field":
			o.field = v
		case "fields":
			o.listFields = true
		case "disk-usage":
			o.diskUsage = true
		case "vacuum-size", "vacuum-files", "vacuum-time":
			if o.vacuum == nil {
				o.vacuum = &logs.VacuumLimits{}
			}
			what := strings.TrimPrefix(f.Key(), "vacuum-")
			switch what {
			case "size":
				n, err := unit.ParseSize(v)
				if err != nil || n > math.MaxInt64 {
					return fail("Failed to parse vacuum size: %s", v)
				}
				o.vacuum.MaxUse = int64(n)
			case "files":
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					return fail("Failed to parse vacuum files: %s", v)
				}
				o.vacuum.MaxFiles = int(min(n, math.MaxInt32))
			default:
				d, err := unit.ParseTimespan(v)
				if err != nil {
					return fail("Failed to parse vacuum time: %s", v)
				}
				o.vacuum.Before = time.Time{}
				if d > 0 {
					o.vacuum.Before = vacuumBefore(d)
				}
			}
		case "dmesg":
			return fail("%s: option %s is not supported by flint: it keeps no kernel messages.", prog, f.Spelled)
		case "system":
			g.user = false
		case "user":
			g.user = true
		case "control":
			g.control, g.controlSet = v, true
		case "units":
			g.units = append(g.units, v)
		default:
			return fail("%s: option %s is not supported by flint.", prog, f.Spelled)
		}
	}
	for _, op := range p.Operands() {
		if op == "+" || strings.Contains(op, "=") || strings.HasPrefix(op, "/") {
			return fail("%s: journal matches and files (%s) are not supported by flint; select units with -u.", prog, op)
		}
		return fail("Failed to add match '%s': Invalid argument", op)
	}
	// journalctl's checks of the whole command line.
	if o.req.Follow && o.rng.Reverse {
		return fail("Please specify either --reverse= or --follow=, not both.")
	}
	n := 0
	for _, set := range []bool{o.sinceSet, o.cursor != "", o.afterCursor != "", o.cursorFile != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return fail("Please specify only one of --since=, --cursor=, and --after-cursor=.")
	}
	if o.cursor != "" {
		o.rng.Cursor = o.cursor
	} else if o.afterCursor != "" {
		o.rng.Cursor, o.rng.AfterCursor = o.afterCursor, true
	}
	if o.sinceSet && o.untilSet && o.rng.Since.After(o.rng.Until) {
		return fail("--since= must be before --until=.")
	}
	if o.grep != "" {
		pat := o.grep
		insensitive := o.caseSens == 0 || o.caseSens < 0 && !hasUpper(pat)
		if insensitive {
			pat = "(?i)" + pat
		}
		if _, err := regexp.Compile(pat); err != nil {
			return fail("Bad pattern \"%s\": %s", o.grep, regexpReason(err))
		}
		o.match.Grep = pat
	}
	switch {
	case o.noTail:
		o.rng.Lines = -1
	case o.linesSet:
	case o.req.Follow:
		o.rng.Lines = 10
	case o.pagerEnd:
		o.rng.Lines = 1000
	}
	switch o.format {
	case "export", "json", "json-pretty", "json-sse", "json-seq", "cat":
		o.quiet = true // journalctl says "-- No entries --" in no machine-readable mode
	}
	g.resolveControl()
	return o, 0, false
}

// hasUpper reports whether a pattern has an upper-case letter (journalctl's smart case:
// a pattern without one matches regardless of case).
func hasUpper(s string) bool {
	for _, r := range s {
		if unicode.IsUpper(r) {
			return true
		}
	}
	return false
}

// regexpReason is the reason of a regexp error without Go's "error parsing regexp: ".
func regexpReason(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return string(se.Code)
	}
	return err.Error()
}

func runLogs(g *globals, args []string, stdout, stderr io.Writer) int {
	o, code, done := parseLogs(g, args, stdout, stderr)
	if done {
		return code
	}
	c := client.New(g.control)
	switch {
	case o.listBoots:
		return listBoots(g, c, o, stdout, stderr)
	case o.field != "" || o.listFields:
		return listUnique(g, c, o, stdout)
	case o.diskUsage:
		return diskUsage(g, stdout, stderr)
	case o.vacuum != nil:
		return vacuum(g, *o.vacuum, o.quiet, stderr)
	}
	var earlier *logs.Run // -b naming an earlier run: its lines come from its files
	if o.boot != nil && !(o.boot.offset == 0 && (o.boot.id == "" || o.boot.id == logs.BootID())) {
		rows, cur, err := loadBoots(g, c)
		if err != nil {
			return reportClientError(err)
		}
		if o.boot.offset != 0 && len(rows) <= 1 && !hasPersistentJournal(g) {
			// journalctl's answer when only a volatile journal of this boot is there.
			fmt.Fprintln(stderr, "Specifying boot ID or boot offset has no effect, no persistent journal was found.")
			return 0
		}
		idx, err := pickBoot(o.boot, rows, cur)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if idx != cur {
			earlier = rows[idx].run
		}
	}
	if o.cursorFile != "" {
		if b, err := os.ReadFile(o.cursorFile); err == nil {
			if cur := strings.TrimSpace(string(b)); cur != "" {
				o.rng.Cursor, o.rng.AfterCursor = cur, true
			}
		}
	}
	o.req.Match = &o.match
	o.req.Range = &o.rng
	jw := newJournalWriter(stdout, o.format)
	jw.utc, jw.noHost, jw.all, jw.fields, jw.order = o.utc, o.noHost, o.all, o.outputFields, o.fieldOrder
	jw.color = isTerminal(os.Stdout) && !strings.HasPrefix(o.format, "json") && o.format != "export" && o.format != "cat"
	if o.catalog {
		jw.catalog = loadCatalog(catalogDirs)
	}
	o.req.Cursors = o.showCursor || o.cursorFile != "" || o.format == "verbose" || o.format == "export" || strings.HasPrefix(o.format, "json")
	host := newJournalHost(g.user)
	shown, last := 0, ""
	w := bufio.NewWriter(stdout)
	jw.w = w
	each := func(fn func(client.LogLine) error) error {
		return c.LogsHint(&o.req, func(h string) {
			if !o.quiet {
				fmt.Fprintln(stderr, h) // journalctl's notice to a user who sees its own lines only
			}
		}, fn)
	}
	if earlier != nil {
		if o.req.Follow {
			fmt.Fprintln(stderr, "Forcing --follow on an earlier boot is not supported.")
			return 1
		}
		each = func(fn func(client.LogLine) error) error { return runLines(earlier, o, fn) }
	}
	err := each(func(l client.LogLine) error {
		e := entryOf(l, host)
		shown++
		last = l.Cursor
		if err := jw.write(&e); err != nil {
			return err
		}
		if o.req.Follow {
			return w.Flush() // a followed line is seen when it comes
		}
		return nil
	})
	if err != nil {
		w.Flush()
		var ce *client.Error
		if errors.As(err, &ce) && o.quiet {
			ce.Hint = "" // journalctl -q: no hint
		}
		return reportClientError(err)
	}
	if shown == 0 && !o.quiet {
		fmt.Fprintln(w, "-- No entries --")
	}
	code = 0
	if o.match.Grep != "" && shown == 0 {
		code = 1 // as grep, and journalctl -g: nothing matched
	}
	if o.showCursor && last != "" {
		fmt.Fprintf(w, "-- cursor: %s\n", last)
	}
	if err := w.Flush(); err != nil {
		return 1
	}
	if o.cursorFile != "" && last != "" {
		if err := os.WriteFile(o.cursorFile, []byte(last), 0o644); err != nil {
			fmt.Fprintf(stderr, "Failed to write new cursor to %s: %v\n", o.cursorFile, err)
			return 1
		}
	}
	return code
}

// parseSince reads journalctl's --since forms: "now", "today", "yesterday", "tomorrow",
// "2026-11-25 12:00:00" (a fraction after the seconds, or without seconds, or a date alone;
// T between date and time; " UTC" after), "12:00[:00]" (today), a time span before now
// ("-10min", "-1h 30s", "10min ago") or after it ("+1d", "1h left") and "@UNIX-SECONDS".
func parseSince(v string) (time.Time, error) {
	now := time.Now()
	y, m, d := now.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, time.Local)
	switch v {
	case "now":
		return now, nil
	case "today":
		return midnight, nil
	case "yesterday":
		return midnight.AddDate(0, 0, -1), nil
	case "tomorrow":
		return midnight.AddDate(0, 0, 1), nil
	}
	if strings.HasPrefix(v, "@") {
		sec, err := strconv.ParseFloat(v[1:], 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("bad timestamp %q", v)
		}
		return time.Unix(0, int64(sec*1e9)), nil
	}
	if span, ok := strings.CutSuffix(v, " ago"); ok || strings.HasPrefix(v, "-") {
		span = strings.TrimPrefix(span, "-")
		d, err := unit.ParseTimespan(span)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(-d), nil
	}
	if span, ok := strings.CutSuffix(v, " left"); ok || strings.HasPrefix(v, "+") {
		d, err := unit.ParseTimespan(strings.TrimPrefix(span, "+"))
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(d), nil
	}
	loc := time.Local
	if rest, ok := strings.CutSuffix(v, " UTC"); ok {
		v, loc = rest, time.UTC
	}
	for _, f := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02", "15:04:05", "15:04"} {
		if t, err := time.ParseInLocation(f, v, loc); err == nil {
			if !strings.Contains(f, "2006") {
				ny, nm, nd := now.In(loc).Date()
				t = time.Date(ny, nm, nd, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time (try \"2026-11-25 12:00:00\", \"12:00\", \"today\", \"-10min\")")
}
