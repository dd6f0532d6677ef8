package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/flint-init/flint/unit"
)

// flint list-unit-files: every unit file in the search path with its enablement state and
// preset, as systemctl list-unit-files. It works on the files alone (no manager needed).

func init() {
	register(&verb{name: "list-unit-files", summary: "list installed unit files with their enablement state (works offline)",
		usage: listUnitFilesUsage, uses: []string{"type", "state", "failed", "output"}, run: runListUnitFiles})
}

const listUnitFilesUsage = `usage: flint [--units DIR]... [--user] list-unit-files [--type=TYPE] [--state=STATE] [--no-legend] [--output=json] [PATTERN...]

List the unit files of the search path with their state (enabled, disabled, static, masked,
alias, indirect, ...) and their preset (from the system-preset files; "-" for units without
[Install]), as systemctl list-unit-files.
`

// unitFileInfo is one row of list-unit-files.
type unitFileInfo struct {
	Name   string `json:"unit_file"`
	State  string `json:"state"`
	Preset string `json:"preset"`
}

func runListUnitFiles(g *globals, args []string) int {
	patterns, types, states := args, g.types, g.states
	l := newLoader(g)
	presets := loadPresets(g.scope())
	var rows []unitFileInfo
	for _, n := range l.List() {
		if len(patterns) > 0 && !globAny(patterns, n) {
			continue
		}
		if len(types) > 0 && !contains(types, unitSuffixOf(n)) {
			continue
		}
		st, err := unit.IsEnabled(l, n)
		if err != nil {
			// a unit file that cannot be read (a dangling link, a directory, a FIFO, a
			// syntax error) is listed as bad, as systemctl does
			st = unit.StateBad
		}
		if len(states) > 0 && !contains(states, st) {
			continue
		}
		// As systemctl, no preset for states where it would only confuse.
		preset := "-"
		switch st {
		case unit.StateAlias, unit.StateStatic, unit.StateGenerated, "transient":
		default:
			preset = presets.state(n)
		}
		rows = append(rows, unitFileInfo{Name: n, State: st, Preset: preset})
	}
	sort.SliceStable(rows, func(i, j int) bool {
		ti, tj := unitSuffixOf(rows[i].Name), unitSuffixOf(rows[j].Name)
		if ti != tj {
			return ti < tj
		}
		return strings.ToLower(rows[i].Name) < strings.ToLower(rows[j].Name)
	})
	if g.jsonOutput() {
		if rows == nil {
			rows = []unitFileInfo{}
		}
		writeJSON(rows)
		return 0
	}
	legend := g.legendOn()
	t := &table{}
	if legend {
		t.add(nil, "UNIT FILE", "STATE", "PRESET")
	}
	color := isTerminal(os.Stdout)
	for _, r := range rows {
		var col []string
		switch r.State {
		case unit.StateEnabled, unit.StateEnabledRuntime:
			col = []string{"", ansiGreen}
		case unit.StateDisabled, unit.StateMasked:
			col = []string{"", ansiRed}
		}
		t.add(col, r.Name, r.State, r.Preset)
	}
	t.write(os.Stdout, color)
	if legend {
		fmt.Printf("\n%d unit files listed.\n", len(rows))
	}
	return 0
}

func unitSuffixOf(n string) string {
	if i := strings.LastIndexByte(n, '.'); i >= 0 {
		return n[i+1:]
	}
	return ""
}

func globAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
}

// presetRule is one "enable PATTERN" / "disable PATTERN" line of a .preset file.
type presetRule struct {
	enable  bool
	pattern string
}

type presetRules []presetRule

// loadPresets reads systemd.preset(5) files: every *.preset of the preset directories,
// ordered by file name (a name in an earlier directory hides the same name later), rules in
// file order; the first matching rule wins.
func loadPresets(scope unit.Scope) presetRules {
	dirs := []string{"/etc/systemd/system-preset", "/run/systemd/system-preset", "/usr/local/lib/systemd/system-preset", "/usr/lib/systemd/system-preset", "/lib/systemd/system-preset"}
	if scope == unit.User {
		dirs = []string{"/etc/systemd/user-preset", "/run/systemd/user-preset", "/usr/local/lib/systemd/user-preset", "/usr/lib/systemd/user-preset"}
	}
	files := map[string]string{}
	for _, d := range dirs {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".preset") {
				if _, seen := files[e.Name()]; !seen {
					files[e.Name()] = filepath.Join(d, e.Name())
				}
			}
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var rules presetRules
	for _, n := range names {
		// unit.ReadFile: a FIFO or device among the presets does not block or flood us
		data, err := unit.ReadFile(files[n])
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 2 || strings.HasPrefix(fields[0], "#") || strings.HasPrefix(fields[0], ";") {
				continue
			}
			switch fields[0] {
			case "enable":
				rules = append(rules, presetRule{true, fields[1]})
			case "disable":
				rules = append(rules, presetRule{false, fields[1]})
			}
		}
	}
	return rules
}

// state is the preset of a unit: the first matching rule, "enabled" when none matches
// (systemd's default policy).
func (r presetRules) state(name string) string {
	for _, rule := range r {
		if ok, _ := filepath.Match(rule.pattern, name); ok {
			if rule.enable {
				return "enabled"
			}
			return "disabled"
		}
	}
	return "enabled"
}
