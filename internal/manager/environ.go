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

// envList keeps KEY=VALUE pairs, later assignments replacing earlier ones in place.
type envList struct {
	keys []string
	vals map[string]string
}

func newEnvList() *envList { return &envList{vals: map[string]string{}} }

func (e *envList) set(k, v string) {
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

func (e *envList) add(kv string) {
	i := strings.IndexByte(kv, '=')
	if i <= 0 {
		return
	}
	e.set(kv[:i], kv[i+1:])
}

func (e *envList) unset(k string) {
	if _, ok := e.vals[k]; !ok {
		return
	}
	delete(e.vals, k)
	for i, x := range e.keys {
		if x == k {
			e.keys = append(e.keys[:i], e.keys[i+1:]...)
			break
		}
	}
}

func (e *envList) unsetExact(kv string) {
	i := strings.IndexByte(kv, '=')
	if v, ok := e.vals[kv[:i]]; ok && v == kv[i+1:] {
		e.unset(kv[:i])
	}
}

func (e *envList) get(k string) (string, bool) { v, ok := e.vals[k]; return v, ok }

func (e *envList) list() []string {
	out := make([]string, 0, len(e.keys))
	for _, k := range e.keys {
		out = append(out, k+"="+e.vals[k])
	}
	return out
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if i := strings.IndexByte(kv, '='); i > 0 {
			m[kv[:i]] = kv[i+1:]
		}
	}
	return m
}

// expandArgv substitutes variables as systemd does: a word that is exactly $NAME becomes the
// value split at whitespace (zero or more words); ${NAME} anywhere is replaced by the value;
// $$ is a literal $.
func expandArgv(argv []string, env map[string]string) []string {
	var out []string
	for _, w := range argv {
		if len(w) > 1 && w[0] == '$' && w[1] != '{' && w[1] != '$' && isEnvName(w[1:]) {
			out = append(out, strings.Fields(env[w[1:]])...)
			continue
		}
		out = append(out, expandWord(w, env))
	}
	return out
}

func expandWord(w string, env map[string]string) string {
	if !strings.Contains(w, "$") {
		return w
	}
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		if w[i] != '$' || i+1 >= len(w) {
			b.WriteByte(w[i])
			continue
		}
		switch w[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(w[i+2:], '}')
			if end < 0 {
				b.WriteString(w[i:])
				return b.String()
			}
			b.WriteString(env[w[i+2:i+2+end]])
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
