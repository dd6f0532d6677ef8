package manager

import (
	"os"
	"sort"
	"strings"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/unit"
)

// The manager's environment block (systemd's Manager.Environment): every process the manager
// starts begins with it, then gets its unit's Environment=, EnvironmentFile=, ... on top.
// set-environment, unset-environment and import-environment change it until the manager
// exits; processes already running keep what they were started with.

// environment returns the block, made on first use: PATH and LANG for the system manager,
// sorted as systemd's; a user manager passes on the session variables it was started with.
func (m *Manager) environment() *envList {
	if m.environ != nil {
		return m.environ
	}
	var kvs []string
	keep := []string{"LANG"}
	if m.opt.Scope == unit.User {
		keep = append(keep, "HOME", "USER", "LOGNAME", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS")
	}
	for _, k := range keep {
		if v, ok := os.LookupEnv(k); ok {
			kvs = append(kvs, k+"="+v)
		}
	}
	kvs = append(kvs, "PATH="+defaultPath)
	sort.Strings(kvs)
	m.environ = newEnvList()
	for _, kv := range kvs {
		m.environ.add(kv)
	}
	return m.environ
}

// environmentRequest answers show-environment, set-environment and unset-environment with
// systemd's checks and messages: every assignment must be valid or nothing changes.
func (m *Manager) environmentRequest(req *api.Request) ([]string, error) {
	switch req.Verb {
	case "set-environment":
		for _, kv := range req.Env {
			if !unit.ValidEnvAssignment(kv) {
				return nil, &reqError{"bad-request", "Invalid environment assignments"}
			}
		}
		env := m.environment()
		for _, kv := range req.Env {
			env.add(kv)
		}
		return nil, nil
	case "unset-environment":
		for _, kv := range req.Env {
			if !unit.ValidEnvName(kv) && !unit.ValidEnvAssignment(kv) {
				return nil, &reqError{"bad-request", "Invalid environment variable names or assignments"}
			}
		}
		env := m.environment()
		for _, kv := range req.Env {
			if strings.Contains(kv, "=") {
				env.unsetExact(kv)
			} else {
				env.unset(kv)
			}
		}
		return nil, nil
	}
	return m.environment().list(), nil
}

// clone copies the list, so that a process's environment can be built on the manager's.
func (e *envList) clone() *envList {
	c := &envList{keys: append([]string(nil), e.keys...), vals: make(map[string]string, len(e.vals))}
	for k, v := range e.vals {
		c.vals[k] = v
	}
	return c
}
