package manager

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/internal/sdbus"
	"github.com/flint-init/flint/unit"
)

// The methods of org.freedesktop.systemd1 that flint implements, on the control requests'
// logic (control.go, control_more.go, environ.go, actions.go) and the unit package's file
// operations.

// dbusJobVerbs map the Manager's job methods to the control verbs.
var dbusJobVerbs = map[string]string{
	"StartUnit": "start", "StopUnit": "stop", "ReloadUnit": "reload", "RestartUnit": "restart",
	"TryRestartUnit": "try-restart", "ReloadOrRestartUnit": "reload-or-restart",
	"ReloadOrTryRestartUnit": "try-reload-or-restart",
}

// dbusUnitJobVerbs map the Unit interface's job methods to the control verbs.
var dbusUnitJobVerbs = map[string]string{
	"Start": "start", "Stop": "stop", "Reload": "reload", "Restart": "restart", "TryRestart": "try-restart",
	"ReloadOrRestart": "reload-or-restart", "ReloadOrTryRestart": "try-reload-or-restart",
}

var dbusManagerMethods = map[string]bool{
	"GetUnit": true, "LoadUnit": true, "GetUnitByPID": true, "GetUnitProcesses": true,
	"StartUnit": true, "StopUnit": true, "ReloadUnit": true, "RestartUnit": true, "TryRestartUnit": true,
	"ReloadOrRestartUnit": true, "ReloadOrTryRestartUnit": true, "KillUnit": true, "ResetFailedUnit": true,
	"ResetFailed": true, "ListUnits": true, "ListUnitsFiltered": true, "ListUnitsByPatterns": true,
	"ListUnitsByNames": true, "ListJobs": true, "GetJob": true, "CancelJob": true, "ClearJobs": true,
	"Subscribe": true, "Unsubscribe": true, "Reload": true, "Reexecute": true,
	"SetEnvironment": true, "UnsetEnvironment": true, "UnsetAndSetEnvironment": true,
	"ListUnitFiles": true, "ListUnitFilesByPatterns": true, "GetUnitFileState": true, "GetUnitFileLinks": true,
	"EnableUnitFiles": true, "EnableUnitFilesWithFlags": true, "DisableUnitFiles": true,
	"DisableUnitFilesWithFlags": true, "ReenableUnitFiles": true, "LinkUnitFiles": true,
	"PresetUnitFiles": true, "PresetUnitFilesWithMode": true, "MaskUnitFiles": true, "UnmaskUnitFiles": true,
	"SetDefaultTarget": true, "GetDefaultTarget": true, "Exit": true, "PowerOff": true, "Reboot": true,
	"Halt": true, "SetExitCode": true, "SetUnitProperties": true, "StartTransientUnit": true,
	"AbandonScope": true, "GetUnitByInvocationID": true, "GetUnitByControlGroup": true, "CleanUnit": true,
}

func (b *dbusBackend) Supported(iface, method string) bool {
	switch iface {
	case sdbus.IfaceManager:
		return dbusManagerMethods[method]
	case sdbus.IfaceJob:
		return method == "Cancel"
	case sdbus.IfaceUnit:
		return dbusUnitJobVerbs[method] != "" || method == "Kill" || method == "ResetFailed" || method == "Clean"
	case sdbus.IfaceService, sdbus.IfaceSocket:
		return method == "GetProcesses"
	case sdbus.IfaceScope:
		return method == "GetProcesses" || method == "Abandon"
	}
	return false
}

// dbusError is the D-Bus error name for a control error's code.
func dbusError(code string) string {
	switch code {
	case "not-found", "not-loaded":
		return sdbus.ErrNoSuchUnit
	case "masked":
		return sdbus.ErrUnitMasked
	case "bad-setting":
		return "org.freedesktop.systemd1.BadUnitSetting"
	case "refused":
		return sdbus.ErrOnlyByDependency
	case "not-applicable":
		return sdbus.ErrJobNotApplicable
	case "invalid-name", "invalid-args", "bad-request":
		return sdbus.ErrInvalidArgs
	case "destructive":
		return sdbus.ErrDestructive
	case "transaction":
		return "org.freedesktop.systemd1.TransactionJobsConflicting"
	case "permission":
		return sdbus.ErrAccessDenied
	}
	return sdbus.ErrFailed
}

