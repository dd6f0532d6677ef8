package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServiceTypes starts one service of each Type= and checks the state, MainPID and what
// `flint start` waited for, as systemd 252 does.
func TestServiceTypes(t *testing.T) {
	h := svcHelper(t)
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"simple.service": unitFile("Service", "ExecStart=/bin/sleep 1000"),
		"exec.service":   unitFile("Service", "Type=exec\nExecStart=/bin/sleep 1000"),
		"exec-missing.service": unitFile("Service",
			"Type=exec\nExecStart="+dir+"/no-such-binary"),
		"simple-missing.service": unitFile("Service", "ExecStart="+dir+"/no-such-binary"),
		// READY=1 comes half a second after the start: `flint start` must wait for it.
		"notify.service": unitFile("Service", fmt.Sprintf(
			"Type=notify\nExecStart=/bin/sh -c 'sleep 0.5; exec %s notify \"STATUS=serving requests\\\\nREADY=1\"'", h)),
		"notify-mainpid.service": unitFile("Service", "Type=notify\nExecStart="+h+" notify-mainpid"),
		"forking.service": unitFile("Service", fmt.Sprintf(
			"Type=forking\nPIDFile=%s/forking.pid\nExecStart=%s forking %s/forking.pid", dir, h, dir)),
		// No PIDFile=: the only process left after the parent exits is the main one (GuessMainPID=).
		"forking-guess.service": unitFile("Service", fmt.Sprintf(
			"Type=forking\nExecStart=%s forking %s/guess.pid", h, dir)),
		"oneshot.service": unitFile("Service", fmt.Sprintf(
			"Type=oneshot\nExecStart=/bin/sh -c 'echo 1 >> %[1]s/oneshot.log'\n"+
				"ExecStart=/bin/sh -c 'echo 2 >> %[1]s/oneshot.log'\nExecStart=/bin/sh -c 'echo 3 >> %[1]s/oneshot.log'", dir)),
		"remain.service": unitFile("Service", "Type=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true"),
		"oneshot-fail.service": unitFile("Service", fmt.Sprintf(
			"Type=oneshot\nExecStart=/bin/false\nExecStart=/bin/sh -c 'echo ran >> %s/fail.log'", dir)),
		"oneshot-ignore.service": unitFile("Service", fmt.Sprintf(
			"Type=oneshot\nExecStart=-/bin/false\nExecStart=/bin/sh -c 'echo ran >> %s/ignore.log'", dir)),
	})
	m := startManager(t, units)

	t.Run("simple", func(t *testing.T) {
		c := on(t, m)
		c.start("simple.service")
		p := c.waitState("simple.service", "active/running")
		_ = p
		pid, _ := strconv.Atoi(c.prop("simple.service", "MainPID"))
		// Type=simple is running from the fork on; the exec may come a moment later.
		var exe string
		if !waitFor(15*time.Second, func() bool {
			exe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
			return strings.HasSuffix(exe, "sleep")
		}) {
			t.Errorf("MainPID %d runs %q, want sleep", pid, exe)
		}
	})
	t.Run("exec", func(t *testing.T) {
		c := on(t, m)
		c.start("exec.service")
		c.waitState("exec.service", "active/running")
	})
	t.Run("exec_missing_binary_fails_start_203", func(t *testing.T) {
		c := on(t, m)
		out, code := c.flint("start", "exec-missing.service")
		if code == 0 {
			t.Errorf("flint start exec-missing.service: exit 0, want failure (%s)", out)
		}
		c.waitProps("exec-missing.service", map[string]string{
			"ActiveState": "failed", "Result": "exit-code", "ExecMainStatus": "203", "ExecMainCode": "1"})
	})
	t.Run("simple_missing_binary_203", func(t *testing.T) {
		c := on(t, m)
		c.flint("start", "simple-missing.service") // simple: the job may succeed before exec fails
		c.waitProps("simple-missing.service", map[string]string{
			"ActiveState": "failed", "Result": "exit-code", "ExecMainStatus": "203"})
	})
	t.Run("notify_waits_for_READY", func(t *testing.T) {
		c := on(t, m)
		c.start("notify.service")
		// start returned: READY=1 has arrived, so the unit is active at once.
		if p := c.props("notify.service", "ActiveState", "SubState", "StatusText"); p["ActiveState"] != "active" ||
			p["SubState"] != "running" || p["StatusText"] != "serving requests" {
			t.Errorf("after start: %v, want active/running with StatusText", p)
		}
		if st, _ := c.flint("status", "notify.service"); !strings.Contains(st, `Status: "serving requests"`) {
			t.Errorf("flint status lacks the STATUS= text:\n%s", st)
		}
	})
	t.Run("notify_MAINPID", func(t *testing.T) {
		c := on(t, m)
		c.start("notify-mainpid.service")
		c.waitState("notify-mainpid.service", "active/running")
		pid, _ := strconv.Atoi(c.prop("notify-mainpid.service", "MainPID"))
		exec := c.prop("notify-mainpid.service", "ExecMainPID")
		if pid <= 0 || !alive(pid) {
			t.Fatalf("MainPID %d is not a live process", pid)
		}
		killAtEnd(t, pid)
		if status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); !strings.Contains(string(status), "PPid:") {
			t.Fatal("no status")
		}
		// The child named by MAINPID= is the main process now, not the process flint started.
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if !strings.Contains(string(stat), "notify-mainpid") {
			t.Errorf("MainPID %d cmdline %q, want the helper's child", pid, stat)
		}
		_ = exec
		out, code := c.flint("stop", "notify-mainpid.service")
		if code != 0 {
			t.Fatalf("stop: %d %s", code, out)
		}
		if !waitFor(10*time.Second, func() bool { return !alive(pid) }) {
			t.Errorf("main process %d (from MAINPID=) still alive after stop", pid)
		}
	})
	t.Run("forking_PIDFile", func(t *testing.T) {
		c := on(t, m)
		c.start("forking.service")
		c.waitState("forking.service", "active/running")
		want := pidFromFile(t, filepath.Join(dir, "forking.pid"))
		killAtEnd(t, want)
		if got := c.prop("forking.service", "MainPID"); got != strconv.Itoa(want) {
			t.Errorf("MainPID = %s, want %d from the PID file", got, want)
		}
		if _, code := c.flint("stop", "forking.service"); code != 0 {
			t.Fatal("stop forking.service failed")
		}
		if !waitFor(10*time.Second, func() bool { return !alive(want) }) {
			t.Errorf("daemon %d still alive after stop", want)
		}
		c.waitState("forking.service", "inactive/dead")
	})
	t.Run("forking_GuessMainPID", func(t *testing.T) {
		c := on(t, m)
		c.start("forking-guess.service")
		want := pidFromFile(t, filepath.Join(dir, "guess.pid"))
		killAtEnd(t, want)
		c.waitProps("forking-guess.service", map[string]string{"ActiveState": "active", "SubState": "running", "MainPID": strconv.Itoa(want)})
		// The daemon's exit is noticed: the service stops.
		syscall.Kill(want, syscall.SIGKILL)
		c.waitProps("forking-guess.service", map[string]string{"ActiveState": "failed", "Result": "signal"})
	})
	t.Run("oneshot_runs_ExecStart_in_order", func(t *testing.T) {
		c := on(t, m)
		c.start("oneshot.service")
		if got, _ := os.ReadFile(filepath.Join(dir, "oneshot.log")); string(got) != "1\n2\n3\n" {
			t.Errorf("oneshot.log = %q, want 1 2 3 in order (all done when start returns)", got)
		}
		c.waitProps("oneshot.service", map[string]string{"ActiveState": "inactive", "SubState": "dead", "Result": "success"})
	})
	t.Run("oneshot_RemainAfterExit", func(t *testing.T) {
		c := on(t, m)
		c.start("remain.service")
		c.waitState("remain.service", "active/exited")
	})
	t.Run("oneshot_failure_stops_the_sequence", func(t *testing.T) {
		c := on(t, m)
		if _, code := c.flint("start", "oneshot-fail.service"); code == 0 {
			t.Error("start of a failing oneshot exited 0")
		}
		c.waitProps("oneshot-fail.service", map[string]string{"ActiveState": "failed", "Result": "exit-code"})
		if _, err := os.Stat(filepath.Join(dir, "fail.log")); err == nil {
			t.Error("the ExecStart= after the failing one ran")
		}
	})
	t.Run("oneshot_dash_prefix_ignores_failure", func(t *testing.T) {
		c := on(t, m)
		c.start("oneshot-ignore.service")
		if got, _ := os.ReadFile(filepath.Join(dir, "ignore.log")); string(got) != "ran\n" {
			t.Errorf("ignore.log = %q, want the second command to run", got)
		}
		c.waitProps("oneshot-ignore.service", map[string]string{"ActiveState": "inactive", "Result": "success"})
	})
}

