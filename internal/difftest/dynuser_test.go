package difftest

import (
	"testing"
	"time"
)

// inRange prints whether the command's uid and gid are one dynamic id of systemd's range.
const inRange = `u=$$(id -u); g=$$(id -g); [ $$u -ge 61184 ] && [ $$u -le 65519 ] && echo uid in range || echo uid $$u; ` +
	`[ $$g = $$u ] && echo gid same || echo gid $$g; `

// dynUserScenarios are the rows of TestDynamicUserDifferential: what a DynamicUser=yes
// service sees of itself (its ids, its name, its environment, no_new_privs) and of its
// directories (StateDirectory=, CacheDirectory= and LogsDirectory= under private/, the
// symlinks, the tmpfs over private/ in its namespace, RuntimeDirectory=), what a '+' command
// sees, what the host sees after the stop (the directories left 0700-guarded, the runtime
// directory and the IPC objects gone), users shared by name, a static name, and the move of
// a directory made before DynamicUser= was turned on. The commands write what they see under
// @STATE@, compared as files.
var dynUserScenarios = held([]jobScenario{
	{name: "dynuser-dirs", units: map[string]string{
		"d.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nDynamicUser=yes\n" +
			"StateDirectory=@DIR@ @DIR@-n/sub\nCacheDirectory=@DIR@\nLogsDirectory=@DIR@\nRuntimeDirectory=@DIR@\n" +
			"ExecStartPre=+/bin/sh -c 'exec >@STATE@/plus 2>&1; id -un; stat -c \"%%U:%%G %%a %%n\" /var/lib/private /var/lib/private/@DIR@ " +
			"/var/cache/private/@DIR@ /var/log/private/@DIR@ /run/@DIR@; grep NoNewPrivs /proc/self/status'\n" +
			"ExecStart=/bin/sh -c 'exec >/run/@DIR@/out 2>&1; " + inRange + "id -un; id -gn; id -Gn; " +
			"echo USER=$$USER LOGNAME=$$LOGNAME HOME=$${HOME-unset} SHELL=$${SHELL-unset}; grep NoNewPrivs /proc/self/status; " +
			"stat -c \"%%U:%%G %%a %%F %%n\" /var/lib/private /var/lib/private/@DIR@ /var/lib/private/@DIR@-n /var/lib/private/@DIR@-n/sub " +
			"/var/cache/private /var/cache/private/@DIR@ /var/log/private /var/log/private/@DIR@ /run/@DIR@; " +
			"readlink /var/lib/@DIR@ /var/lib/@DIR@-n/sub /var/cache/@DIR@ /var/log/@DIR@; ls -A /var/lib/private /var/cache/private; " +
			"touch /var/lib/@DIR@/f /var/cache/@DIR@/f /var/log/@DIR@/f /dev/shm/@DIR@ && echo written; " +
			"echo $$STATE_DIRECTORY $$CACHE_DIRECTORY $$LOGS_DIRECTORY $$RUNTIME_DIRECTORY'\n" +
			"ExecStart=+/bin/sh -c 'cat /run/@DIR@/out >@STATE@/inside'\n",
		"look.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'exec >@STATE@/after 2>&1; " +
			"stat -c \"%%U:%%G %%a %%F %%n\" /var/lib/private /var/lib/private/@DIR@ " +
			"/var/lib/private/@DIR@/f /var/lib/@DIR@ /var/cache/private /var/log/private; readlink /var/lib/@DIR@; " +
			"for p in /run/@DIR@ /dev/shm/@DIR@; do [ -e $$p ] && echo $$p exists || echo $$p gone; done'\n",
	}, files: []string{"plus", "inside", "after"}, steps: []string{"start d.service", "stop d.service", "start look.service"}},
	// Two units naming one user share its id while both run; a name of /etc/passwd is used
	// as it is (its directories are still laid out under private/).
	{name: "dynuser-names", units: map[string]string{
		"a.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nDynamicUser=yes\nUser=@DIR@\nRuntimeDirectory=@DIR@-a\n" +
			"ExecStart=/bin/sh -c 'exec >/run/@DIR@-a/out 2>&1; " + inRange + "id -u >/run/@DIR@-a/uid; id -un'\n" +
			"ExecStart=+/bin/sh -c 'cat /run/@DIR@-a/out >@STATE@/a'\n",
		"b.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nDynamicUser=yes\nUser=@DIR@\nGroup=@DIR@\nRuntimeDirectory=@DIR@-b\n" +
			"ExecStart=/bin/sh -c 'exec >/run/@DIR@-b/out 2>&1; " + inRange + "[ $$(id -u) = $$(cat /run/@DIR@-a/uid) ] && echo same as a; id -un; id -gn'\n" +
			"ExecStart=+/bin/sh -c 'cat /run/@DIR@-b/out >@STATE@/b'\n",
		"c.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nDynamicUser=yes\nUser=nobody\nStateDirectory=@DIR@\nRuntimeDirectory=@DIR@-c\n" +
			"ExecStart=/bin/sh -c 'exec >/run/@DIR@-c/out 2>&1; id -un; id -gn; stat -c \"%%U:%%G %%a %%n\" /var/lib/private/@DIR@; readlink /var/lib/@DIR@'\n" +
			"ExecStart=+/bin/sh -c 'cat /run/@DIR@-c/out >@STATE@/c'\n",
		// Not a valid user name: "_du" and the hash of the name; its uid the hash of that.
		"x:y.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nDynamicUser=yes\nRuntimeDirectory=@DIR@-x\n" +
			"ExecStart=/bin/sh -c 'exec >/run/@DIR@-x/out 2>&1; id -un; id -u'\n" +
			"ExecStart=+/bin/sh -c 'cat /run/@DIR@-x/out >@STATE@/x'\n",
	}, files: []string{"a", "b", "c", "x"}, steps: []string{"start a.service", "start b.service", "start c.service", "start x:y.service"}},
	// A StateDirectory= made before DynamicUser= was turned on moves to private/, its files
	// given to the dynamic user without set-user-ID.
	{name: "dynuser-migrate", units: map[string]string{
		"prep.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'mkdir -p /var/lib/@DIR@/sub; " +
			"touch /var/lib/@DIR@/sub/f; chmod 4755 /var/lib/@DIR@/sub/f; chmod 0750 /var/lib/@DIR@'\n",
		"d.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nDynamicUser=yes\nStateDirectory=@DIR@\n" +
			"ExecStart=+/bin/sh -c 'exec >@STATE@/moved 2>&1; readlink /var/lib/@DIR@; stat -c \"%%U:%%G %%a %%F %%n\" /var/lib/private/@DIR@ " +
			"/var/lib/private/@DIR@/sub /var/lib/private/@DIR@/sub/f'\n",
	}, files: []string{"moved"}, steps: []string{"start prep.service", "start d.service"}},
})

// DynUserKnownDifferences are accepted differences of the DynamicUser= scenarios.
var DynUserKnownDifferences = []JobDifference{}

var dynUserRun = diffRun{tag: "du", props: serviceProps, known: DynUserKnownDifferences,
	wait: 3 * time.Second, stable: 200 * time.Millisecond}

// TestDynamicUserDifferential runs dynUserScenarios on systemd 252 and on `flint run` as
// TestJobsDifferential does, and compares what the services saw.
func TestDynamicUserDifferential(t *testing.T) {
	runDifferential(t, dynUserScenarios, dynUserRun)
}
