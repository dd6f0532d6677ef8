package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/install"
)

func init() {
	for _, v := range []struct{ name, summary string }{
		{"enable", "enable units ([Install] symlinks; --now also starts them)"},
		{"disable", "disable units (remove their [Install] symlinks; --now also stops them)"},
		{"reenable", "disable, then enable units again"},
		{"mask", "mask units (link them to /dev/null; --now also stops them)"},
		{"unmask", "unmask units"},
		{"link", "link unit files from outside the unit path into it"},
		{"preset", "enable or disable units as the preset files say"},
		{"revert", "remove the drop-ins and overrides of units: back to the vendor files"},
	} {
		op := v.name
		register(&verb{name: op, summary: v.summary,
			usage: fmt.Sprintf(installUsage, op),
			run:   func(g *globals, a []string) int { return runInstallVerb(g, op, a, os.Stdout, os.Stderr) }})
	}
	register(&verb{name: "preset-all", summary: "enable or disable every unit as the preset files say",
		usage: "usage: flint [--units DIR]... [--user] preset-all [--preset-mode=MODE] [--runtime] [-q]\n",
		run:   func(g *globals, a []string) int { return runPresetAll(g, a, os.Stderr) }})
}

const installUsage = `usage: flint [--units DIR]... [--root DIR] [--user] %s [--runtime] [--force] [--now] [-q] UNIT...

Works on the unit files of the running manager (its search path and configuration
directory), which it then reloads; without a manager, or with --root, on the files alone.
`

// nowHook runs after a successful enable/disable --now: it starts (enable) or stops
// (disable) the units through the manager's control socket. It is a variable so the manager
// wiring (or a test) can replace it.
var nowHook = func(g *globals, op string, units []string) int {
	job := "start"
	if op == "disable" || op == "mask" {
		job = "stop"
	}
	return runJobVerb(g, job, units)
}

// mangleName completes a unit name as systemctl does: a name without a unit type suffix
// gets ".service".
func mangleName(n string) string {
	if unit.IsValidName(n) || strings.Contains(n, "/") {
		return n
	}
	if i := strings.LastIndexByte(n, '.'); i > 0 && unit.TypeOf("x."+n[i+1:]) != "" {
		return n
	}
	return n + ".service"
}

// installOptions are --runtime and --force.
func installOptions(g *globals) install.Options {
	return install.Options{Runtime: g.runtime, Force: g.force > 0}
}

// runInstallVerb implements enable, disable, reenable, mask, unmask, link, preset and revert
// with systemctl's output (the changes on stderr, one line each) and exit codes (1 on
// failure), then reloads the manager that reads the files and, with --now, starts or stops
// the units.
func runInstallVerb(g *globals, op string, args []string, stdout, stderr io.Writer) int {
	var names []string
	for _, a := range args {
		names = append(names, mangleName(a))
	}
	if len(names) == 0 {
		fmt.Fprintln(stderr, "Too few arguments.")
		return 1
	}
	switch op {
	case "disable":
		// systemctl's normalize_names: disable takes names
		wasPath := false
		for i, n := range names {
			if strings.Contains(n, "/") {
				names[i], wasPath = filepath.Base(n), true
			}
		}
		if wasPath {
			fmt.Fprintln(stderr, "Warning: Can't execute disable on the unit file path. Proceeding with the unit name.")
		}
	case "link":
		// systemctl's normalize_filenames: link takes paths, made absolute (with --root too)
		for i, n := range names {
			if filepath.IsAbs(n) {
				continue
			}
			if !strings.Contains(n, "/") {
				fmt.Fprintf(stderr, "Link argument must contain at least one directory separator.\nIf you intended to link a file in the current directory, try ./%s instead.\n", n)
				return 1
			}
			abs, err := filepath.Abs(n)
			if err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
			names[i] = abs
		}
	}
	fs := g.files()
	if fs.online() && (op == "mask" || op == "unmask") {
		fs.noteMissing(names, stderr)
	}
	o := installOptions(g)
	var changes []install.Change
	var err error
	switch op {
	case "enable":
		changes, err = install.EnableWith(fs.l, names, o)
	case "disable":
		changes, err = install.DisableWith(fs.l, names, o)
	case "reenable":
		changes, err = install.Reenable(fs.l, names, o)
	case "mask":
		changes, err = install.MaskWith(fs.l, names, o)
	case "unmask":
		changes, err = install.UnmaskWith(fs.l, names, o)
	case "link":
		changes, err = install.LinkWith(fs.l, names, o)
	case "preset":
		changes, err = install.Preset(fs.l, fs.presets(stderr), names, presetMode(g), o)
	case "revert":
		changes, err = install.Revert(fs.l, names)
	}
	what := op + " unit"
	if code := fs.reportChanges(g, what, changes, err, stderr); code != 0 {
		return code
	}
	if errors.Is(err, install.ErrNoInstallInfo) && !g.quiet && op != "preset" {
		fmt.Fprintln(stderr, strings.ReplaceAll(install.NoInstallInfoWarning, "•", glyphs().bullet))
	}
	if code := fs.reload(g, stderr); code != 0 {
		return code
	}
	if g.now && (op == "enable" || op == "disable" || op == "mask") {
		var bases []string
		for _, n := range names {
			bases = append(bases, filepath.Base(n))
		}
		return nowHook(g, op, bases)
	}
	return 0
}

// noteMissing is systemctl's notice before mask and unmask through a manager: a name the
// manager knows nothing of is masked or unmasked all the same.
func (fs *fileScope) noteMissing(names []string, stderr io.Writer) {
	for _, n := range names {
		if unit.IsTemplate(n) {
			continue
		}
		sts, err := fs.c.Show([]string{n}, []string{"LoadState", "ActiveState"})
		if err != nil || len(sts) == 0 {
			continue
		}
		p := propMap(sts[0].Props)
		if p["LoadState"] == "not-found" && p["ActiveState"] == "inactive" {
			fmt.Fprintf(stderr, "Unit %s does not exist, proceeding anyway.\n", n)
		}
	}
}

// presetMode is --preset-mode= (full by default).
func presetMode(g *globals) install.PresetMode {
	if g.presetMode == "" {
		return install.PresetFull
	}
	return install.PresetMode(g.presetMode)
}

// runPresetAll is systemctl preset-all.
func runPresetAll(g *globals, args []string, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "Too many arguments.")
		return 1
	}
	fs := g.files()
	changes, err := install.PresetAll(fs.l, fs.presets(stderr), presetMode(g), installOptions(g))
	what := "preset"
	if fs.online() {
		what = "preset all units"
	}
	if code := fs.reportChanges(g, what, changes, err, stderr); code != 0 {
		return code
	}
	return fs.reload(g, stderr)
}
