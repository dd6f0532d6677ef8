package unit

import (
	"fmt"
	"os"
	"path/filepath"
)

// ExecDirectoryBases are the directories below which RuntimeDirectory=, StateDirectory=,
// CacheDirectory=, LogsDirectory= and ConfigurationDirectory= live, in that order: the
// table "Automatic directory creation and environment variables" of systemd.exec(5), and
// the values of %t, %S, %C, %L and %E. A system manager's are /run, /var/lib, /var/cache,
// /var/log and /etc. A user manager's are systemd 252's (its manager_setup_prefix):
// $XDG_RUNTIME_DIR, $XDG_CONFIG_HOME (also for StateDirectory=, not $XDG_STATE_HOME),
// $XDG_CACHE_HOME, $XDG_CONFIG_HOME/log and $XDG_CONFIG_HOME, each XDG variable used when
// it is an absolute path, else ~/.config or ~/.cache (the runtime directory has no
// default). A base that cannot be determined is "", with the first such error.
func ExecDirectoryBases(scope Scope) ([5]string, error) {
	if scope != User {
		return [5]string{"/run", "/var/lib", "/var/cache", "/var/log", "/etc"}, nil
	}
	var b [5]string
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		b[0] = d
	} else {
		keep(fmt.Errorf("$XDG_RUNTIME_DIR is not set"))
	}
	conf, err := xdgDir("XDG_CONFIG_HOME", ".config")
	if err != nil {
		keep(err)
	}
	cache, err := xdgDir("XDG_CACHE_HOME", ".cache")
	if err != nil {
		keep(err)
	}
	b[1], b[2], b[4] = conf, cache, conf
	if conf != "" {
		b[3] = filepath.Join(conf, "log")
	}
	return b, first
}
