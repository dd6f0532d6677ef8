package manager

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/flint-init/flint/internal/sdbus"
	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/show"
)

// StartTransientUnit for scopes (systemd-run --scope): the [Unit] properties become the
// transient file as for a service; the scope's own (PIDs=, Slice=, the kill settings) its
// runtime (scope.go), also written to the file's [Scope] section for cat and status.

// transientScope is the unit file and runtime of a scope's StartTransientUnit properties;
// caller is the pid PIDs= means by 0, viaBus whether the call came through the bus (the
// only way Controller= may be set).
func transientScope(props [][]any, caller int, viaBus bool) (string, *scopeRun, error) {
	sections := directiveSections()
	sr := newScopeRun()
	var unitSec, scopeSec strings.Builder
	for _, p := range props {
		if len(p) != 2 {
			return "", nil, fmt.Errorf("Invalid property.")
		}
		name, _ := p[0].(string)
		v, _ := p[1].(dbus.Variant)
		bad := fmt.Errorf("Invalid value for %s.", name)
		switch name {
		case "AddRef":
			continue
		case "PIDs":
			pids, ok := v.Value().([]uint32)
			if !ok {
				return "", nil, bad
			}
			for _, pid := range pids {
				switch {
				case pid == 0 && caller > 0:
					sr.pids = append(sr.pids, caller)
				case pid == 0 || pid > 1<<22:
					return "", nil, fmt.Errorf("Invalid PID %d.", pid)
				default:
					sr.pids = append(sr.pids, int(pid))
				}
			}
			if len(pids) == 0 {
				return "", nil, fmt.Errorf("Invalid value for PIDs: no PID.")
			}
			continue
		case "Slice":
			s, ok := v.Value().(string)
			if !ok || unit.TypeOf(s) != "slice" || !unit.IsValidName(s) {
				return "", nil, fmt.Errorf("Invalid slice name %v.", v.Value())
			}
			sr.slice = s
			fmt.Fprintf(&scopeSec, "Slice=%s\n", s)
			continue
		case "TimeoutStopUSec":
			us, ok := v.Value().(uint64)
			if !ok {
				return "", nil, bad
			}
			if us == 1<<64-1 {
				sr.timeoutStop = unit.DurationInfinity
				scopeSec.WriteString("TimeoutStopSec=infinity\n")
			} else {
				sr.timeoutStop = time.Duration(us) * time.Microsecond
				fmt.Fprintf(&scopeSec, "TimeoutStopSec=%dus\n", us)
			}
			continue
		case "KillSignal":
			sig, ok := v.Value().(int32)
			if !ok || sig <= 0 || sig >= 65 {
				return "", nil, bad
			}
			sr.killSignal = syscall.Signal(sig)
			fmt.Fprintf(&scopeSec, "KillSignal=%d\n", sig)
			continue
		case "SendSIGKILL", "SendSIGHUP":
			b, ok := v.Value().(bool)
			if !ok {
				return "", nil, bad
			}
			if name == "SendSIGKILL" {
				sr.sendSIGKILL = b
			} else {
				sr.sendSIGHUP = b
			}
			fmt.Fprintf(&scopeSec, "%s=%s\n", name, unit.FormatBool(b))
			continue
		case "KillMode":
			s, ok := v.Value().(string)
			switch {
			case !ok:
				return "", nil, bad
			case s == "control-group":
				sr.killMode = ""
			case s == "mixed" || s == "process" || s == "none":
				sr.killMode = s
			default:
				return "", nil, fmt.Errorf("Invalid KillMode %s.", s)
			}
			fmt.Fprintf(&scopeSec, "KillMode=%s\n", s)
			continue
		case "Controller":
			// A bus name that gets RequestStop instead of a signal to the processes
			// (dbus-scope.c): a peer connection has no name to send it to.
			if !viaBus {
				return "", nil, &callError{sdbus.ErrNotSupported, "Sorry, Controller= logic only supported via the bus."}
			}
			s, ok := v.Value().(string)
			if !ok {
				return "", nil, bad
			}
			if s != "" && !validBusName(s) {
				return "", nil, fmt.Errorf("Controller '%s' is not a valid bus name.", s)
			}
			sr.controller = s
			continue
		case "RuntimeMaxUSec":
			if us, _ := v.Value().(uint64); us != 1<<64-1 {
				return "", nil, fmt.Errorf("flint does not support RuntimeMaxSec= for scopes.")
			}
			continue
		}
		if sections[name] != "Unit" {
			return "", nil, fmt.Errorf("Cannot set property %s, or unknown property.", name)
		}
		value, err := directiveValue(name, v)
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&unitSec, "%s=%s\n", name, value)
	}
	return "# This is a transient unit file, created programmatically via flint's D-Bus API. Do not edit.\n" +
		"[Unit]\n" + unitSec.String() + "\n[Scope]\n" + scopeSec.String(), sr, nil
}

