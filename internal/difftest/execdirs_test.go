package difftest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// execDirName is the directory name @DIR@ stands for on one side (side "s" for systemd, "f"
// for flint): unique to the test process and the scenario, and different on the two sides,
// which share the host's /var/lib, /var/cache, /var/log and /etc (systemd's /run is its own).
// It does not start with the unit name prefix, so that no unit name contains it.
func execDirName(prefix, side string) string { return "difftest-" + prefix + side }

// removeExecDirs removes what the scenario's RuntimeDirectory= and friends left on the host
// under the names of execDirs (and names that continue them, "@DIR@-2").
func removeExecDirs(sc jobScenario, execDirs ...string) {
	uses := false
	for _, body := range sc.units {
		uses = uses || strings.Contains(body, "@DIR@")
	}
	if !uses {
		return
	}
	for _, base := range []string{"/run", "/var/lib", "/var/cache", "/var/log", "/etc", "/var/lib/private", "/var/cache/private", "/var/log/private", "/dev/shm"} {
		for _, name := range execDirs {
			matches, _ := filepath.Glob(filepath.Join(base, name) + "*")
			for _, m := range matches {
				os.RemoveAll(m)
			}
		}
	}
}

// statDirs prints owner, mode and name of the directories of the exec-dirs scenarios (and of
// the paths given after it).
const statDirs = `stat -c "%%U:%%G %%a %%n" /run/@DIR@ /run/@DIR@/tls /run/@DIR@-2 /var/lib/@DIR@ /var/lib/@DIR@/a ` +
	`/var/lib/@DIR@/a/b /var/cache/@DIR@ /var/cache/@DIR@/c /var/log/@DIR@ /var/log/@DIR@/l /etc/@DIR@ /etc/@DIR@/y`

// execDirScenarios are the rows of TestExecDirsDifferential: who owns RuntimeDirectory=,
// StateDirectory=, CacheDirectory=, LogsDirectory= and ConfigurationDirectory= (nested, with
// modes, new and existing) when each kind of command runs. They are written as jobScenario's
// are; the commands write what they see under @STATE@, compared as files.
var execDirScenarios = held([]jobScenario{
	// The directories are set up for User= before the first command, whatever its prefix: the
	// '+' command already sees them nobody's (a packaged web console prepares its certificate
	// there as root for its unprivileged ExecStart=). '!' runs as root, '!!' (the kernel has
	// ambient capabilities) and no prefix as nobody. Parents stay root's, 0755. On stop the
	// innermost runtime directories go, their parents stay.
	{name: "exec-dirs-prefixes", units: map[string]string{
		"d.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nUser=nobody\n" +
			"RuntimeDirectory=@DIR@/tls @DIR@-2\nRuntimeDirectoryMode=0750\n" +
			"StateDirectory=@DIR@/a/b @DIR@\nStateDirectoryMode=0700\n" +
			"CacheDirectory=@DIR@/c\nLogsDirectory=@DIR@/l\n" +
			"ConfigurationDirectory=@DIR@/y\nConfigurationDirectoryMode=0751\n" +
			"ExecStartPre=+/bin/sh -c '" + statDirs + " >>@STATE@/plus'\n" +
			"ExecStartPre=!/bin/sh -c 'id -un >/run/@DIR@/tls/who-bang'\n" +
			"ExecStartPre=!!/bin/sh -c 'id -un >/run/@DIR@/tls/who-bangbang'\n" +
			"ExecStart=/bin/sh -c 'id -un >/run/@DIR@/tls/who-plain'\n" +
			"ExecStart=+/bin/sh -c 'cd /run/@DIR@/tls && for f in who-*; do echo $$f $$(cat $$f); done >>@STATE@/after; " +
			statDirs + " /run/@DIR@/tls/who-bang /run/@DIR@/tls/who-bangbang /run/@DIR@/tls/who-plain >>@STATE@/after; " +
			"echo $$RUNTIME_DIRECTORY $$STATE_DIRECTORY $$CACHE_DIRECTORY $$LOGS_DIRECTORY $$CONFIGURATION_DIRECTORY >>@STATE@/after'\n",
		"look.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'for p in /run/@DIR@ /run/@DIR@/tls /run/@DIR@-2 /var/lib/@DIR@/a/b; " +
			"do [ -e $$p ] && echo $$p exists || echo $$p gone; done >>@STATE@/gone'\n",
	}, files: []string{"plus", "after", "gone"}, steps: []string{"start d.service", "stop d.service", "start look.service"}},
	// Existing directories: one owned by another user is given to User= with all it holds
	// (a symlink itself, not its target; set-user-ID kept) and gets its mode; one owned by
	// User= already is not descended into; an existing ConfigurationDirectory= stays as it
	// is. Without User=, root gets them back; with Group= alone, root and that group.
	{name: "exec-dirs-existing", units: map[string]string{
		"prep.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c '" +
			"mkdir -p /var/cache/@DIR@/sub /var/lib/@DIR@ /etc/@DIR@ /run/@DIR@/in /var/log/@DIR@; " +
			"touch /var/cache/@DIR@/sub/f /var/lib/@DIR@/rootfile /run/@DIR@/in/f /var/log/@DIR@/f; chmod 4755 /var/cache/@DIR@/sub/f; " +
			"chmod 0700 /var/cache/@DIR@ /var/lib/@DIR@ /etc/@DIR@; echo x >@STATE@/outside; ln -s @STATE@/outside /var/cache/@DIR@/link; " +
			"chown nobody:nogroup /var/lib/@DIR@; chown -R nobody:nogroup /run/@DIR@ /var/log/@DIR@'\n",
		"d.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nUser=nobody\n" +
			"CacheDirectory=@DIR@\nStateDirectory=@DIR@\nConfigurationDirectory=@DIR@\n" +
			"ExecStart=+/bin/sh -c 'stat -c \"%%U:%%G %%a %%n\" /var/cache/@DIR@ /var/cache/@DIR@/sub /var/cache/@DIR@/sub/f " +
			"/var/cache/@DIR@/link @STATE@/outside /var/lib/@DIR@ /var/lib/@DIR@/rootfile /etc/@DIR@ >>@STATE@/owners'\n",
		"r.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nRuntimeDirectory=@DIR@\n" +
			"ExecStart=/bin/sh -c 'stat -c \"%%U:%%G %%a %%n\" /run/@DIR@ /run/@DIR@/in /run/@DIR@/in/f >>@STATE@/root'\n",
		"g.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nGroup=nogroup\nLogsDirectory=@DIR@\n" +
			"ExecStart=/bin/sh -c 'stat -c \"%%U:%%G %%a %%n\" /var/log/@DIR@ /var/log/@DIR@/f >>@STATE@/group'\n",
	}, files: []string{"owners", "root", "group"}, steps: []string{"start prep.service", "start d.service", "start r.service", "start g.service"}},
})

// ExecDirsKnownDifferences are accepted differences of the exec-dirs scenarios.
var ExecDirsKnownDifferences = []JobDifference{}

var execDirsRun = diffRun{tag: "ed", props: serviceProps, known: ExecDirsKnownDifferences,
	wait: 3 * time.Second, stable: 200 * time.Millisecond}

// TestExecDirsDifferential runs execDirScenarios on systemd 252 and on `flint run` as
// TestJobsDifferential does, and compares what the commands saw of their directories.
func TestExecDirsDifferential(t *testing.T) {
	runDifferential(t, execDirScenarios, execDirsRun)
}
