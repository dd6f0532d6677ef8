package main

import (
	"io"
	"path/filepath"

	"encoding/json"
	"errors"
	"fmt"
	"github.com/flint-init/flint/internal/getopt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/flint-init/flint/client"
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

const logsUsage = `usage: flint logs [-u UNIT]... [-f] [-n N|all] [-S TIME] [-o short|json] [--no-hostname] [-q]

Show the captured output of units, like journalctl: "Nov 25 12:00:00 host foo.service[123]: text",
the manager's own lines about a unit as "flint: foo.service: ...". -u (repeatable) selects
units (all if none), -n the number of last lines (all by default, 10 with -f, 1000 with -e),
-f follows new lines, -S/--since keeps lines from TIME on ("2026-11-25 12:00:00", "12:00",
"today", "-10m"), -o json prints one JSON object per line (time, unit, stream, pid,
priority, text). Options are journalctl's (see journalctl(1)); those flint does not
implement are refused. Only root, the manager's user and (system manager) members of the
groups adm and systemd-journal may read the lines: anyone else gets journalctl's hint and
error (exit 1); -q leaves the hint out.
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
	req      client.Request
	format   string
	noHost   bool
	quiet    bool
	linesSet bool
}

// parseLogs reads journalctl's command line as journalctl 252 does; done is true when the
// command is over (help printed, or an error reported with its exit code).
func parseLogs(g *globals, args []string, stdout, stderr io.Writer) (o *logsOptions, code int, done bool) {
	o = &logsOptions{format: "short"}
	fail := func(format string, a ...any) (*logsOptions, int, bool) {
		fmt.Fprintf(stderr, format+"\n", a...)
		return nil, 1, true
	}
	setFormat := func(v string) (bool, string) {
		if !contains(outputModes, v) {
			return false, fmt.Sprintf("Unknown output format '%s'.", v)
		}
		if v != "short" && v != "json" {
			return false, fmt.Sprintf("%s: output format %s is not supported by flint (short and json are).", filepath.Base(g.prog), v)
		}
		o.format = v
		if v == "json" {
			o.quiet = true
		}
		return true, ""
	}
	if g.output != "" { // flint -o json logs: systemctl's -o, before the verb
		if ok, msg := setFormat(g.output); !ok {
			return fail("%s", msg)
		}
	}
	isLines := func(v string) bool {
		n, err := strconv.Atoi(v)
		return v == "all" || err == nil && n >= 0
	}
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
				o.req.Lines = -1
			} else if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				o.req.Lines = n
			} else {
				return fail("Failed to parse lines '%s'", v)
			}
			o.linesSet = true
		case "pager-end":
			if !o.linesSet {
				o.req.Lines, o.linesSet = 1000, true
			}
		case "output":
			if v == "help" {
				fmt.Fprint(stdout, lines(outputModes))
				return nil, 0, true
			}
			if ok, msg := setFormat(v); !ok {
				return fail("%s", msg)
			}
		case "since":
			t, err := parseSince(v)
			if err != nil {
				return fail("Failed to parse timestamp: %s", v)
			}
			o.req.Since = t
		case "quiet":
			o.quiet = true
		case "no-hostname":
			o.noHost = true
		case "no-pager", "catalog", "all", "full", "no-full":
			// no pager, no catalog entries, no field is left out nor ellipsized: the
			// output is the one journalctl gives with these
		case "system":
			g.user = false
		case "user":
			g.user = true
		case "control":
			g.control, g.controlSet = v, true
		case "units":
			g.units = append(g.units, v)
		default:
			return fail("%s: option %s is not supported by flint.", filepath.Base(g.prog), f.Spelled)
		}
	}
	if ops := p.Operands(); len(ops) > 0 {
		return fail("%s: journal matches and files (%s) are not supported by flint; select units with -u.", filepath.Base(g.prog), ops[0])
	}
	g.resolveControl()
	return o, 0, false
}

func runLogs(g *globals, args []string, stdout, stderr io.Writer) int {
	o, code, done := parseLogs(g, args, stdout, stderr)
	if done {
		return code
	}
	c := client.New(g.control)
	host, _ := os.Hostname()
	if o.noHost {
		host = ""
	}
	enc := json.NewEncoder(stdout)
	err := c.Logs(&o.req, func(l client.LogLine) error {
		if o.format == "json" {
			return enc.Encode(l)
		}
		_, err := fmt.Fprintln(stdout, formatLogLine(l, host))
		return err
	})
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) && o.quiet {
			ce.Hint = "" // journalctl -q: no hint
		}
		return reportClientError(err)
	}
	return 0
}

// parseSince reads journalctl's --since forms: "now", "today", "yesterday", "tomorrow",
// "2026-11-25 12:00:00" (or without seconds, or a date alone), "12:00[:00]" (today), a time
// span before now ("-10min", "-1h 30s", "10min ago") and "@UNIX-SECONDS".
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
	for _, f := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02", "15:04:05", "15:04"} {
		if t, err := time.ParseInLocation(f, v, time.Local); err == nil {
			if !strings.Contains(f, "2006") {
				t = time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, time.Local)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time (try \"2026-11-25 12:00:00\", \"12:00\", \"today\", \"-10min\")")
}
