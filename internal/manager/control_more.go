package manager

import (
	"fmt"
	"slices"

	"github.com/flint-init/flint/internal/api"
	"github.com/flint-init/flint/unit"
)

// handleMore serves the control requests of the file verbs and of the manager's
// environment: unit-paths (where the CLI's enable, mask, edit, ... read and write for this
// manager), daemon-reexec, show-, set- and unset-environment, set-property and unit-by-pid.
// It reports whether it knew the verb.
func (m *Manager) handleMore(req *api.Request, reply func(any, error)) bool {
	switch req.Verb {
	case "unit-paths":
		reply(m.unitPaths(), nil)
	case "daemon-reexec":
		// Until flint re-executes itself, a re-exec is what daemon-reload does: every unit
		// file read anew, the running services kept, as systemd keeps them across one.
		m.call(func() { m.daemonReload() })
		reply(nil, nil)
	case "show-environment", "set-environment", "unset-environment":
		var out []string
		var err error
		m.call(func() { out, err = m.environmentRequest(req) })
		if req.Verb != "show-environment" {
			reply(nil, err)
			return true
		}
		reply(out, err)
	case "set-property":
		var err error
		m.call(func() { err = m.setProperty(req) })
		reply(nil, err)
	case "unit-by-pid":
		var name string
		var err error
		m.call(func() { name, err = m.unitByPID(req.PID) })
		reply(name, err)
	default:
		return false
	}
	return true
}

// unitPaths is the manager's search path and the directories the file verbs write to.
func (m *Manager) unitPaths() api.UnitPaths {
	lk := m.loader.Lookup()
	scope := "system"
	if lk.Scope == unit.User {
		scope = "user"
	}
	return api.UnitPaths{Scope: scope, SearchPath: lk.Path, Config: lk.Config, Runtime: lk.Runtime,
		Control: lk.Control, RuntimeControl: lk.RuntimeControl, Explicit: lk.Explicit}
}

// unitByPID is systemd's GetUnitByPID: the unit whose processes (process tracking,
// tracking.go) include pid.
func (m *Manager) unitByPID(pid int) (string, error) {
	if pid <= 0 {
		return "", &reqError{"bad-request", fmt.Sprintf("Invalid PID %d.", pid)}
	}
	for _, u := range m.order {
		if m.units[u.Name] == u && slices.Contains(m.unitPIDs(u), pid) {
			return u.Name, nil
		}
	}
	return "", &reqError{"not-found", fmt.Sprintf("PID %d does not belong to any loaded unit.", pid)}
}
