package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/unit"
)

// flint logs: the manager's captured output of units, shown the way journalctl shows it.

func init() {
	register(&verb{name: "logs", summary: "show captured service output (like journalctl)", run: runLogs})
}

const logsUsage = `usage: flint logs [-u UNIT]... [-f] [-n N|all] [--since TIME] [-o short|json] [--no-hostname]

Show the captured output of units, like journalctl: "Nov 25 12:00:00 host foo.service[123]: text",
the manager's own lines about a unit as "flint: foo.service: ...". -u (repeatable) selects
units (all if none), -n the number of last lines (all by default, 10 with -f), -f follows new
lines, --since keeps lines from TIME on ("2026-11-25 12:00:00", "12:00", "today", "-10m"),
-o json prints one JSON object per line (time, unit, stream, pid, priority, text).
Only root, the manager's user and (system manager) members of the groups adm and
systemd-journal may read the lines: anyone else gets journalctl's hint and error (exit 1);
-q leaves the hint out.
`

func runLogs(g *globals, args []string) int {
	req := &client.Request{}
	format := "short"
	noHost, quiet := false, false
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() string {
			if j := strings.IndexByte(a, '='); j >= 0 && strings.HasPrefix(a, "--") {
				return a[j+1:]
			}
			if len(a) > 2 && a[0] == '-' && a[1] != '-' {
				return a[2:]
			}
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case a == "-u" || strings.HasPrefix(a, "--unit") || strings.HasPrefix(a, "-u"):
			req.Units = append(req.Units, val())
		case a == "-f" || a == "--follow":
			req.Follow = true
		case a == "-n" || strings.HasPrefix(a, "--lines") || strings.HasPrefix(a, "-n"):
			v := val()
			if v == "all" {
				req.Lines = -1
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				fmt.Fprintln(os.Stderr, "flint logs: -n needs a number")
				return 2
			}
			req.Lines = n
		case a == "-o" || strings.HasPrefix(a, "--output"):
			format = val()
		case strings.HasPrefix(a, "--since") || a == "-S":
			v := val()
			t, err := parseSince(v)
			if err != nil {
				fmt.Fprintf(os.Stderr, "flint logs: --since %q: %v\n", v, err)
				return 2
			}
			req.Since = t
		case a == "-q" || a == "--quiet":
			quiet = true
		case a == "--no-pager" || a == "-x" || a == "-e" || a == "-xe" || a == "--catalog" || a == "--pager-end" || a == "-a" || a == "--all":
			// journalctl habits (explanations, pager end, ...): accepted, nothing to do.
		case a == "--no-hostname":
			noHost = true
		case a == "-h" || a == "--help":
			fmt.Print(logsUsage)
			return 0
		default:
			fmt.Fprintf(os.Stderr, "flint logs: unknown argument %s\n", a)
			return 2
		}
	}
	if g.output != "" {
		format = g.output
	}
	c := client.New(g.control)
	host, _ := os.Hostname()
	if noHost {
		host = ""
	}
	enc := json.NewEncoder(os.Stdout)
	err := c.Logs(req, func(l client.LogLine) error {
		if format == "json" {
			return enc.Encode(l)
		}
		_, err := fmt.Println(formatLogLine(l, host))
		return err
	})
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) && quiet {
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
