package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/internal/security"
	"github.com/flint-init/flint/unit"
)

func init() {
	registerAnalyze("security", "assess the sandbox of services: exposure table and score, as systemd-analyze security", runAnalyzeSecurity)
}

// securityOptions are systemd-analyze's options for the security verb.
type securityOptions struct {
	offline      bool
	threshold    uint64 // exit status 1 when a unit's exposure (0-100) is above it
	thresholdSet bool
	json         security.JSONFormat
	policy       string   // --security-policy= file
	given        []string // the options given, for runAnalyze's check that they fit the verb
}

// set takes one of runAnalyze's options for security; the error is
// systemd-analyze's message.
func (o *securityOptions) set(key, value string) error {
	o.given = append(o.given, key)
	switch key {
	case "offline":
		b, err := unit.ParseBool(value)
		if err != nil {
			return fmt.Errorf("Failed to parse --offline= argument: %s", value)
		}
		o.offline = b
	case "threshold":
		n, err := strconv.ParseUint(value, 10, 32)
		if err != nil || n > 100 {
			return fmt.Errorf("Failed to parse threshold: %s", value)
		}
		o.threshold, o.thresholdSet = n, true
	case "json":
		switch value {
		case "pretty", "short":
			o.json = security.JSONFormat(value)
		case "off":
			o.json = ""
		default:
			return fmt.Errorf("Unknown argument to --json= suffix: %s", value)
		}
	case "security-policy":
		o.policy = value
	}
	return nil
}

// securityOnly is systemd-analyze's message for a security option given to another verb.
func securityOnly(option string) string {
	switch option {
	case "json":
		return "Option --json= is only supported for security and inspect-elf right now."
	case "security-policy":
		return "Option --security-policy= is only supported for security."
	}
	return "Option --" + option + "= is only supported for security right now."
}

// policyDirs are where systemd-analyze looks for systemd-analyze-security.policy when no
// --security-policy= names one (CONF_PATHS("systemd")).
var policyDirs = []string{"/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd"}

const securityUsage = `usage: flint analyze security [--offline=yes] [--threshold=N] [--json=pretty|short|off]
                              [--security-policy=FILE] [UNIT|FILE...]

Assess the sandbox of services as systemd-analyze security does: for each UNIT a table of
the security settings with their share of the exposure, and the overall exposure level
(0.0 best to 10.0 worst). Without UNIT, the summary of every service the manager has
loaded. --offline=yes reads unit FILEs (their directory first, then the unit path) and
needs no manager. Without --security-policy=, systemd-analyze-security.policy is read from
/etc/systemd, /run/systemd, /usr/local/lib/systemd or /usr/lib/systemd if there. The exit status is 1 when a unit cannot be analyzed or its exposure is
above --threshold= (0-100, tenths of the level; 100 by default).
`

func runAnalyzeSecurity(g *globals, args []string) int {
	o := &g.security
	threshold := uint64(100)
	if o.thresholdSet {
		threshold = o.threshold
	}
	var policy security.Policy
	path := o.policy
	if path == "" {
		for _, d := range policyDirs {
			if p := filepath.Join(d, "systemd-analyze-security.policy"); fileExists(p) {
				path = p
				break
			}
		}
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err == nil {
			policy, err = security.ParsePolicy(data)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "Failed to parse '%s': %v\n", path, err)
			return 1
		}
	}
	opts := security.Options{Glyphs: security.Terminal(nil), JSON: o.json}
	if b, err := unit.ParseBool(os.Getenv("SYSTEMD_ANALYZE_DEBUG")); err == nil && b {
		opts.Debug = true
	}
	a := &securityRun{g: g, threshold: threshold, policy: policy, opts: opts, out: os.Stdout, errs: os.Stderr}
	if o.offline {
		a.opts.Offline = true
		return a.offline(args)
	}
	return a.online(args)
}

type securityRun struct {
	g         *globals
	threshold uint64
	policy    security.Policy
	opts      security.Options
	out, errs io.Writer
	status    int
}

