package main

import (
	"encoding/json"
	"io"
	"time"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/install"
	"github.com/flint-init/flint/unit/show"
)

// Wiring of the offline verbs to a running manager and to the [Install] logic.
func init() {
	runtimeProperties = func(g *globals, name string) ([]show.Property, bool) {
		c := client.New(g.control)
		c.Timeout = 500 * time.Millisecond
		sts, err := c.Show([]string{name}, nil)
		if err != nil || len(sts) == 0 {
			return nil, false
		}
		out := make([]show.Property, 0, len(sts[0].Props))
		for _, p := range sts[0].Props {
			out = append(out, show.Property{Name: p.Name, Value: p.Value})
		}
		return out, true
	}
	unitFileState = func(l *unit.Loader, name string) (string, bool) {
		st, err := install.IsEnabled(l, name)
		if err != nil && st == "" {
			return "", false
		}
		return st, true
	}
}

// newLoader returns a unit loader for the verbs that read unit files: where the file
// verbs work (files.go: the --units directories, else the running manager's search path,
// else $SYSTEMD_UNIT_PATH or systemd's default path).
func newLoader(g *globals) *unit.Loader { return g.files().l }

// searchPath is newLoader's search path.
func searchPath(g *globals) []string { return g.files().l.Paths() }

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
