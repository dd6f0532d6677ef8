package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/install"
)

// The file verbs (enable, disable, mask, is-enabled, list-unit-files, cat, edit, ...) work on
// the files of the running manager when one answers, as systemctl has systemd do them: on
// its search path and in its configuration directory, which the manager reports (unit-paths),
// with the manager's wording of errors and a daemon-reload after each change. Offline (no
// manager, a chroot, --root) they work on the files alone, as systemctl does then.

// fileScope is where a file verb works.
type fileScope struct {
	l *unit.Loader
	// c is the manager that reads these files, reloaded after a change; nil offline.
	c *client.Client
}

// online reports whether a manager reads the files: the verbs then answer as systemctl does
// through systemd (install_error's messages, a reload after changes).
func (fs *fileScope) online() bool { return fs.c != nil }

// files returns where the file verbs work: below --root (offline); the --units directories
// (with the manager that answers if its search path holds their configuration directory);
// else the manager's own lookup paths; else, without a manager, the default search path.
func (g *globals) files() *fileScope {
	if g.fileScope == nil {
		g.fileScope = g.findFiles()
	}
	return g.fileScope
}

func (g *globals) findFiles() *fileScope {
	fs := &fileScope{}
	if g.global {
		// no manager has these files as its own: none is reloaded
		fs.l = unit.NewLoaderLookup(unit.GlobalLookup(g.root))
		return fs
	}
	if g.root != "" {
		fs.l = unit.NewLoaderLookup(unit.RootLookup(g.scope(), g.root))
		return fs
	}
	var mgr *client.UnitPaths
	if g.control != "" && !ignoredOffline() {
		c := client.New(g.control)
		c.Timeout = 2 * time.Second
		if p, err := c.UnitPaths(); err == nil {
			mgr, fs.c = &p, client.New(g.control)
		}
	}
	switch {
	case len(g.units) > 0:
		fs.l = unit.NewLoader(g.scope(), g.units)
		if mgr != nil && !slices.Contains(mgr.SearchPath, fs.l.ConfigDir()) {
			fs.c = nil // another manager's files
		}
	case mgr != nil:
		fs.l = unit.NewLoaderLookup(lookupOf(mgr))
	default:
		fs.l = unit.NewLoader(g.scope(), nil)
	}
	return fs
}

// lookupOf is the unit package's form of a manager's unit-paths answer.
func lookupOf(p *client.UnitPaths) unit.Lookup {
	scope := unit.System
	if p.Scope == "user" {
		scope = unit.User
	}
	return unit.Lookup{Scope: scope, Path: p.SearchPath, Config: p.Config, Runtime: p.Runtime,
		Control: p.Control, RuntimeControl: p.RuntimeControl, Explicit: p.Explicit}
}

// reload has the manager read the changed files, as systemctl reloads systemd after a file
// verb (not with --no-reload); offline it does nothing.
func (fs *fileScope) reload(g *globals, stderr io.Writer) int {
	if fs.c == nil || g.has("no-reload") {
		return 0
	}
	if err := fs.c.DaemonReload(); err != nil {
		fmt.Fprintf(stderr, "Failed to reload daemon: %v\n", err)
		return 1
	}
	return 0
}

// presets reads the preset files where the file verbs work. Offline, what cannot be read in
// them is reported as systemctl reports it; a manager logs that itself.
func (fs *fileScope) presets(stderr io.Writer) *install.Presets {
	lk := fs.l.Lookup()
	ps := install.LoadPresets(lk.Scope, lk.Root)
	if !fs.online() {
		for _, w := range ps.Warnings {
			fmt.Fprintln(stderr, w)
		}
	}
	return ps
}

// reportChanges prints the changes and the error of a file operation as systemctl does and
// returns its exit status. Offline (systemctl on the files itself, install_changes_dump):
// every change in order, errors among them even with -q, then an error not printed yet.
// Online (through the manager): the first error alone as "Failed to WHAT: MESSAGE" in the
// manager's words, which is also what a not-found unit among no other change comes to;
// without an error, the changes but the errors.
func (fs *fileScope) reportChanges(g *globals, what string, changes []install.Change, err error, stderr io.Writer) int {
	isErr := func(c install.Change) bool { return c.ServerError() != "" }
	if fs.online() {
		first := ""
		for _, c := range changes {
			if isErr(c) {
				first = c.ServerError()
				break
			}
		}
		if err != nil && !errors.Is(err, install.ErrNoInstallInfo) {
			msg := err.Error()
			var ie *install.Error
			if errors.As(err, &ie) && ie.Server != "" {
				msg = ie.Server
			}
			if first == "" {
				first = msg
			}
			fmt.Fprintf(stderr, "Failed to %s: %s\n", what, first)
			return 1
		}
		good := slices.ContainsFunc(changes, func(c install.Change) bool { return !isErr(c) })
		if first != "" && !good {
			fmt.Fprintf(stderr, "Failed to %s: %s\n", what, first)
			return 1
		}
		if !g.quiet {
			for _, c := range changes {
				if !isErr(c) {
					fmt.Fprintln(stderr, changeText(c))
				}
			}
		}
		return 0
	}
	for _, c := range changes {
		if !g.quiet || isErr(c) {
			fmt.Fprintln(stderr, changeText(c))
		}
	}
	if err != nil && !errors.Is(err, install.ErrNoInstallInfo) {
		var ie *install.Error
		if !errors.As(err, &ie) || !ie.Reported {
			fmt.Fprintln(stderr, err)
		}
		return 1
	}
	return 0
}