func failErr(c *sdbus.Call, err error) {
	var re *reqError
	if errors.As(err, &re) {
		c.Fail(dbusError(re.code), re.msg)
		return
	}
	c.Fail(sdbus.ErrFailed, err.Error())
}

func (b *dbusBackend) Call(c *sdbus.Call) {
	m := b.m
	switch c.Interface {
	case sdbus.IfaceUnit, sdbus.IfaceService, sdbus.IfaceSocket, sdbus.IfaceScope:
		m.dbusUnitMethod(c)
		return
	case sdbus.IfaceJob:
		m.dbusServe(func() {
			j := m.lookupJob(c.Path)
			if j == nil {
				c.Fail(sdbus.ErrNoSuchJob, "Job does not exist anymore.")
				return
			}
			m.finishJob(j, "canceled")
			c.Reply()
		})
		return
	}
	arg := func(i int) string { return c.Body[i].(string) }
	strv := func(i int) []string { return c.Body[i].([]string) }
	if verb := dbusJobVerbs[c.Member]; verb != "" {
		m.dbusJob(c, verb, arg(0), arg(1))
		return
	}
	switch c.Member {
	case "GetUnit":
		m.dbusServe(func() {
			if u, ok := m.units[arg(0)]; ok {
				c.Reply(sdbus.UnitPath(u.Name))
				return
			}
			c.Fail(sdbus.ErrNoSuchUnit, fmt.Sprintf("Unit %s not loaded.", arg(0)))
		})
	case "AbandonScope":
		m.dbusAbandonScope(c, arg(0))
	case "GetUnitByInvocationID", "GetUnitByControlGroup":
		m.dbusUnitBy(c)
	case "LoadUnit":
		if !unit.IsValidName(arg(0)) {
			c.Fail(sdbus.ErrInvalidArgs, fmt.Sprintf("Unit name %s is not valid.", arg(0)))
			return
		}
		m.dbusServe(func() { c.Reply(sdbus.UnitPath(m.load(arg(0)).Name)) })
	case "GetUnitByPID":
		pid := int(c.Body[0].(uint32))
		if pid == 0 {
			pid = c.Peer.PID
		}
		m.dbusServe(func() {
			name, err := m.unitByPID(pid)
			if err != nil {
				c.Fail(sdbus.ErrNoUnitForPID, err.Error())
				return
			}
			c.Reply(sdbus.UnitPath(name))
		})
	case "GetUnitProcesses":
		m.dbusServe(func() {
			u, ok := m.units[arg(0)]
			if !ok {
				c.Fail(sdbus.ErrNoSuchUnit, fmt.Sprintf("Unit %s not loaded.", arg(0)))
				return
			}
			c.Reply(m.dbusProcesses(u))
		})
	case "KillUnit":
		m.dbusKill(c, arg(0), arg(1), int(c.Body[2].(int32)))
	case "CleanUnit":
		m.dbusClean(c, arg(0), strv(1))
	case "ResetFailedUnit", "ResetFailed":
		var names []string
		if c.Member == "ResetFailedUnit" {
			names = []string{arg(0)}
		}
		m.dbusServe(func() {
			if err := m.resetFailed(names); err != nil {
				c.Fail(sdbus.ErrNoSuchUnit, trimFailedTo(err.Error()))
				return
			}
			c.Reply()
		})
	case "ListUnits", "ListUnitsFiltered", "ListUnitsByPatterns":
		var states, patterns []string
		if c.Member != "ListUnits" {
			states = strv(0)
		}
		if c.Member == "ListUnitsByPatterns" {
			patterns = strv(1)
		}
		m.dbusServe(func() { c.Reply(m.dbusListUnits(m.matchUnits(nil, true), states, patterns)) })
	case "ListUnitsByNames":
		m.dbusServe(func() {
			var us []*Unit
			for _, n := range strv(0) {
				if unit.IsValidName(n) {
					us = append(us, m.load(n))
				}
			}
			c.Reply(m.dbusListUnits(us, nil, nil))
		})
	case "ListJobs":
		m.dbusServe(func() {
			type jobInfo struct {
				ID                uint32
				Unit, Type, State string
				Path, UnitPath    dbus.ObjectPath
			}
			out := []jobInfo{}
			for _, j := range m.sortedJobs() {
				st := "waiting"
				if j.running {
					st = "running"
				}
				out = append(out, jobInfo{uint32(j.id), j.u.Name, j.typ, st, sdbus.JobPath(j.id), sdbus.UnitPath(j.u.Name)})
			}
			c.Reply(out)
		})
	case "GetJob", "CancelJob":
		id := int(c.Body[0].(uint32))
		m.dbusServe(func() {
			j := m.jobs[id]
			if j == nil {
				c.Fail(sdbus.ErrNoSuchJob, fmt.Sprintf("Job %d does not exist.", id))
				return
			}
			if c.Member == "GetJob" {
				c.Reply(sdbus.JobPath(id))
				return
			}
			m.finishJob(j, "canceled")
			c.Reply()
		})
	case "ClearJobs":
		m.dbusServe(func() {
			for _, j := range m.sortedJobs() {
				m.finishJob(j, "canceled")
			}
			c.Reply()
		})
	case "Subscribe", "Unsubscribe":
		// Every signal goes to every direct connection, as systemd sends them.
		c.Reply()
	case "Reload", "Reexecute":
		m.dbusServe(func() {
			m.daemonReload()
			c.Reply()
		})
	case "SetEnvironment", "UnsetEnvironment", "UnsetAndSetEnvironment":
		m.dbusServe(func() {
			var err error
			switch c.Member {
			case "SetEnvironment":
				_, err = m.environmentRequest(&api.Request{Verb: "set-environment", Env: strv(0)})
			case "UnsetEnvironment":
				_, err = m.environmentRequest(&api.Request{Verb: "unset-environment", Env: strv(0)})
			default:
				for _, kv := range strv(1) {
					if !unit.ValidEnvAssignment(kv) {
						err = &reqError{"bad-request", "Invalid environment assignments"}
					}
				}
				if err == nil {
					_, err = m.environmentRequest(&api.Request{Verb: "unset-environment", Env: strv(0)})
				}
				if err == nil {
					_, err = m.environmentRequest(&api.Request{Verb: "set-environment", Env: strv(1)})
				}
			}
			if err != nil {
				failErr(c, err)
				return
			}
			c.Reply()
		})
	case "Exit", "PowerOff", "Reboot", "Halt":
		verb := strings.ToLower(c.Member)
		m.dbusServe(func() {
			if err := m.quitRefusal(verb); err != nil {
				failErr(c, err)
				return
			}
			c.Reply()
			m.post(func() { m.quitObjective(verb) })
		})
	case "StartTransientUnit":
		m.dbusStartTransient(c, arg(0), arg(1), c.Body[2].([][]any), c.Body[3].([][]any))
	case "SetUnitProperties":
		m.dbusSetProperties(c, arg(0), c.Body[1].(bool), c.Body[2].([][]any))
	case "SetExitCode":
		m.dbusServe(func() {
			if err := m.setExitCode(int(c.Body[0].(uint8))); err != nil {
				failErr(c, err)
				return
			}
			c.Reply()
		})
	default:
		m.dbusUnitFiles(c)
	}
}

