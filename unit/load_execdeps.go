package unit

import (
	"os"
	"path/filepath"
	"strings"
)

// addExecDeps adds the dependencies systemd 252's unit_add_exec_dependencies() gives a
// service, and a socket with commands, for its execution settings:
//
//   - RequiresMountsFor= WorkingDirectory= (not "-" nor "~"), RootDirectory=, RootImage= and
//     each RuntimeDirectory=, StateDirectory=, CacheDirectory=, LogsDirectory= and
//     ConfigurationDirectory= under its base directory (both scopes; in the user scope the
//     bases of 252's user manager, execDirBases);
//
// and in the system scope only:
//
//   - StateDirectory=, CacheDirectory= or LogsDirectory=: After=systemd-remount-fs.service
//     (they need /var writable);
//   - PrivateTmp= (also implied by DynamicUser=): RequiresMountsFor=/var/tmp and
//     After=systemd-tmpfiles-setup.service (the Wants= and After=tmp.mount systemd adds
//     too are left out: flint has no mount units);
//   - RootImage=: After=systemd-udevd.service;
//   - standard output or error to the journal or kmsg (with or without the console, the
//     default): After=systemd-journald.socket; with LogNamespace=NS instead Requires= and
//     After=systemd-journald@NS.socket and systemd-journald-varlink@NS.socket.
//
// These are orderings and mount requirements only: a unit named that does not exist (no
// systemd-journald.socket under flint, which captures output itself) orders nothing.
func (l *Loader) addExecDeps(u *Unit) {
	var c *ExecContext
	switch {
	case u.Type == TypeService && u.Service != nil:
		c = u.Service.Exec
	case u.Type == TypeSocket && u.Socket != nil && socketHasExec(u.Socket):
		c = u.Socket.Exec
	}
	if c == nil {
		return
	}
	x := &u.Unit
	mounts := func(p string) {
		if filepath.IsAbs(p) {
			x.RequiresMountsFor = appendUnique(x.RequiresMountsFor, filepath.Clean(p))
		}
	}
	if c.WorkingDirectory != "" && c.WorkingDirectory != "~" && !c.WorkingDirectoryOptional {
		mounts(c.WorkingDirectory)
	}
	mounts(c.RootDirectory)
	rootImage := strings.TrimSpace(c.NotEnforcedValues["RootImage"])
	mounts(rootImage)
	bases := execDirBases(l.scope)
	for i, names := range [][]string{c.RuntimeDirectory, c.StateDirectory, c.CacheDirectory, c.LogsDirectory, c.ConfigurationDirectory} {
		if bases[i] == "" {
			continue // 252 skips a type whose base it cannot determine
		}
		for _, n := range names {
			mounts(filepath.Join(bases[i], execDirName(n)))
		}
	}
	if l.scope != System {
		return
	}
	if len(c.StateDirectory) > 0 || len(c.CacheDirectory) > 0 || len(c.LogsDirectory) > 0 {
		x.After = appendUnique(x.After, "systemd-remount-fs.service")
	}
	if c.PrivateTmp {
		mounts("/var/tmp")
		x.After = appendUnique(x.After, "systemd-tmpfiles-setup.service")
	}
	if filepath.IsAbs(rootImage) {
		x.After = appendUnique(x.After, "systemd-udevd.service")
	}
	ns := strings.TrimSpace(c.NotEnforcedValues["LogNamespace"])
	if ns != "" {
		for _, s := range []string{"systemd-journald@" + ns + ".socket", "systemd-journald-varlink@" + ns + ".socket"} {
			x.Requires = appendUnique(x.Requires, s)
			x.After = appendUnique(x.After, s)
		}
		return
	}
	if toJournal(c.StandardOutput) || toJournal(c.StandardError) {
		x.After = appendUnique(x.After, "systemd-journald.socket")
	}
}

// toJournal reports whether a StandardOutput=/StandardError= value sends the stream to
// journald: journal, kmsg and their +console forms (the decoder turns syslog into journal).
func toJournal(v string) bool {
	switch v {
	case "journal", "journal+console", "kmsg", "kmsg+console":
		return true
	}
	return false
}

// socketHasExec is systemd's socket_has_exec: a socket with any ExecStartPre=,
// ExecStartPost=, ExecStopPre= or ExecStopPost= command.
func socketHasExec(s *SocketSection) bool {
	return len(s.ExecStartPre) > 0 || len(s.ExecStartPost) > 0 || len(s.ExecStopPre) > 0 || len(s.ExecStopPost) > 0
}

// execDirName is a RuntimeDirectory= (and friends) entry without its ":DEST" symlink part.
func execDirName(n string) string {
	if i := strings.IndexByte(n, ':'); i >= 0 {
		return n[:i]
	}
	return n
}

// execDirBases are the base directories systemd 252's manager puts RuntimeDirectory=,
// StateDirectory=, CacheDirectory=, LogsDirectory= and ConfigurationDirectory= under
// (manager_setup_prefix): /run, /var/lib, /var/cache, /var/log and /etc for the system;
// for a user $XDG_RUNTIME_DIR, $XDG_CONFIG_HOME, $XDG_CACHE_HOME, $XDG_CONFIG_HOME/log and
// $XDG_CONFIG_HOME (252 keeps state in the configuration directory). "" where it cannot be
// determined.
func execDirBases(scope Scope) [5]string {
	if scope == System {
		return [5]string{"/run", "/var/lib", "/var/cache", "/var/log", "/etc"}
	}
	var b [5]string
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		b[0] = d
	}
	if conf, err := xdgDir("XDG_CONFIG_HOME", ".config"); err == nil {
		b[1], b[3], b[4] = conf, filepath.Join(conf, "log"), conf
	}
	if cache, err := xdgDir("XDG_CACHE_HOME", ".cache"); err == nil {
		b[2] = cache
	}
	return b
}

// addMountPaths adds the RequiresMountsFor= paths systemd 252 gives a socket (the file
// system paths it listens on: socket_add_mount_dependencies) and a timer with Persistent=
// in the system scope (its stamp directory: timer_setup_persistent).
func (l *Loader) addMountPaths(u *Unit) {
	x := &u.Unit
	switch {
	case u.Type == TypeSocket && u.Socket != nil:
		for _, p := range u.Socket.Listen {
			switch {
			case p.Family == FamilyUnix && strings.HasPrefix(p.Path, "/"),
				p.Kind == ListenFIFO || p.Kind == ListenSpecial || p.Kind == ListenUSBFunction:
				if filepath.IsAbs(p.Path) {
					x.RequiresMountsFor = appendUnique(x.RequiresMountsFor, filepath.Clean(p.Path))
				}
			}
		}
	case u.Type == TypeTimer && u.Timer != nil && u.Timer.Persistent && l.scope == System:
		x.RequiresMountsFor = appendUnique(x.RequiresMountsFor, "/var/lib/systemd/timers")
	}
}
