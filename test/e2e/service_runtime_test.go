package e2e

import (
	"fmt"
	"testing"
)

// TestServiceRuntimeLikeSystemd checks service life-cycle details that systemd 252 shows and
// TestServiceDifferential compares: the restart counter, ExecCondition= results, the exit of
// a Type=forking service's forking process, a PIDFile= written late, and
// TimeoutStartFailureMode=.
func TestServiceRuntimeLikeSystemd(t *testing.T) {
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		// An inactive unit that nothing refers to is unloaded (and forgets its last run), in
		// flint as in systemd: hold.target keeps them loaded.
		"hold.target": unitFile("Unit", "Before=restarts.service cond-skip.service cond-skip-always.service"),
		"restarts.service": unitFile("Unit", "StartLimitBurst=100", "Service",
			"Restart=on-failure\nRestartSec=100ms\nExecStart=/bin/sleep 1000"),
		"cond-skip.service": unitFile("Service", "ExecCondition=/bin/sh -c 'exit 1'\nExecStart=/bin/sleep 1000"),
		"cond-fail.service": unitFile("Service", "ExecCondition=/bin/sh -c 'exit 255'\nExecStart=/bin/sleep 1000"),
		"cond-skip-always.service": unitFile("Service",
			"Restart=always\nExecCondition=/bin/sh -c 'exit 2'\nExecStart=/bin/sleep 1000"),
		"fork-exit1.service": unitFile("Service", "Type=forking\nExecStart=/bin/sh -c '/bin/sleep 1000 & exit 1'"),
		// The daemon writes its PID file half a second after the forking process exited.
		"fork-late.service": unitFile("Service", fmt.Sprintf(
			"Type=forking\nPIDFile=%[1]s/late.pid\nExecStart=/bin/sh -c '(sleep 0.5; /bin/sleep 1000 & echo $$! >%[1]s/late.pid; wait) &'", dir)),
		// The daemon exits without writing it.
		"fork-never.service": unitFile("Service", fmt.Sprintf(
			"Type=forking\nPIDFile=%s/never.pid\nExecStart=/bin/sh -c '/bin/sleep 0.5 &'", dir)),
		"timeout-kill.service": unitFile("Service",
			"Type=notify\nTimeoutStartSec=500ms\nTimeoutStartFailureMode=kill\nExecStart=/bin/sleep 1000"),
	})
	m := startManager(t, units)
	on(t, m).start("hold.target")

	t.Run("manual_restart_zeroes_NRestarts", func(t *testing.T) {
		c := on(t, m)
		c.start("restarts.service")
		c.run(0, "kill", "--signal=KILL", "restarts.service")
		c.waitProps("restarts.service", map[string]string{"SubState": "running", "NRestarts": "1"})
		// The counter survives the stop, and goes at the next start not made by Restart=.
		c.run(0, "stop", "restarts.service")
		c.waitProps("restarts.service", map[string]string{"ActiveState": "inactive", "NRestarts": "1"})
		c.start("restarts.service")
		c.waitProps("restarts.service", map[string]string{"SubState": "running", "NRestarts": "0"})
		c.run(0, "stop", "restarts.service")
	})
	t.Run("exec_condition", func(t *testing.T) {
		c := on(t, m)
		c.run(0, "start", "cond-skip.service")
		c.waitProps("cond-skip.service", map[string]string{"ActiveState": "inactive", "Result": "exec-condition"})
		c.run(1, "start", "cond-fail.service")
		c.waitProps("cond-fail.service", map[string]string{"ActiveState": "failed", "Result": "exit-code"})
		// A skipped unit is not restarted, even with Restart=always.
		c.run(0, "start", "cond-skip-always.service")
		c.waitProps("cond-skip-always.service", map[string]string{"SubState": "dead", "Result": "exec-condition", "NRestarts": "0"})
	})
	t.Run("forking_process_is_not_main", func(t *testing.T) {
		c := on(t, m)
		c.run(1, "start", "fork-exit1.service")
		c.waitProps("fork-exit1.service", map[string]string{"ActiveState": "failed", "Result": "exit-code",
			"ExecMainCode": "0", "ExecMainStatus": "0"})
	})
	t.Run("pid_file_written_late", func(t *testing.T) {
		c := on(t, m)
		c.start("fork-late.service")
		p := c.waitState("fork-late.service", "active/running")
		pid := pidFromFile(t, dir+"/late.pid")
		if got := c.prop("fork-late.service", "MainPID"); got != fmt.Sprint(pid) {
			t.Errorf("MainPID %s, want %d from the PID file (%v)", got, pid, p)
		}
		c.run(0, "stop", "fork-late.service")
	})
	t.Run("pid_file_never_written", func(t *testing.T) {
		c := on(t, m)
		c.run(1, "start", "fork-never.service")
		c.waitProps("fork-never.service", map[string]string{"ActiveState": "failed", "Result": "protocol"})
	})
	t.Run("timeout_start_failure_mode_kill", func(t *testing.T) {
		c := on(t, m)
		c.run(1, "start", "timeout-kill.service")
		c.waitProps("timeout-kill.service", map[string]string{"ActiveState": "failed", "Result": "timeout",
			"ExecMainCode": "2", "ExecMainStatus": "9"})
	})
}