// dbusJob enqueues a job of verb for the unit name with mode and answers its object path.
// As systemd, a job that ends at once (a start of an active unit) still has a path, and its
// JobRemoved follows the reply.
func (m *Manager) dbusJob(c *sdbus.Call, verb, name, mode string) {
	if !slices.Contains(unit.JobModes, mode) {
		c.Fail(sdbus.ErrInvalidArgs, fmt.Sprintf("Job mode %s invalid.", mode))
		return
	}
	if !unit.IsValidName(name) {
		c.Fail(sdbus.ErrInvalidArgs, fmt.Sprintf("Unit name %s is not valid.", name))
		return
	}
	m.dbusServe(func() { m.dbusEnqueue(c, verb, m.load(name), mode) })
}

// dbusEnqueue is dbusJob's work on the manager goroutine, in dbusServe.
func (m *Manager) dbusEnqueue(c *sdbus.Call, verb string, u *Unit, mode string) {
	{
		if code, msg := m.jobRefusal(u, verb); code != "" {
			c.Fail(dbusError(code), msg)
			return
		}
		result, called := "", false
		cb := func(r string) { result, called = r, true }
		if verb == "reload" && u.job == nil && !isActiveOrReloading(u.activeState()) {
			cb("invalid")
		} else {
			if verb == "stop" && u.isService() {
				u.service().stopRequested = true
			}
			if err := m.enqueueErr(verb, u, mode, cb); err != nil {
				m.logUnit(u, "%v", err)
				failErr(c, err)
				return
			}
		}
		id := 0
		if u.job != nil {
			id = u.job.id
		} else if d := m.dbus; d != nil {
			for _, s := range d.held {
				if s.unit == u.Name && s.job != 0 {
					id = s.job
				}
			}
		}
		if id == 0 {
			// No job was installed (a try-restart of an inactive unit, a reload of one):
			// systemd installs one that ends at once.
			m.nextJob++
			id = m.nextJob
			if !called {
				result = "done"
			}
			j := &job{id: id, u: u, typ: verb}
			m.dbusJobNew(j)
			m.dbusJobRemoved(j, result)
		}
		c.Reply(sdbus.JobPath(id))
	}
}

