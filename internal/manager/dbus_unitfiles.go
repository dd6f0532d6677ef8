package manager

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/godbus/dbus/v5"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/internal/sdbus"
	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/install"
	"github.com/flint-init/flint/unit/show"
)

// dbusUnitFiles serves the methods on unit files, on a loader of the manager's search path
// (as the CLI's file verbs: the manager's own loader keeps what it loaded until a reload).
func (m *Manager) dbusUnitFiles(c *sdbus.Call) {
	l := unit.NewLoader(m.opt.Scope, m.opt.UnitDirs)
	strv := func(i int) []string { return c.Body[i].([]string) }
	flag := func(i int) bool { return c.Body[i].(bool) }
	opts := func(i int) install.Options { return install.Options{Runtime: flag(i), Force: flag(i + 1)} }
	flags := func(i int) install.Options {
		f := c.Body[i].(uint64)
		return install.Options{Runtime: f&1 != 0, Force: f&2 != 0}
	}
	var changes []install.Change
	var err error
	withInfo := false // the reply starts with carries_install_info
	switch c.Member {
	case "ListUnitFiles", "ListUnitFilesByPatterns":
		var states, patterns []string
		if c.Member == "ListUnitFilesByPatterns" {
			states, patterns = strv(0), strv(1)
		}
		type fileInfo struct{ Path, State string }
		out := []fileInfo{}
		for _, n := range l.List() {
			if len(patterns) > 0 && !matchAny(patterns, n) {
				continue
			}
			st, err := install.IsEnabled(l, n)
			if err != nil {
				st = install.StateBad
			}
			if len(states) > 0 && !slices.Contains(states, st) {
				continue
			}
			out = append(out, fileInfo{unitFilePath(l, n), st})
		}
		c.Reply(out)
		return
	case "GetUnitFileState":
		st, err := install.IsEnabled(l, c.Body[0].(string))
		if err != nil {
			c.Fail(sdbus.ErrNoSuchUnit, fmt.Sprintf("Unit file %s does not exist.", c.Body[0].(string)))
			return
		}
		c.Reply(st)
		return
	case "GetUnitFileLinks":
		// systemctl is-enabled --full: the symlinks disable would remove
		links, err := install.Links(l, c.Body[0].(string), flag(1))
		if err != nil {
			name := sdbus.ErrFailed
			if errors.Is(err, install.ErrNotFound) {
				name = sdbus.ErrNoSuchUnit
			}
			c.Fail(name, err.Error())
			return
		}
		c.Reply(append([]string{}, links...))
		return
	case "GetDefaultTarget":
		name, err := install.GetDefault(l)
		if err != nil {
			// systemd answers the errno of the missing link.
			c.Fail(sdbus.ErrFileNotFound, "No such file or directory")
			return
		}
		c.Reply(name)
		return
	case "EnableUnitFiles":
		withInfo = true
		changes, err = install.EnableWith(l, strv(0), opts(1))
	case "EnableUnitFilesWithFlags":
		withInfo = true
		changes, err = install.EnableWith(l, strv(0), flags(1))
	case "DisableUnitFiles":
		changes, err = install.DisableWith(l, strv(0), install.Options{Runtime: flag(1)})
	case "DisableUnitFilesWithFlags":
		changes, err = install.DisableWith(l, strv(0), flags(1))
	case "ReenableUnitFiles":
		withInfo = true
		changes, err = install.Reenable(l, strv(0), opts(1))
	case "LinkUnitFiles":
		changes, err = install.LinkWith(l, strv(0), opts(1))
	case "PresetUnitFiles", "PresetUnitFilesWithMode":
		withInfo = true
		mode, i := install.PresetMode("full"), 1
		if c.Member == "PresetUnitFilesWithMode" {
			mode, i = install.PresetMode(c.Body[1].(string)), 2
		}
		changes, err = install.Preset(l, install.LoadPresets(m.opt.Scope, ""), strv(0), mode, opts(i))
	case "MaskUnitFiles":
		changes, err = install.MaskWith(l, strv(0), opts(1))
	case "UnmaskUnitFiles":
		changes, err = install.UnmaskWith(l, strv(0), install.Options{Runtime: flag(1)})
	case "SetDefaultTarget":
		changes, err = install.SetDefault(l, c.Body[0].(string))
	default:
		c.Fail(sdbus.ErrUnknownMethod, fmt.Sprintf("Unknown method %s.", c.Member))
		return
	}
	carries := true
	if errors.Is(err, install.ErrNoInstallInfo) {
		carries, err = false, nil
	}
	type change struct{ Type, Path, Source string }
	out := []change{}
	// As systemd's install_error: the first error fails the call when nothing else was done
	// (or the operation itself failed); otherwise the changes made are the answer.
	var firstErr *install.Change
	for _, ch := range changes {
		if ch.ServerError() != "" {
			if firstErr == nil {
				firstErr = &ch
			}
			continue
		}
		switch ch.Type {
		case install.ChangeSymlink:
			out = append(out, change{"symlink", ch.Path, ch.Source})
		case install.ChangeUnlink:
			out = append(out, change{"unlink", ch.Path, ""})
		case install.ChangeDestinationAbsent:
			out = append(out, change{"destination not present", ch.Path, ch.Source})
		case install.ChangeIsMasked:
			out = append(out, change{"masked", ch.Path, ""})
		case install.ChangeAuxiliaryFailed:
			out = append(out, change{"auxiliary unit failed", ch.Source, ""})
		}
	}
	if firstErr != nil && (err != nil || len(out) == 0) {
		name := sdbus.ErrFailed
		if firstErr.Type == install.ChangeNotFound {
			name = sdbus.ErrNoSuchUnit
		}
		c.Fail(name, firstErr.ServerError())
		return
	}
	if err != nil {
		var ie *install.Error
		msg := err.Error()
		name := sdbus.ErrFailed
		if errors.As(err, &ie) && ie.Server != "" {
			msg = ie.Server
		}
		if errors.Is(err, install.ErrNotFound) {
			name = sdbus.ErrNoSuchUnit
		}
		c.Fail(name, msg)
		return
	}
	if withInfo {
		c.Reply(carries, out)
		return
	}
	c.Reply(out)
}

