package manager

import "testing"

// TestPathMachine walks a path unit through its states (systemd's path.c): waiting (its
// paths watched), running while the unit it started runs, waiting again once that unit is
// down, dead on a stop, failed on a trigger limit or a failure to watch. The file system is
// the row's directory; the watches are the fake system's, which report when a row says so.
func TestPathMachine(t *testing.T) {
	runMachineRows(t, "path", []machineRow{
		{name: "start waits", unit: "PathExists=@DIR@/flag", events: []string{"start"}, state: "waiting", result: "success",
			trace: []string{"watch @DIR@/flag", "→waiting"}},
		{name: "exists at start", unit: "PathExists=@DIR@/flag", events: []string{"touch @DIR@/flag", "start"}, state: "running", result: "success",
			trace: []string{"→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running"}},
		{name: "exists appears", unit: "PathExists=@DIR@/flag", events: []string{"start", "touch @DIR@/flag", "inotify @DIR@/flag"}, state: "running", result: "success",
			trace: []string{"watch @DIR@/flag", "→waiting", "inotify @DIR@/flag", "unwatch @DIR@/flag", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running"}},
		{name: "event, nothing there", unit: "PathExists=@DIR@/flag", events: []string{"start", "inotify @DIR@/flag"}, state: "waiting", result: "success",
			trace: []string{"watch @DIR@/flag", "→waiting", "inotify @DIR@/flag", "unwatch @DIR@/flag", "watch @DIR@/flag", "→waiting"}},
		{name: "exists, unit ends, runs again", unit: "PathExists=@DIR@/flag", events: []string{"touch @DIR@/flag", "start", "exit /bin/daemon"}, state: "running", result: "success",
			trace: []string{"→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "x.service→stop", "x.service→stop-post", "x.service→dead", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running"}},
		{name: "exists, unit ends, gone: waits", unit: "PathExists=@DIR@/flag", events: []string{"touch @DIR@/flag", "start", "rm @DIR@/flag", "exit /bin/daemon"}, state: "waiting", result: "success",
			trace: []string{"→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "x.service→stop", "x.service→stop-post", "x.service→dead", "watch @DIR@/flag", "→waiting"}},
		{name: "unit fails: waits", unit: "PathExists=@DIR@/flag", events: []string{"touch @DIR@/flag", "start", "rm @DIR@/flag", "exit /bin/daemon 1"}, state: "waiting", result: "success",
			trace: []string{"→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "x.service→stop-post", "x.service→failed", "watch @DIR@/flag", "→waiting"}},
		{name: "glob", unit: "PathExistsGlob=@DIR@/*.job", events: []string{"start", "touch @DIR@/a.txt", "inotify @DIR@/*.job", "touch @DIR@/b.job", "inotify @DIR@/*.job"}, state: "running", result: "success",
			trace: []string{"watch @DIR@/*.job", "→waiting", "inotify @DIR@/*.job", "unwatch @DIR@/*.job", "watch @DIR@/*.job", "→waiting", "inotify @DIR@/*.job", "unwatch @DIR@/*.job", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running"}},
		{name: "changed at start: no", unit: "PathChanged=@DIR@/f", events: []string{"touch @DIR@/f", "start"}, state: "waiting", result: "success",
			trace: []string{"watch @DIR@/f", "→waiting"}},
		{name: "changed", unit: "PathChanged=@DIR@/f", events: []string{"touch @DIR@/f", "start", "inotify @DIR@/f primary"}, state: "running", result: "success",
			trace: []string{"watch @DIR@/f", "→waiting", "inotify @DIR@/f", "unwatch @DIR@/f", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running"}},
		{name: "changed: created", unit: "PathChanged=@DIR@/f", events: []string{"start", "touch @DIR@/f", "inotify @DIR@/f"}, state: "running", result: "success",
			trace: []string{"watch @DIR@/f", "→waiting", "inotify @DIR@/f", "unwatch @DIR@/f", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running"}},
		{name: "changed: unit ends, waits", unit: "PathChanged=@DIR@/f", events: []string{"touch @DIR@/f", "start", "inotify @DIR@/f primary", "exit /bin/daemon"}, state: "waiting", result: "success",
			trace: []string{"watch @DIR@/f", "→waiting", "inotify @DIR@/f", "unwatch @DIR@/f", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "x.service→stop", "x.service→stop-post", "x.service→dead", "watch @DIR@/f", "→waiting"}},
		{name: "modified", unit: "PathModified=@DIR@/f", events: []string{"touch @DIR@/f", "start", "inotify @DIR@/f primary"}, state: "running", result: "success",
			trace: []string{"watch @DIR@/f", "→waiting", "inotify @DIR@/f", "unwatch @DIR@/f", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running"}},
		{name: "not empty", unit: "DirectoryNotEmpty=@DIR@/spool", events: []string{"mkdir @DIR@/spool", "start", "touch @DIR@/spool/job", "inotify @DIR@/spool primary"}, state: "running", result: "success",
			trace: []string{"watch @DIR@/spool", "→waiting", "inotify @DIR@/spool", "unwatch @DIR@/spool", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running"}},
		{name: "hidden and backup files", unit: "DirectoryNotEmpty=@DIR@/spool", events: []string{"mkdir @DIR@/spool", "start", "touch @DIR@/spool/.job", "touch @DIR@/spool/job~", "touch @DIR@/spool/job.dpkg-new", "inotify @DIR@/spool primary"}, state: "waiting", result: "success",
			trace: []string{"watch @DIR@/spool", "→waiting", "inotify @DIR@/spool", "unwatch @DIR@/spool", "watch @DIR@/spool", "→waiting"}},
		// The directory is made at the start: a file can then be put in it.
		{name: "make directory", unit: "DirectoryNotEmpty=@DIR@/a/spool\nMakeDirectory=yes", events: []string{"start", "touch @DIR@/a/spool/job", "inotify @DIR@/a/spool primary"}, state: "running", result: "success",
			trace: []string{"watch @DIR@/a/spool", "→waiting", "inotify @DIR@/a/spool", "unwatch @DIR@/a/spool", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running"}},
		{name: "trigger limit", unit: "PathChanged=@DIR@/f\nTriggerLimitBurst=2\nTriggerLimitIntervalSec=1h", events: []string{
			"touch @DIR@/f", "start", "inotify @DIR@/f primary", "exit /bin/daemon", "inotify @DIR@/f primary", "exit /bin/daemon", "inotify @DIR@/f primary"},
			state: "failed", result: "trigger-limit-hit",
			trace: []string{"watch @DIR@/f", "→waiting", "inotify @DIR@/f", "unwatch @DIR@/f", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "x.service→stop", "x.service→stop-post", "x.service→dead", "watch @DIR@/f", "→waiting", "inotify @DIR@/f", "unwatch @DIR@/f", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "x.service→stop", "x.service→stop-post", "x.service→dead", "watch @DIR@/f", "→waiting", "inotify @DIR@/f", "unwatch @DIR@/f", "→failed"}},
		{name: "stop while waiting", unit: "PathExists=@DIR@/flag", events: []string{"start", "stop"}, state: "dead", result: "success",
			trace: []string{"watch @DIR@/flag", "→waiting", "unwatch @DIR@/flag", "→dead"}},
		// The unit it started runs on.
		{name: "stop while running", unit: "PathExists=@DIR@/flag", events: []string{"touch @DIR@/flag", "start", "stop"}, state: "dead", result: "success",
			trace: []string{"→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "→dead"}},
		{name: "stopped, no more watch", unit: "PathExists=@DIR@/flag", events: []string{"start", "stop", "touch @DIR@/flag"}, state: "dead", result: "success",
			trace: []string{"watch @DIR@/flag", "→waiting", "unwatch @DIR@/flag", "→dead"}},
		{name: "restart", unit: "PathExists=@DIR@/flag", events: []string{"start", "restart"}, state: "waiting", result: "success",
			trace: []string{"watch @DIR@/flag", "→waiting", "unwatch @DIR@/flag", "→dead", "watch @DIR@/flag", "→waiting"}},
		{name: "unit hits its start limit", unit: "PathExists=@DIR@/flag",
			files:  map[string]string{"x.service": "[Unit]\nDefaultDependencies=no\nStartLimitBurst=1\nStartLimitIntervalSec=1h\n[Service]\nExecStart=/bin/daemon\n"},
			events: []string{"touch @DIR@/flag", "start", "exit /bin/daemon"}, state: "failed", result: "unit-start-limit-hit",
			trace: []string{"→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "x.service→stop", "x.service→stop-post", "x.service→dead", "→running", "x.service→failed", "→failed"}},
		{name: "watch fails", unit: "PathExists=@DIR@/flag", events: []string{"fail watch @DIR@/flag", "start"}, state: "failed", result: "resources",
			trace: []string{"watch @DIR@/flag: failed", "→failed"}},
		{name: "unit missing", unit: "PathExists=@DIR@/flag\nUnit=missing.service", events: []string{"start"}, state: "dead", result: "success",
			trace: []string{}}, // the start job fails: no state change
	})
}