// callError is a failed call's D-Bus error other than InvalidArgs.
type callError struct{ name, msg string }

func (e *callError) Error() string { return e.msg }

// validBusName reports whether s is a unique (":1.42") or well-known ("org.example.App") bus
// name, as systemd's service_name_is_valid.
func validBusName(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	unique := s[0] == ':'
	if unique {
		s = s[1:]
	}
	elems := strings.Split(s, ".")
	if len(elems) < 2 {
		return false
	}
	for _, e := range elems {
		if e == "" || !unique && e[0] >= '0' && e[0] <= '9' {
			return false
		}
		for _, c := range e {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// scopeRequestStop asks the scope's controller to stop it: Scope.RequestStop, sent to the
// controller alone over the bus. false when there is no bus to send it on (the stop then
// signals the processes, as in systemd).
func (m *Manager) scopeRequestStop(u *Unit, controller string) bool {
	switch {
	case m.dbus == nil:
		return false
	case m.dbus.unicast != nil:
		return m.dbus.unicast(controller, sdbus.UnitPath(u.Name), sdbus.IfaceScope, "RequestStop")
	case m.dbus.link.bus == nil:
		return false
	}
	return m.dbus.link.bus.SendSignal(controller, sdbus.UnitPath(u.Name), sdbus.IfaceScope, "RequestStop")
}

// scopeControllerGone: the bus name gone has no owner any more; the scopes it controlled
// have no controller now (their stop signals the processes), as systemd's on_controller_gone.
func (m *Manager) scopeControllerGone(gone string) {
	if m.dbus == nil {
		return
	}
	for u, sr := range m.dbus.scopes {
		if sr.controller == gone {
			m.setController(u, sr, "")
		}
	}
}

// setController sets a scope's controller, keeping the set of names the bus watch reports.
func (m *Manager) setController(u *Unit, sr *scopeRun, name string) {
	d := m.dbus
	if d == nil || sr.controller == name {
		return
	}
	d.ctlMu.Lock()
	if old := sr.controller; old != "" {
		if d.controllers[old]--; d.controllers[old] <= 0 {
			delete(d.controllers, old)
		}
	}
	if name != "" {
		if d.controllers == nil {
			d.controllers = map[string]int{}
		}
		d.controllers[name]++
	}
	d.ctlMu.Unlock()
	sr.controller = name
	m.dbusUnitChanged(u)
}

// controlsScope reports whether name is some scope's controller (from the bus's read loop).
func (d *dbusState) controlsScope(name string) bool {
	d.ctlMu.Lock()
	defer d.ctlMu.Unlock()
	return d.controllers[name] > 0
}

// dbusAbandonScope serves Manager.AbandonScope and Scope.Abandon.
func (m *Manager) dbusAbandonScope(c *sdbus.Call, name string) {
	m.dbusServe(func() {
		u, ok := m.units[name]
		if !ok || !u.loaded() {
			c.Fail(sdbus.ErrNoSuchUnit, fmt.Sprintf("Unit %s not loaded.", name))
			return
		}
		if u.cfg.Type != unit.TypeScope {
			c.Fail(sdbus.ErrInvalidArgs, fmt.Sprintf("Unit %s is not a scope.", name))
			return
		}
		if err := m.scopeAbandon(u); err != nil {
			c.Fail("org.freedesktop.systemd1.ScopeNotRunning", err.Error())
			return
		}
		c.Reply()
	})
}

// runtimeProperties puts into rt what the D-Bus side knows of u (show, status, D-Bus): that
// StartTransientUnit made it (Transient=yes, UnitFileState=transient), and a scope's own
// properties: its Result, its control group, slice and tasks, its kill settings.
func (m *Manager) runtimeProperties(u *Unit, rt []show.Property) []show.Property {
	if m.dbus == nil {
		return rt
	}
	set := func(n, v string) {
		for i := range rt {
			if rt[i].Name == n {
				rt[i].Value = v
				return
			}
		}
		rt = append(rt, show.Property{Name: n, Value: v})
	}
	if _, ok := m.dbus.transient[u]; ok {
		set("Transient", "yes")
		set("UnitFileState", "transient")
		rt = slices.DeleteFunc(rt, func(p show.Property) bool { return p.Name == "UnitFilePreset" })
	}
	sr := m.scopeRunOf(u)
	if sr == nil || u.cfg.Type != unit.TypeScope {
		return rt
	}
	slice := sr.slice
	if slice == "" {
		slice = m.unitSlice(nil, nil)
	}
	cg := ""
	if ug := m.cg.groups[u.Name]; ug != nil && !(ug.idle && !ug.g.Populated()) {
		cg = ug.g.Path()
	}
	stop := "infinity"
	if sr.timeoutStop != unit.DurationInfinity {
		stop = unit.FormatTimespan(sr.timeoutStop)
	}
	tasks := "[not set]"
	if pids, _ := m.scopeUnitPIDs(u); len(pids) > 0 {
		tasks = fmt.Sprint(len(pids))
	}
	set("Result", u.result.String())
	set("Slice", slice)
	set("ControlGroup", cg)
	set("TasksCurrent", tasks)
	set("TimeoutStopUSec", stop)
	killMode := sr.killMode
	if killMode == "" {
		killMode = "control-group"
	}
	set("KillMode", killMode)
	if !u.hs().inactiveExit.isZero() {
		set("CanStart", "no") // startable once (systemd's once_only)
	}
	set("KillSignal", fmt.Sprint(int(sr.killSignal)))
	set("SendSIGKILL", unit.FormatBool(sr.sendSIGKILL))
	set("SendSIGHUP", unit.FormatBool(sr.sendSIGHUP))
	if sr.controller != "" {
		set("Controller", sr.controller)
	}
	return rt
}

// dbusUnitBy serves GetUnitByInvocationID (the 16 bytes of a unit's InvocationID) and
// GetUnitByControlGroup (a unit's ControlGroup, or a group below it).
func (m *Manager) dbusUnitBy(c *sdbus.Call) {
	m.dbusServe(func() {
		switch c.Member {
		case "GetUnitByInvocationID":
			id, _ := c.Body[0].([]byte)
			if len(id) != 16 {
				c.Fail(sdbus.ErrInvalidArgs, "Invalid invocation ID")
				return
			}
			want := hex.EncodeToString(id)
			for _, u := range m.order {
				if u.hs().invocationID == want {
					c.Reply(sdbus.UnitPath(u.Name))
					return
				}
			}
			c.Fail("org.freedesktop.systemd1.NoUnitForInvocationID", fmt.Sprintf("No unit with the specified invocation ID %s known.", want))
		case "GetUnitByControlGroup":
			path, _ := c.Body[0].(string)
			best, bestLen := "", -1
			for name, ug := range m.cg.groups {
				p := ug.g.Path()
				if (path == p || strings.HasPrefix(path, p+"/")) && len(p) > bestLen {
					best, bestLen = name, len(p)
				}
			}
			if u, ok := m.units[best]; ok && best != "" {
				c.Reply(sdbus.UnitPath(u.Name))
				return
			}
			c.Fail(sdbus.ErrNoSuchUnit, fmt.Sprintf("Control group '%s' is not valid or not managed by this instance", path))
		}
	})
}

// SelfPath is the object path of the unit of the process pid (the caller of a method on
// /org/freedesktop/systemd1/unit/self): a scope given pid, else the unit GetUnitByPID names.
func (b *dbusBackend) SelfPath(pid int) (path dbus.ObjectPath, message string, ok bool) {
	m := b.m
	m.call(func() {
		if m.dbus != nil {
			for u, sr := range m.dbus.scopes {
				if isActiveOrReloading(u.activeState()) && slices.Contains(sr.tracked, pid) {
					path, ok = sdbus.UnitPath(u.Name), true
					return
				}
			}
		}
		name, err := m.unitByPID(pid)
		if err != nil {
			message = err.Error()
			return
		}
		path, ok = sdbus.UnitPath(name), true
	})
	return path, message, ok
}
