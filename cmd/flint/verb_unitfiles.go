package main

import (
	"fmt"
	"github.com/flint-init/flint/unit/install"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// flint list-unit-files: every unit file in the search path with its enablement state and
// preset, as systemctl list-unit-files. It works on the files alone (no manager needed).

func init() {
	register(&verb{name: "list-unit-files", summary: "list installed unit files with their enablement state (works offline)",
		usage: listUnitFilesUsage, run: runListUnitFiles})
}

const listUnitFilesUsage = `usage: flint [--units DIR]... [--user] list-unit-files [--type=TYPE] [--state=STATE] [--no-legend] [--output=json] [PATTERN...]

List the unit files of the search path with their state (enabled, disabled, static, masked,
alias, indirect, ...) and their preset (from the system-preset files; "-" for units without
[Install]), as systemctl list-unit-files. Exit status 1 when none is listed.
`

// unitFileInfo is one row of list-unit-files.
type unitFileInfo struct {
	Name   string `json:"unit_file"`
	State  string `json:"state"`
	Preset string `json:"preset"`
}

func runListUnitFiles(g *globals, args []string) int {
	patterns, types, states := args, g.types, g.states
	fs := g.files()
	l := fs.l
	presets := fs.presets(os.Stderr)
	var rows []unitFileInfo
	for _, n := range l.List() {
		if len(patterns) > 0 && !globAny(patterns, n) {
			continue
		}
		if len(types) > 0 && !contains(types, unitSuffixOf(n)) {
			continue
		}
		st, err := install.IsEnabled(l, n)
		if err != nil {
			// a unit file that cannot be read (a dangling link, a directory, a FIFO, a
			// syntax error) is listed as bad, as systemctl does
			st = install.StateBad
		}
		if len(states) > 0 && !contains(states, st) {
			continue
		}
		// As systemctl, no preset for states where it would only confuse.
		preset := "-"
		switch st {
		case install.StateAlias, install.StateStatic, install.StateGenerated, "transient":
		default:
			preset = presets.State(n)
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
	if g.jsonOutput() && g.systemctl {
		writeTableJSON(os.Stdout, g.output, unitFileRowsJSON(rows))
		return nothingListed(rows)
	}
	if g.jsonOutput() {
		if rows == nil {
			rows = []unitFileInfo{}
		}
		writeJSON(rows)
		return nothingListed(rows)
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
		case install.StateEnabled, install.StateEnabledRuntime:
			col = []string{"", ansiGreen}
		case install.StateDisabled, install.StateMasked:
			col = []string{"", ansiRed}
		}
		t.add(col, r.Name, r.State, r.Preset)
	}
	t.write(os.Stdout, color)
	if legend {
		fmt.Printf("\n%d unit files listed.\n", len(rows))
	}
	return nothingListed(rows)
}

// nothingListed is list-unit-files' exit status: 1, as systemctl's, when no unit file was
// listed (a pattern or a filter that matches none).
func nothingListed(rows []unitFileInfo) int {
	if len(rows) == 0 {
		return 1
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
