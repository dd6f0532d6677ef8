package main

import (
	"encoding/json"
	"io"
	"time"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/unit"
)

// Wiring of the offline verbs to a running manager and to the [Install] logic.
func init() {
	runtimeProperties = func(g *globals, name string) ([]unit.Property, bool) {
		c := client.New(g.control)
		c.Timeout = 500 * time.Millisecond
		sts, err := c.Show([]string{name}, nil)
		if err != nil || len(sts) == 0 {
			return nil, false
		}
		out := make([]unit.Property, 0, len(sts[0].Props))
		for _, p := range sts[0].Props {
			out = append(out, unit.Property{Name: p.Name, Value: p.Value})
		}
		return out, true
	}
	unitFileState = func(l *unit.Loader, name string) (string, bool) {
		st, err := unit.IsEnabled(l, name)
		if err != nil && st == "" {
			return "", false
		}
		return st, true
	}
}

// managerSearchPath is where a running manager finds units (its ping reply).
type managerSearchPath struct {
	asked    bool
	path     []string // nil: no manager answered
	explicit bool     // given as --units directories
	scope    unit.Scope
}

// managerPath asks the manager on the control socket, once, for its unit search path; ok is
// false when none answers.
func managerPath(g *globals) (*managerSearchPath, bool) {
	if g.manager == nil {
		g.manager = &managerSearchPath{}
	}
	mp := g.manager
	if !mp.asked && g.control != "" {
		mp.asked = true
		c := client.New(g.control)
		c.Timeout = 500 * time.Millisecond
		if ov, err := c.Overview(); err == nil && len(ov.UnitPath) > 0 {
			mp.path, mp.explicit, mp.scope = ov.UnitPath, ov.UnitPathExplicit, unit.System
			if ov.User {
				mp.scope = unit.User
			}
		}
	}
	return mp, mp.path != nil
}

// newLoader returns a unit loader for the verbs that read unit files: on the --units
// directories when given; else, when a manager answers, on the manager's own search path,
// so that names, aliases and drop-ins come from where the manager finds units (DESIGN.md's
// contract for these verbs); else on $SYSTEMD_UNIT_PATH or systemd's default path.
func newLoader(g *globals) *unit.Loader {
	if len(g.units) == 0 {
		if mp, ok := managerPath(g); ok {
			return unit.NewLoaderOnPath(mp.scope, mp.path, mp.explicit)
		}
	}
	return unit.NewLoader(g.scope(), g.units)
}

// searchPath is newLoader's search path.
func searchPath(g *globals) []string {
	if len(g.units) == 0 {
		if mp, ok := managerPath(g); ok {
			return mp.path
		}
	}
	return unit.SearchPath(g.scope(), g.units)
}

// showJSON prints `show --output=json`: an array with one object per unit, property name to
// value (a list for properties that occur more than once, like Listen); -p selects as for the
// text form, empty values are left out without -p or --all.
func showJSON(w io.Writer, g *globals, o *showOptions) int {
	l := newLoader(g)
	out := make([]map[string]any, 0, len(o.units))
	for _, name := range o.units {
		obj := map[string]any{}
		for _, p := range showProperties(g, l, normalizeUnitName(name)) {
			if o.props != nil && !o.props[p.Name] {
				continue
			}
			if o.props == nil && !o.all && hiddenByDefault(p) {
				continue
			}
			switch prev := obj[p.Name].(type) {
			case nil:
				obj[p.Name] = p.Value
			case string:
				obj[p.Name] = []string{prev, p.Value}
			case []string:
				obj[p.Name] = append(prev, p.Value)
			}
		}
		out = append(out, obj)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return 1
	}
	return 0
}
