package manager

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"

	"github.com/flint-init/flint/internal/sdbus"
	"github.com/flint-init/flint/unit"
)

// StartTransientUnit for services (systemd-run): the properties become a unit file in
// <runtime dir>/transient, as systemd writes /run/systemd/transient/NAME, which the loader
// reads (unit.Loader.LoadTransient); the unit is then started like any other. It is kept
// across daemon-reload and unloaded (its file removed) once inactive and unreferenced.

// transientDir is where the transient units' files are.
func (m *Manager) transientDir() string { return filepath.Join(m.opt.RuntimeDir, "transient") }

// dbusStartTransient serves StartTransientUnit.
func (m *Manager) dbusStartTransient(c *sdbus.Call, name, mode string, props, aux [][]any) {
	if !slices.Contains(unit.JobModes, mode) {
		c.Fail(sdbus.ErrInvalidArgs, fmt.Sprintf("Job mode %s invalid.", mode))
		return
	}
	if !unit.IsValidName(name) || unit.IsTemplate(name) {
		c.Fail(sdbus.ErrInvalidArgs, fmt.Sprintf("Invalid unit name or type."))
		return
	}
	t := unit.TypeOf(name)
	if t != unit.TypeService && t != unit.TypeScope {
		c.Fail(sdbus.ErrNotSupported, fmt.Sprintf("flint does not support transient %s units.", t))
		return
	}
	if len(aux) > 0 {
		c.Fail(sdbus.ErrNotSupported, "flint does not support auxiliary transient units.")
		return
	}
	props, stdio, err := takeStdioFDs(c, props)
	if err != nil {
		c.Fail(sdbus.ErrInvalidArgs, err.Error())
		return
	}
	if stdio != nil && t != unit.TypeService {
		closeStdio(stdio)
		c.Fail(sdbus.ErrInvalidArgs, "Cannot set property StandardInputFileDescriptor, or unknown property.")
		return
	}
	var text string
	var sr *scopeRun
	if t == unit.TypeScope {
		text, sr, err = transientScope(props, c.Peer.PID, c.ViaBus())
	} else {
		text, err = transientUnitText(props)
	}
	if err != nil {
		closeStdio(stdio)
		if ce, ok := err.(*callError); ok {
			c.Fail(ce.name, ce.msg)
			return
		}
		c.Fail(sdbus.ErrInvalidArgs, err.Error())
		return
	}
	m.dbusServe(func() {
		registered := false
		defer func() {
			if !registered {
				closeStdio(stdio)
			}
		}()
		if old, ok := m.units[name]; ok {
			if old.loaded() || !isInactiveOrFailed(old.activeState()) || old.job != nil || old.cfg.LoadState == unit.Masked {
				c.Fail(sdbus.ErrUnitExists, fmt.Sprintf("Unit %s already exists.", name))
				return
			}
			m.unload([]*Unit{old}) // a name looked up before, not found
		}
		if m.loader.Load(name).LoadState != unit.NotFound {
			c.Fail(sdbus.ErrUnitExists, fmt.Sprintf("Unit %s already exists.", name))
			return
		}
		path := filepath.Join(m.transientDir(), name)
		if err := writeFileAtomic(path, text); err != nil {
			c.Fail(sdbus.ErrFailed, fmt.Sprintf("Failed to write %s: %v", path, err))
			return
		}
		cfg := m.loader.LoadTransient(name, path, []byte(text))
		if cfg.LoadState != unit.Loaded {
			os.Remove(path)
			c.Fail(sdbus.ErrInvalidArgs, cfg.LoadError)
			return
		}
		u := m.register(name, cfg)
		u.transient = true
		m.dbus.transient[u] = path
		if sr != nil {
			m.dbus.scopes[u] = sr
			ctl := sr.controller
			sr.controller = ""
			m.setController(u, sr, ctl) // watched from now on
		}
		if stdio != nil {
			m.dbus.stdio[u] = stdio
			registered = true
		}
		m.dbusEnqueue(c, "start", u, mode)
	})
}

// forgetTransient removes the file of a transient unit that was unloaded.
func (d *dbusState) forgetTransient(u *Unit) {
	if p, ok := d.transient[u]; ok {
		delete(d.transient, u)
		os.Remove(p)
	}
}