// unitFilePath is where the unit file of name is: the first directory of the search path
// that has it.
func unitFilePath(l *unit.Loader, name string) string {
	for _, d := range l.Paths() {
		p := filepath.Join(d, name)
		if _, err := os.Lstat(p); err == nil {
			return p
		}
	}
	return name
}

// dbusSetProperties is SetUnitProperties on a loaded unit, as `flint set-property`: each
// (name, value) becomes the assignment set-property takes; it changes Description= and
// refuses what flint does not do (setprop.go).
func (m *Manager) dbusSetProperties(c *sdbus.Call, name string, runtime bool, props [][]any) {
	var assignments []string
	for _, p := range props {
		if len(p) != 2 {
			c.Fail(sdbus.ErrInvalidArgs, "Invalid property.")
			return
		}
		k, _ := p[0].(string)
		v, _ := p[1].(dbus.Variant)
		assignments = append(assignments, k+"="+variantText(v))
	}
	if len(assignments) == 0 {
		c.Reply()
		return
	}
	m.dbusServe(func() {
		if err := m.setProperty(&api.Request{Units: []string{name}, Env: assignments, Runtime: runtime}); err != nil {
			failErr(c, err)
			return
		}
		c.Reply()
	})
}

// variantText is a property value as a unit file would spell it.
func variantText(v dbus.Variant) string {
	switch x := v.Value().(type) {
	case string:
		return x
	case bool:
		return unit.FormatBool(x)
	case []string:
		return show.FormatStrv(x)
	}
	return fmt.Sprint(v.Value())
}