// dbusUnitMethod serves the Unit interface's methods on the unit of the call's path.
func (m *Manager) dbusUnitMethod(c *sdbus.Call) {
	var name string
	m.call(func() {
		if u := m.lookupUnit(c.Path); u != nil {
			name = u.Name
		}
	})
	if name == "" {
		c.Fail(sdbus.ErrUnknownObject, fmt.Sprintf("Unknown object '%s'.", c.Path))
		return
	}
	if verb := dbusUnitJobVerbs[c.Member]; verb != "" {
		m.dbusJob(c, verb, name, c.Body[0].(string))
		return
	}
	switch c.Member {
	case "Kill":
		m.dbusKill(c, name, c.Body[0].(string), int(c.Body[1].(int32)))
	case "Clean":
		what, _ := c.Body[0].([]string)
		m.dbusClean(c, name, what)
	case "ResetFailed":
		m.dbusServe(func() {
			if err := m.resetFailed([]string{name}); err != nil {
				c.Fail(sdbus.ErrNoSuchUnit, trimFailedTo(err.Error()))
				return
			}
			c.Reply()
		})
	case "GetProcesses":
		m.dbusServe(func() { c.Reply(m.dbusProcesses(m.units[name])) })
	case "Abandon":
		m.dbusAbandonScope(c, name)
	}
}

func (m *Manager) dbusKill(c *sdbus.Call, name, whom string, sig int) {
	m.dbusServe(func() {
		if err := m.killRequest(&api.Request{Units: []string{name}, KillWhom: whom, Signal: sig}); err != nil {
			var re *reqError
			if errors.As(err, &re) {
				c.Fail(dbusError(re.code), trimFailedTo(re.msg))
				return
			}
			c.Fail(sdbus.ErrFailed, err.Error())
			return
		}
		c.Reply()
	})
}

// trimFailedTo drops the "Failed to VERB unit NAME: " that the control errors start with:
// systemctl puts its own before the D-Bus error's message.
func trimFailedTo(msg string) string {
	if strings.HasPrefix(msg, "Failed to ") {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			return rest
		}
	}
	return msg
}

// dbusProcesses is GetUnitProcesses' answer: (control group, pid, command line).
func (m *Manager) dbusProcesses(u *Unit) any {
	type procInfo struct {
		CGroup string
		PID    uint32
		Cmd    string
	}
	out := []procInfo{}
	if u == nil {
		return out
	}
	for _, pid := range m.unitPIDs(u) {
		out = append(out, procInfo{"/", uint32(pid), procCmdline(pid)})
	}
	return out
}

// dbusListUnits is ListUnits' answer for us, those whose load, active or sub state is in
// states (if any) and whose name matches a pattern (if any).
func (m *Manager) dbusListUnits(us []*Unit, states, patterns []string) any {
	type unitInfo struct {
		Name, Description, Load, Active, Sub, Following string
		Path                                            dbus.ObjectPath
		JobID                                           uint32
		JobType                                         string
		JobPath                                         dbus.ObjectPath
	}
	out := []unitInfo{}
	for _, u := range us {
		st := u.activeState()
		if len(states) > 0 && !slices.Contains(states, st.String()) && !slices.Contains(states, u.sub.String()) &&
			!slices.Contains(states, string(u.cfg.LoadState)) {
			continue
		}
		if len(patterns) > 0 && !matchAny(patterns, u.Name) {
			continue
		}
		info := unitInfo{Name: u.Name, Description: describe(u), Load: string(u.cfg.LoadState), Active: st.String(),
			Sub: u.sub.String(), Path: sdbus.UnitPath(u.Name), JobPath: "/"}
		if u.job != nil {
			info.JobID, info.JobType, info.JobPath = uint32(u.job.id), u.job.typ, sdbus.JobPath(u.job.id)
		}
		out = append(out, info)
	}
	return out
}