// offline is --offline=yes: every argument is a unit file (or a name on the unit path),
// assessed and printed in turn, as systemd-analyze's offline_security_checks.
func (a *securityRun) offline(targets []string) int {
	if len(targets) == 0 {
		return 0
	}
	var dirs, names []string
	seen := map[string]bool{}
	for _, t := range targets {
		name := filepath.Base(t)
		if !unit.IsValidName(name) {
			fmt.Fprintf(a.errs, "Failed to prepare filename %s: Invalid argument\n", unit.Printable(t))
			a.status = 1
			continue
		}
		if strings.Contains(t, "/") || fileExists(t) {
			abs, err := filepath.Abs(t)
			if err != nil {
				fmt.Fprintf(a.errs, "Failed to prepare filename %s: %v\n", unit.Printable(t), err)
				a.status = 1
				continue
			}
			if d := filepath.Dir(abs); !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
		}
		names = append(names, name)
	}
	for _, d := range searchPath(a.g) {
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	l := unit.NewLoader(a.g.scope(), dirs)
	for _, name := range names {
		if unit.IsTemplate(name) {
			if inst, err := unit.Instantiate(name, "i"); err == nil {
				name = inst
			}
		}
		if rep, ok := a.assess(l, name, false); ok {
			a.print(rep)
		}
	}
	return a.status
}

// online assesses units as the manager sees them: the named services (a summary table
// follows when there are several), or every loaded long-running service (the summary only).
func (a *securityRun) online(args []string) int {
	l := newLoader(a.g)
	if len(args) == 0 {
		c := client.New(a.g.control)
		c.Timeout = 5 * time.Second
		// every unit the manager holds, as systemd's ListUnits (not only the active ones)
		infos, err := c.ListUnits(true, []string{"service"}, nil, nil)
		if err != nil {
			fmt.Fprintf(a.errs, "Failed to list units: %v\n", err)
			return 1
		}
		var names []string
		for _, i := range infos {
			if strings.HasSuffix(i.Name, ".service") && i.Load == "loaded" {
				names = append(names, i.Name)
			}
		}
		sort.Strings(names)
		var reps []security.Report
		for _, n := range names {
			if rep, ok := a.assess(l, n, true); ok {
				reps = append(reps, rep)
			}
		}
		if err := security.WriteOverview(a.out, reps, a.opts); err != nil {
			return 1
		}
		return a.status
	}
	var reps []security.Report
	for i, arg := range args {
		name := normalizeUnitName(arg)
		if !strings.HasSuffix(name, ".service") {
			fmt.Fprintf(a.errs, "Unit %s is not a service unit, refusing.\n", arg)
			return 1
		}
		if unit.IsTemplate(name) {
			if inst, err := unit.Instantiate(name, "test-instance"); err == nil {
				name = inst
			}
		}
		if i > 0 {
			fmt.Fprintln(a.out) // JSON too, as systemd-analyze
		}
		if rep, ok := a.assess(l, name, false); ok {
			a.print(rep)
			reps = append(reps, rep)
		}
	}
	if len(args) > 1 {
		fmt.Fprintln(a.out)
		if err := security.WriteOverview(a.out, reps, a.opts); err != nil {
			return 1
		}
	}
	return a.status
}

// assess loads and assesses one unit. With short (the summary of all services), units
// that did not load and oneshot services are left out silently, as systemd does.
func (a *securityRun) assess(l *unit.Loader, name string, short bool) (security.Report, bool) {
	u := l.Load(name)
	if !short {
		for _, d := range u.Diagnostics {
			if d.Line > 0 {
				fmt.Fprintf(a.errs, "%s:%d: %s\n", unit.Printable(d.File), d.Line, d.Msg)
			} else {
				fmt.Fprintf(a.errs, "%s: %s\n", u.Name, d.Msg)
			}
		}
	}
	if u.LoadState != unit.Loaded {
		if short {
			return security.Report{}, false
		}
		switch {
		case a.opts.Offline:
			// manager_load_startable_unit_or_warn
			switch u.LoadState {
			case unit.NotFound:
				fmt.Fprintf(a.errs, "Unit %s not found.\n", name)
			case unit.Masked:
				fmt.Fprintf(a.errs, "Unit %s is masked.\n", u.Name)
			case unit.BadSetting:
				fmt.Fprintf(a.errs, "Unit %s has a bad unit file setting.\n", u.Name)
			default:
				fmt.Fprintf(a.errs, "Unit %s failed to load properly, please adjust/correct and reload service manager: %s\n", u.Name, u.LoadError)
			}
		case u.LoadState == unit.NotFound:
			fmt.Fprintf(a.errs, "Unit %s not found, cannot analyze.\n", name)
		case u.LoadState == unit.Masked:
			fmt.Fprintf(a.errs, "Unit %s is masked, cannot analyze.\n", name)
		default:
			fmt.Fprintf(a.errs, "Unit %s not loaded properly, cannot analyze.\n", name)
		}
		a.status = 1
		return security.Report{}, false
	}
	if short && u.Service != nil && u.Service.Type == unit.Oneshot {
		return security.Report{}, false
	}
	info := security.FromUnit(u, l.SourceFiles(u), l.Expander(u), l.Scope())
	if !a.opts.Offline {
		info.ManagerView()
	}
	rep := security.Assess(info, a.policy)
	if rep.Exposure > a.threshold {
		a.status = 1
	}
	return rep, true
}

func (a *securityRun) print(rep security.Report) {
	if err := security.WriteReport(a.out, rep, a.opts); err != nil {
		a.status = 1
	}
}