// TestExecPhases checks ExecStartPre/Post, ExecStop, ExecStopPost, their '-' prefix, $MAINPID
// and SERVICE_RESULT/EXIT_CODE/EXIT_STATUS.
func TestExecPhases(t *testing.T) {
	dir := t.TempDir()
	log := func(name string) string { return filepath.Join(dir, name+".log") }
	phases := func(name, start string) string {
		l := log(name)
		return fmt.Sprintf(`ExecStartPre=/bin/sh -c 'echo pre >> %[1]s'
ExecStartPre=-/bin/false
ExecStart=%[2]s
ExecStartPost=/bin/sh -c 'echo post $MAINPID >> %[1]s'
ExecStop=/bin/sh -c 'echo stop $MAINPID >> %[1]s'
ExecStopPost=/bin/sh -c 'echo stoppost $SERVICE_RESULT $EXIT_CODE $EXIT_STATUS >> %[1]s'
ExecStopPost=/bin/sh -c 'echo stoppost2 >> %[1]s'
`, l, start)
	}
	units := writeUnits(t, map[string]string{
		"ok.service":   unitFile("Service", phases("ok", "/bin/sleep 1000")),
		"fail.service": unitFile("Service", phases("fail", "/bin/sh -c 'sleep 0.3; exit 3'")),
		"prefail.service": unitFile("Service", fmt.Sprintf(
			"ExecStartPre=/bin/false\nExecStart=/bin/sleep 1000\nExecStopPost=/bin/sh -c 'echo stoppost $SERVICE_RESULT >> %s'", log("prefail"))),
	})
	m := startManager(t, units)

	t.Run("stop_after_running", func(t *testing.T) {
		c := on(t, m)
		c.start("ok.service")
		pid := c.prop("ok.service", "MainPID")
		if out, code := c.flint("stop", "ok.service"); code != 0 {
			t.Fatalf("stop: %d %s", code, out)
		}
		want := fmt.Sprintf("pre\npost %s\nstop %s\nstoppost success killed TERM\nstoppost2\n", pid, pid)
		if got, _ := os.ReadFile(log("ok")); string(got) != want {
			t.Errorf("phases:\n%s\nwant:\n%s", got, want)
		}
		c.waitProps("ok.service", map[string]string{"ActiveState": "inactive", "Result": "success"})
	})
	t.Run("main_exits_3", func(t *testing.T) {
		c := on(t, m)
		c.start("fail.service")
		c.waitProps("fail.service", map[string]string{"ActiveState": "failed", "Result": "exit-code", "ExecMainStatus": "3"})
		got, _ := os.ReadFile(log("fail"))
		// As systemd 252: a main process that fails skips ExecStop= (only a clean exit runs it).
		want := fmt.Sprintf("pre\npost %s\nstoppost exit-code exited 3\nstoppost2\n", c.prop("fail.service", "ExecMainPID"))
		if string(got) != want {
			t.Errorf("phases:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("ExecStartPre_failure", func(t *testing.T) {
		c := on(t, m)
		if _, code := c.flint("start", "prefail.service"); code == 0 {
			t.Error("start exited 0 although ExecStartPre= failed")
		}
		c.waitProps("prefail.service", map[string]string{"ActiveState": "failed", "Result": "exit-code"})
		if got := readWait(t, log("prefail")); got != "stoppost exit-code\n" {
			t.Errorf("ExecStopPost saw %q", got)
		}
	})
}
