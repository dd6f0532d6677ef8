package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/flint-init/flint/client"
	"golang.org/x/sys/unix"
)

func init() {
	register(&verb{name: "list-units", summary: "list loaded units", run: runListUnits})
	register(&verb{name: "list-sockets", summary: "list socket units and what they activate", run: runListSockets})
	register(&verb{name: "list-dependencies", summary: "show a unit's dependency tree", run: runListDeps})
	register(&verb{name: "is-active", summary: "check whether units are active", run: func(g *globals, a []string) int { return runIsState(g, "is-active", a) }})
	register(&verb{name: "is-failed", summary: "check whether units failed", run: func(g *globals, a []string) int { return runIsState(g, "is-failed", a) }})
	register(&verb{name: "daemon-reload", summary: "reload unit files", run: runSimple("daemon-reload")})
	register(&verb{name: "reset-failed", summary: "reset the failed state of units", run: runSimple("reset-failed")})
	register(&verb{name: "kill", summary: "send a signal to a unit's processes", run: runKill})
	register(&verb{name: "logs", summary: "show captured service output (like journalctl)", run: runLogs})
}

func splitOpts(args []string) (opts map[string]string, rest []string) {
	opts = map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "--") && strings.Contains(a, "=") {
			kv := strings.SplitN(a[2:], "=", 2)
			opts[kv[0]] = kv[1]
			continue
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			opts[strings.TrimLeft(a, "-")] = ""
			continue
		}
		rest = append(rest, a)
	}
	return
}

func runListUnits(g *globals, args []string) int {
	opts, rest := splitOpts(args)
	if _, ok := opts["help"]; ok {
		fmt.Println("usage: flint list-units [--all] [--type=TYPE] [--state=STATE] [PATTERN...]")
		return 0
	}
	_, all := opts["all"]
	if _, ok := opts["a"]; ok {
		all = true
	}
	var types, states []string
	if t := opts["type"]; t != "" {
		types = strings.Split(t, ",")
	}
	if s := opts["state"]; s != "" {
		states = strings.Split(s, ",")
	}
	c := client.New(g.control)
	var res []client.UnitInfo
	err := c.Do(&client.Request{Verb: "list-units", All: all, Types: types, States: states, Units: rest}, &res)
	if err != nil {
		return reportClientError(err)
	}
	if g.output == "json" {
		json.NewEncoder(os.Stdout).Encode(res)
		return 0
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "  UNIT\tLOAD\tACTIVE\tSUB\tDESCRIPTION")
	for _, u := range res {
		mark := " "
		if u.Active == "failed" || u.Load != "loaded" {
			mark = "●"
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t%s\n", mark, u.Name, u.Load, u.Active, u.Sub, u.Description)
	}
	tw.Flush()
	fmt.Printf("\n%d loaded units listed.\n", len(res))
	return 0
}

func runListSockets(g *globals, args []string) int {
	opts, _ := splitOpts(args)
	_, all := opts["all"]
	c := client.New(g.control)
	res, err := c.ListSockets(all)
	if err != nil {
		return reportClientError(err)
	}
	if g.output == "json" {
		json.NewEncoder(os.Stdout).Encode(res)
		return 0
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "LISTEN\tUNIT\tACTIVATES")
	for _, s := range res {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Listen, s.Unit, strings.Join(s.Activates, ", "))
	}
	tw.Flush()
	fmt.Printf("\n%d sockets listed.\n", len(res))
	return 0
}

func runListDeps(g *globals, args []string) int {
	opts, rest := splitOpts(args)
	_, all := opts["all"]
	_, rev := opts["reverse"]
	c := client.New(g.control)
	var out []string
	if err := c.Do(&client.Request{Verb: "list-dependencies", Units: rest, All: all, Reverse: rev}, &out); err != nil {
		return reportClientError(err)
	}
	for i, l := range out {
		if i == 0 {
			fmt.Println(strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(l, "● "), "○ "), "× "))
			continue
		}
		fmt.Println(l)
	}
	return 0
}

func runIsState(g *globals, verb string, args []string) int {
	opts, units := splitOpts(args)
	_, quiet := opts["quiet"]
	if _, q := opts["q"]; q {
		quiet = true
	}
	if len(units) == 0 {
		fmt.Fprintln(os.Stderr, "Too few arguments.")
		return 1
	}
	for i := range units {
		units[i] = normalizeUnitName(units[i])
	}
	c := client.New(g.control)
	var states []string
	if err := c.Do(&client.Request{Verb: verb, Units: units}, &states); err != nil {
		return reportClientError(err)
	}
	code := 1
	if verb == "is-active" {
		code = 3
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

func runSimple(verb string) func(g *globals, args []string) int {
	return func(g *globals, args []string) int {
		_, rest := splitOpts(args)
		c := client.New(g.control)
		if err := c.Simple(&client.Request{Verb: verb, Units: rest}); err != nil {
			return reportClientError(err)
		}
		return 0
	}
}

func runKill(g *globals, args []string) int {
	sig := syscall.SIGTERM
	whom := "all"
	var units []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() string {
			if j := strings.IndexByte(a, '='); j >= 0 {
				return a[j+1:]
			}
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case a == "-s" || a == "--signal" || strings.HasPrefix(a, "--signal="):
			v := val()
			s, err := parseSignal(v)
			if err != nil {
				fmt.Fprintf(os.Stderr, "Invalid signal name: %s\n", v)
				return 1
			}
			sig = s
		case a == "--kill-whom" || strings.HasPrefix(a, "--kill-whom=") || a == "--kill-who" || strings.HasPrefix(a, "--kill-who="):
			whom = val()
		default:
			units = append(units, a)
		}
	}
	c := client.New(g.control)
	if err := c.Simple(&client.Request{Verb: "kill", Units: units, Signal: int(sig), KillWhom: whom}); err != nil {
		return reportClientError(err)
	}
	return 0
}

func parseSignal(v string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return syscall.Signal(n), nil
	}
	v = strings.ToUpper(v)
	if !strings.HasPrefix(v, "SIG") {
		v = "SIG" + v
	}
	s := unix.SignalNum(v)
	if s == 0 {
		return 0, fmt.Errorf("unknown signal %s", v)
	}
	return s, nil
}

func runLogs(g *globals, args []string) int {
	req := &client.Request{}
	format := "short"
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
			n, err := strconv.Atoi(val())
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
		case a == "--no-pager":
		case a == "-h" || a == "--help":
			fmt.Println("usage: flint logs [-u UNIT]... [-f] [-n N] [--since TIME] [-o short|json]")
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
	enc := json.NewEncoder(os.Stdout)
	err := c.Logs(req, func(l client.LogLine) error {
		if format == "json" {
			return enc.Encode(l)
		}
		_, err := fmt.Println(formatLogLine(l, host))
		return err
	})
	if err != nil {
		return reportClientError(err)
	}
	return 0
}

func parseSince(v string) (time.Time, error) {
	switch v {
	case "now":
		return time.Now(), nil
	case "today":
		y, m, d := time.Now().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.Local), nil
	}
	if strings.HasPrefix(v, "-") {
		d, err := time.ParseDuration(v[1:])
		if err != nil {
			return time.Time{}, err
		}
		return time.Now().Add(-d), nil
	}
	for _, f := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02", "15:04:05", "15:04"} {
		if t, err := time.ParseInLocation(f, v, time.Local); err == nil {
			if !strings.Contains(f, "2006") {
				y, m, d := time.Now().Date()
				t = time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, time.Local)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time")
}
