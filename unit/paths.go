package unit

import (
	"os"
	"path/filepath"
	"strings"
)

// DefaultSearchPath returns systemd 252's unit search path for scope, highest priority first,
// without SYSTEMD_UNIT_PATH (see SearchPath). It matches `systemd-analyze unit-paths` on a
// Debian system (/lib/systemd/system before /usr/lib/systemd/system). The user path follows
// $XDG_CONFIG_HOME, $XDG_CONFIG_DIRS, $XDG_RUNTIME_DIR, $XDG_DATA_HOME and $XDG_DATA_DIRS;
// entries whose base variable is unknown (no $XDG_RUNTIME_DIR, no home) are left out.
func DefaultSearchPath(scope Scope) []string {
	if scope == System {
		return []string{
			"/etc/systemd/system.control",
			"/run/systemd/system.control",
			"/run/systemd/transient",
			"/run/systemd/generator.early",
			"/etc/systemd/system",
			"/etc/systemd/system.attached",
			"/run/systemd/system",
			"/run/systemd/system.attached",
			"/run/systemd/generator",
			"/usr/local/lib/systemd/system",
			"/lib/systemd/system",
			"/usr/lib/systemd/system",
			"/run/systemd/generator.late",
		}
	}
	configHome := xdgConfigHome()
	dataHome := xdgDataHome()
	rt := os.Getenv("XDG_RUNTIME_DIR")
	var p []string
	add := func(base, sub string) {
		if base != "" {
			p = append(p, filepath.Join(base, sub))
		}
	}
	add(configHome, "systemd/user.control")
	add(rt, "systemd/user.control")
	add(rt, "systemd/transient")
	add(rt, "systemd/generator.early")
	add(configHome, "systemd/user")
	for _, d := range xdgList("XDG_CONFIG_DIRS", "/etc/xdg") {
		add(d, "systemd/user")
	}
	p = append(p, "/etc/systemd/user")
	add(rt, "systemd/user")
	p = append(p, "/run/systemd/user")
	add(rt, "systemd/generator")
	add(dataHome, "systemd/user")
	for _, d := range xdgList("XDG_DATA_DIRS", "/usr/local/share:/usr/share") {
		add(d, "systemd/user")
	}
	p = append(p, "/usr/local/lib/systemd/user", "/usr/lib/systemd/user")
	add(rt, "systemd/generator.late")
	return dedup(p)
}

// SearchPath returns the search path flint uses: dirs when given (the --units DIR options
// replace the search path entirely), else $SYSTEMD_UNIT_PATH when set (a colon-separated
// list; an empty component — a trailing ':' — inserts the default path there), else
// DefaultSearchPath(scope).
func SearchPath(scope Scope, dirs []string) []string {
	if len(dirs) > 0 {
		return dedup(append([]string(nil), dirs...))
	}
	env, ok := os.LookupEnv("SYSTEMD_UNIT_PATH")
	if !ok || env == "" {
		return DefaultSearchPath(scope)
	}
	var p []string
	for _, d := range strings.Split(env, ":") {
		if d == "" {
			p = append(p, DefaultSearchPath(scope)...)
			continue
		}
		p = append(p, d)
	}
	return dedup(p)
}

// ConfigDir is the directory Enable, Disable, Mask and Unmask write to for a search path:
// /etc/systemd/system for the system scope, $XDG_CONFIG_HOME/systemd/user (~/.config/...) for
// the user scope, and the FIRST --units DIR when the search path was given explicitly
// (dirs non-empty) — flint's rule for private unit trees, where no /etc is involved.
func ConfigDir(scope Scope, dirs []string) string {
	if len(dirs) > 0 {
		return dirs[0]
	}
	if scope == System {
		return "/etc/systemd/system"
	}
	return filepath.Join(xdgConfigHome(), "systemd/user")
}

// runtimeConfigDir is where --runtime enablement would go; used to tell enabled-runtime.
func runtimeConfigDir(scope Scope) string {
	if scope == System {
		return "/run/systemd/system"
	}
	if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
		return filepath.Join(rt, "systemd/user")
	}
	return ""
}

func homeDir() string {
	if h := os.Getenv("HOME"); h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

func xdgConfigHome() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return d
	}
	if h := homeDir(); h != "" {
		return filepath.Join(h, ".config")
	}
	return ""
}

func xdgDataHome() string {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return d
	}
	if h := homeDir(); h != "" {
		return filepath.Join(h, ".local/share")
	}
	return ""
}

func xdgList(env, def string) []string {
	v := os.Getenv(env)
	if v == "" {
		v = def
	}
	var out []string
	for _, d := range strings.Split(v, ":") {
		if filepath.IsAbs(d) {
			out = append(out, d)
		}
	}
	return out
}

func dedup(p []string) []string {
	seen := map[string]bool{}
	out := p[:0]
	for _, d := range p {
		d = filepath.Clean(d)
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}