// transientUnitText is the unit file of StartTransientUnit's properties: each (name, value)
// becomes the directive systemd's bus property stands for, in its section; a property flint
// has no directive for fails the call, as an unknown property fails it in systemd.
func transientUnitText(props [][]any) (string, error) {
	sections := directiveSections()
	var unitSec, svcSec strings.Builder
	for _, p := range props {
		if len(p) != 2 {
			return "", fmt.Errorf("Invalid property.")
		}
		name, _ := p[0].(string)
		v, _ := p[1].(dbus.Variant)
		switch name {
		case "AddRef":
			continue // the client's reference: flint keeps a transient unit while it is active
		case "ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecStopPost", "ExecReload", "ExecCondition":
			cmds, ok := v.Value().([][]any)
			if !ok {
				return "", fmt.Errorf("Invalid value for %s.", name)
			}
			for _, cmd := range cmds {
				line, err := execLine(cmd)
				if err != nil {
					return "", fmt.Errorf("%s: %v", name, err)
				}
				fmt.Fprintf(&svcSec, "%s=%s\n", name, line)
			}
			continue
		}
		directive := name
		value, err := directiveValue(name, v)
		if err != nil {
			return "", err
		}
		if strings.HasSuffix(name, "USec") {
			directive = strings.TrimSuffix(name, "USec") + "Sec"
		}
		sec, ok := sections[directive]
		if !ok {
			return "", fmt.Errorf("Cannot set property %s, or unknown property.", name)
		}
		b := &svcSec
		if sec == "Unit" {
			b = &unitSec
		}
		fmt.Fprintf(b, "%s=%s\n", directive, value)
	}
	return "# This is a transient unit file, created programmatically via flint's D-Bus API. Do not edit.\n" +
		"[Unit]\n" + unitSec.String() + "\n[Service]\n" + svcSec.String(), nil
}

// directiveSections maps the [Unit] and [Service] directives to their section.
var directiveSections = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	for _, d := range unit.Directives() {
		if d.Section == "Unit" || d.Section == "Service" {
			if _, ok := out[d.Name]; !ok || d.Section == "Service" {
				out[d.Name] = d.Section
			}
		}
	}
	return out
})

// directiveValue spells a property's value as its directive's: strings as they are,
// booleans yes/no, lists space-separated (quoted where needed), µs with "us", modes octal.
func directiveValue(name string, v dbus.Variant) (string, error) {
	var s string
	switch x := v.Value().(type) {
	case string:
		s = x
	case bool:
		s = unit.FormatBool(x)
	case []string:
		words := make([]string, len(x))
		for i, w := range x {
			words[i] = quoteWord(w)
		}
		s = strings.Join(words, " ")
	case uint64:
		switch {
		case strings.HasSuffix(name, "USec") && x == 1<<64-1:
			s = "infinity"
		case strings.HasSuffix(name, "USec"):
			s = strconv.FormatUint(x, 10) + "us"
		case x == 1<<64-1:
			s = "infinity"
		default:
			s = strconv.FormatUint(x, 10)
		}
	case uint32:
		if strings.HasSuffix(name, "Mode") || name == "UMask" {
			s = fmt.Sprintf("%04o", x)
		} else {
			s = strconv.FormatUint(uint64(x), 10)
		}
	case int32, int64, uint8, uint16, int16:
		s = fmt.Sprint(x)
	default:
		return "", fmt.Errorf("Cannot set property %s, or unknown property.", name)
	}
	if strings.ContainsAny(s, "\n\r") {
		return "", fmt.Errorf("Invalid value for %s: a line break.", name)
	}
	return strings.ReplaceAll(s, "%", "%%"), nil
}

// execLine is one (path, argv, ignore-failure) command as an Exec*= value.
func execLine(cmd []any) (string, error) {
	if len(cmd) != 3 {
		return "", fmt.Errorf("bad command")
	}
	path, _ := cmd[0].(string)
	argv, _ := cmd[1].([]string)
	ignore, _ := cmd[2].(bool)
	if !filepath.IsAbs(path) || strings.ContainsAny(path+strings.Join(argv, ""), "\n\r") {
		return "", fmt.Errorf("bad command %q", path)
	}
	if len(argv) == 0 {
		argv = []string{path}
	}
	var b strings.Builder
	if ignore {
		b.WriteByte('-')
	}
	words := make([]string, len(argv))
	for i, w := range argv {
		words[i] = quoteWord(w)
	}
	if argv[0] == path {
		b.WriteString(strings.Join(words, " "))
	} else {
		b.WriteString("@" + quoteWord(path) + " " + strings.Join(words, " "))
	}
	return strings.ReplaceAll(b.String(), "%", "%%"), nil
}

// quoteWord quotes a word for a unit file's command line or list.
func quoteWord(w string) string {
	if w != "" && w != ";" && !strings.ContainsAny(w, " \t\"'\\") {
		return w
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w) + `"`
}
