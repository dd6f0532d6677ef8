package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReloadAsSystemd checks reloads and the notifications around them as systemd 252 handles
// them (internal/difftest's TestReloadDifferential compares the same with systemd itself): a
// failing or timed-out ExecReload= fails the reload job but not the service (ReloadResult=),
// READY=1 from ExecReload= does not end the reload before ExecReload= does, RELOADING=1 from
// the main process propagates the reload, targets with PropagatesReloadTo= reload, a reload
// requested during a reload runs again, and the notification socket and WATCHDOG_PID= go to
// the processes systemd gives them to.
func TestReloadAsSystemd(t *testing.T) {
	h, hang := svcHelper(t), svcHelper(t) // hang: a copy of its own, to tell its processes apart
	dir := t.TempDir()
	count := func(name string) string {
		return "/bin/sh -c 'echo >>" + filepath.Join(dir, name) + "'"
	}
	lines := func(name string) int {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		return strings.Count(string(data), "\n")
	}
	waitLines := func(t *testing.T, name string, n int) {
		t.Helper()
		if !waitFor(15*time.Second, func() bool { return lines(name) == n }) {
			t.Fatalf("%s has %d lines, want %d", name, lines(name), n)
		}
	}
	units := writeUnits(t, map[string]string{
		"fail.service": unitFile("Service", "ExecStart=/bin/sleep 1000\nExecReload=/bin/false"),
		// The helper pauses forever: the reload times out.
		"slow.service": unitFile("Service", "TimeoutStartSec=1\nExecStart=/bin/sleep 1000\nExecReload="+hang+" steps"),
		"early.service": unitFile("Service", "Type=notify\nNotifyAccess=all\nExecStart="+h+" steps READY=1\n"+
			"ExecReload="+h+" steps READY=1 sleep:300 exit:1"),
		"self.service": unitFile("Unit", "PropagatesReloadTo=prop.service", "Service", "Type=notify\nExecStart="+h+
			" steps READY=1 sleep:500 RELOADING=1 sleep:300 READY=1"),
		"prop.service":  unitFile("Service", "ExecStart=/bin/sleep 1000\nExecReload="+count("prop")),
		"t.target":      unitFile("Unit", "PropagatesReloadTo=tprop.service"),
		"tprop.service": unitFile("Service", "ExecStart=/bin/sleep 1000\nExecReload="+count("tprop")),
		"twice.service": unitFile("Service", "ExecStart=/bin/sleep 1000\nExecReload=/bin/sh -c 'echo >>"+
			filepath.Join(dir, "twice")+"; sleep 1'"),
		// NotifyAccess=main (Type=notify's default): ExecReload= gets no $NOTIFY_SOCKET.
		"main.service": unitFile("Service", "Type=notify\nExecStart="+h+" steps READY=1\n"+
			"ExecReload=/bin/sh -c 'test -z \"$$NOTIFY_SOCKET\"'"),
		"exec.service": unitFile("Service", "Type=notify\nNotifyAccess=exec\nExecStart="+h+" steps READY=1\n"+
			"ExecReload=/bin/sh -c 'test -n \"$$NOTIFY_SOCKET\"'"),
		// WatchdogSec= alone: the main process may notify, and WATCHDOG_PID= is its pid.
		"wd.service": unitFile("Service", "WatchdogSec=1min\nExecStart=/bin/sh -c "+
			"'test \"$$WATCHDOG_PID\" = $$$$ && test -n \"$$NOTIFY_SOCKET\" || exit 3; exec /bin/sleep 1000'"),
		"r.service": unitFile("Service", "ExecStart=/bin/sleep 1000\nExecReload="+count("r")),
		"n.service": unitFile("Service", "ExecStart=/bin/sleep 1000"),
		// ExecReload= stops the main process (a clean exit) and ends later.
		"quit.service": unitFile("Service", "ExecStart=/bin/sleep 1000\nExecReload=/bin/sh -c 'kill $$MAINPID; sleep 0.5'"),
	})
	m := startManager(t, units)

	t.Run("failed_ExecReload", func(t *testing.T) {
		c := on(t, m)
		c.start("fail.service")
		if out := c.run(1, "reload", "fail.service"); !strings.Contains(out, "Job for fail.service failed.") {
			t.Errorf("reload: %s", out)
		}
		c.waitProps("fail.service", map[string]string{"ActiveState": "active", "SubState": "running", "Result": "success", "ReloadResult": "exit-code"})
		c.start("fail.service") // a start of an active service does not reset it
		if r := c.prop("fail.service", "ReloadResult"); r != "exit-code" {
			t.Errorf("ReloadResult %q after a start of the active service", r)
		}
		c.run(0, "restart", "fail.service")
		c.waitProps("fail.service", map[string]string{"ActiveState": "active", "ReloadResult": "success"})
	})
	t.Run("reload_timeout", func(t *testing.T) {
		c := on(t, m)
		c.start("slow.service")
		pid := c.prop("slow.service", "MainPID")
		c.run(1, "reload", "slow.service")
		c.waitProps("slow.service", map[string]string{"ActiveState": "active", "SubState": "running", "ReloadResult": "timeout", "MainPID": pid})
		// The reload process was killed.
		if !waitFor(5*time.Second, func() bool { return len(pidsOf(hang)) == 0 }) {
			t.Errorf("the timed-out ExecReload= still runs: %v", pidsOf(hang))
		}
	})
	t.Run("READY_before_ExecReload_ends", func(t *testing.T) {
		c := on(t, m)
		c.start("early.service")
		c.run(1, "reload", "early.service") // ExecReload= says READY=1, then fails
		c.waitProps("early.service", map[string]string{"ActiveState": "active", "ReloadResult": "exit-code"})
	})
	t.Run("RELOADING_propagates", func(t *testing.T) {
		c := on(t, m)
		c.start("prop.service")
		c.start("self.service")
		waitLines(t, "prop", 1)
		c.waitState("self.service", "active/running")
	})
	t.Run("target_reload", func(t *testing.T) {
		c := on(t, m)
		c.start("tprop.service")
		c.start("t.target")
		c.run(0, "reload", "t.target")
		waitLines(t, "tprop", 1)
	})
	t.Run("reload_during_reload", func(t *testing.T) {
		c := on(t, m)
		c.start("twice.service")
		c.run(0, "reload", "--no-block", "twice.service")
		c.run(0, "reload", "--no-block", "twice.service")
		waitLines(t, "twice", 2)
		c.waitState("twice.service", "active/running")
	})
	t.Run("notify_socket_and_WATCHDOG_PID", func(t *testing.T) {
		c := on(t, m)
		for _, u := range []string{"main.service", "exec.service"} {
			c.start(u)
			c.run(0, "reload", u)
		}
		c.start("wd.service")
		// The shell execs sleep only when its checks passed (else it exits 3).
		pid := c.prop("wd.service", "MainPID")
		if !waitFor(15*time.Second, func() bool {
			comm, _ := os.ReadFile("/proc/" + pid + "/comm")
			return string(comm) == "sleep\n"
		}) {
			t.Errorf("wd.service (MainPID %s) did not exec sleep: %v", pid, c.props("wd.service", "ActiveState", "Result"))
		}
	})
	t.Run("try_reload_or_restart", func(t *testing.T) {
		c := on(t, m)
		c.run(0, "try-reload-or-restart", "r.service", "n.service")
		if p := c.props("r.service", "ActiveState"); p["ActiveState"] != "inactive" || lines("r") != 0 {
			t.Errorf("try-reload-or-restart started or reloaded an inactive unit: %v, %d reloads", p, lines("r"))
		}
		c.start("r.service")
		c.start("n.service")
		rpid, npid := c.prop("r.service", "MainPID"), c.prop("n.service", "MainPID")
		c.run(0, "try-reload-or-restart", "r.service", "n.service")
		if lines("r") != 1 || c.prop("r.service", "MainPID") != rpid {
			t.Errorf("r.service was not reloaded (%d reloads, MainPID %s was %s)", lines("r"), c.prop("r.service", "MainPID"), rpid)
		}
		if p := c.prop("n.service", "MainPID"); p == npid || p == "0" {
			t.Errorf("n.service (no ExecReload=) was not restarted: MainPID %s was %s", p, npid)
		}
		// systemctl's legacy name.
		if c.run(0, "force-reload", "r.service"); lines("r") != 2 {
			t.Errorf("force-reload: %d reloads, want 2", lines("r"))
		}
	})
	t.Run("main_exits_during_reload", func(t *testing.T) {
		c := on(t, m)
		c.start("quit.service")
		c.run(0, "reload", "quit.service")
		c.waitProps("quit.service", map[string]string{"ActiveState": "inactive", "Result": "success"})
	})
}
