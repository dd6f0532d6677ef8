package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/install"
	"github.com/flint-init/flint/unit/show"
)

func init() {
	register(&verb{name: "show", summary: "show unit properties as systemctl show (works offline)", usage: showUsage,
		run: func(g *globals, a []string) int {
			return untilTemplate(a, "Failed to get properties", func(a []string) int { return runShow(g, a) })
		}})
}

// runtimeProperties, when set, asks a running manager for the runtime properties of a unit
// (ActiveState, SubState, MainPID, NAccepted, ...). It returns false when no manager answers;
// `show` then prints the configuration alone, as for an inactive unit. The lead wires it to
// the control client.
var runtimeProperties func(g *globals, name string) ([]show.Property, bool)

// unitFileState returns the UnitFileState of a unit (enabled, disabled, static, ...) as
// systemctl is-enabled computes it; false when there is no unit file (systemctl then shows
// an empty UnitFileState).
var unitFileState = func(l *unit.Loader, name string) (string, bool) {
	st, err := install.IsEnabled(l, name)
	return st, err == nil || st != "" // StateBad with the reason: systemd shows "bad"
}

const showUsage = `usage: flint show [-p PROP[,PROP...]]... [--property=PROP] [--value] [--all] [UNIT...]

Print the properties of units as "Name=Value" lines, with systemd's property names and value
formats (systemctl show). Without a running manager the configuration is read from the unit
files. Without -p, properties with an empty value are left out unless --all is given.
Without UNIT: the manager's own properties (Version, SystemState, NFailedUnits, ...).
`

type showOptions struct {
	props map[string]bool // nil: all
	value bool
	all   bool
	units []string
}

// showOptionsOf takes show's options from the command line's.
func showOptionsOf(g *globals, units []string) *showOptions {
	o := &showOptions{value: g.value, all: g.all, units: units}
	if g.props != nil {
		o.props = map[string]bool{}
		for _, p := range g.props {
			o.props[p] = true
		}
	}
	return o
}

func runShow(g *globals, args []string) int {
	o := showOptionsOf(g, args)
	if len(o.units) == 0 {
		return showManager(g, o)
	}
	if g.jsonOutput() && !g.systemctl { // systemctl 252's show has no JSON form
		return showJSON(os.Stdout, g, o)
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	showUnits(w, g, o)
	return 0
}

// showUnits prints the properties of o.units, separated by empty lines as systemctl does.
func showUnits(w io.Writer, g *globals, o *showOptions) {
	l := newLoader(g)
	if slices.ContainsFunc(o.units, isGlob) && g.control != "" {
		// the loaded units the patterns match, as the manager has them
		if names, err := expandUnits(g, client.New(g.control), o.units); err == nil {
			o.units = names
		}
	}
	for i, name := range o.units {
		if i > 0 {
			fmt.Fprintln(w)
		}
		props := showProperties(g, l, normalizeUnitName(name))
		writeProperties(w, withRequested(props, o), o)
	}
}

// showProperties is what `show` prints for one unit: the configuration from the unit files,
// the enablement state, and the runtime properties when a manager answers.
func showProperties(g *globals, l *unit.Loader, name string) []show.Property {
	u := l.Load(name)
	props := show.Properties(u)
	var extra []show.Property
	if runtimeProperties != nil {
		if rt, ok := runtimeProperties(g, u.Name); ok {
			extra = append(extra, rt...)
		}
	}
	// The manager says UnitFileState itself, from the same search path (newLoader).
	if unitFileState != nil && !slices.ContainsFunc(extra, func(p show.Property) bool { return p.Name == "UnitFileState" }) {
		if st, ok := unitFileState(l, u.Name); ok {
			extra = append(extra, show.Property{Name: "UnitFileState", Value: st},
				show.Property{Name: "UnitFilePreset", Value: presetState(l, u.Name)})
		}
	}
	if len(extra) > 0 {
		props = show.MergeProperties(u.Type, props, extra...)
	}
	return props
}

// writeProperties prints props as systemctl does: in its own order whatever the order of
// -p; with -p, requested properties are printed even when empty, unknown ones silently
// skipped; without -p, empty values only with --all. --value prints the values alone.
func writeProperties(w io.Writer, props []show.Property, o *showOptions) {
	for _, p := range props {
		if o.props != nil && !o.props[p.Name] {
			continue
		}
		if o.props == nil && !o.all && hiddenByDefault(p) {
			continue
		}
		if o.value {
			fmt.Fprintln(w, p.Value)
		} else {
			fmt.Fprintf(w, "%s=%s\n", p.Name, p.Value)
		}
	}
}

// withRequested adds, for show -p, the properties asked for that systemctl knows for the
// unit's type and props lacks, with an empty value: systemctl prints "NAME=" for them.
func withRequested(props []show.Property, o *showOptions) []show.Property {
	if o.props == nil {
		return props
	}
	t := unit.Type("")
	have := map[string]bool{}
	for _, p := range props {
		have[p.Name] = true
		if p.Name == "Id" {
			if i := strings.LastIndexByte(p.Value, '.'); i >= 0 {
				t = unit.Type(p.Value[i+1:])
			}
		}
	}
	var extra []show.Property
	for _, n := range show.PropertyNames(t) {
		if o.props[n] && !have[n] {
			have[n] = true
			extra = append(extra, show.Property{Name: n})
		}
	}
	if len(extra) == 0 {
		return props
	}
	return show.MergeProperties(t, props, extra...)
}

// hiddenByDefault: what systemctl show leaves out without -p or --all: empty values, and
// the exit statuses of Failure/SuccessAction= when not set; and flint's lists of unmet
// conditions, which systemd's show has as Conditions=/Asserts= (unprintable there).
func hiddenByDefault(p show.Property) bool {
	if p.Name == "FlintUnmetConditions" || p.Name == "FlintUnmetAsserts" {
		return true
	}
	if p.Name == "RestrictNetworkInterfaces" {
		return p.Value == "~" // never set; an allow list emptied again is printed empty
	}
	if p.Value == "" {
		return true
	}
	return p.Value == "[not set]" && (p.Name == "FailureActionExitStatus" || p.Name == "SuccessActionExitStatus")
}

// presetState is the UnitFilePreset of a unit: what the preset files of l's scope and root
// say of it.
func presetState(l *unit.Loader, name string) string {
	lk := l.Lookup()
	return install.LoadPresets(lk.Scope, lk.Root).State(name)
}

// showManager prints the manager's own properties, as systemctl show without a unit.
func showManager(g *globals, o *showOptions) int {
	props, err := client.New(g.control).ManagerProperties()
	if err != nil {
		return reportClientError(err)
	}
	if g.jsonOutput() && !g.systemctl {
		obj := map[string]string{}
		for _, p := range props {
			if o.props == nil || o.props[p.Name] {
				obj[p.Name] = p.Value
			}
		}
		writeJSON(obj)
		return 0
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	var ps []show.Property
	for _, p := range props {
		ps = append(ps, show.Property{Name: p.Name, Value: p.Value})
	}
	writeProperties(w, ps, o)
	return 0
}
