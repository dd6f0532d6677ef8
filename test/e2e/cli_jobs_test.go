package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cliUnits is the unit set the CLI tests drive: a plain long-running service with a reload
// command, a failing oneshot, a service that requires it, one refusing manual start, a masked
// one, a slow starter, a notify service with a status text and an Accept=yes socket.
func cliUnits(t *testing.T) (dir, work string) {
	t.Helper()
	work = t.TempDir()
	dir = writeUnits(t, map[string]string{
		"ok.service": unitFile("Unit", "Description=A sleeper", "Service",
			"ExecStart=/bin/sh -c 'echo started; exec sleep 1000'\nExecReload=/bin/sh -c 'echo reloaded >>"+work+"/reloads'"),
		"plain.service":  unitFile("Service", "ExecStart=/bin/sleep 1000"),
		"fail.service":   unitFile("Service", "Type=oneshot\nExecStart=/bin/false"),
		"crash.service":  unitFile("Service", "ExecStart=/bin/sh -c 'kill -SEGV $$$$'"),
		"sig.service":    unitFile("Service", "Type=oneshot\nExecStart=/bin/sh -c 'kill -KILL $$$$'"),
		"tmo.service":    unitFile("Service", "Type=notify\nTimeoutStartSec=1\nExecStart=/bin/sleep 100"),
		"dep.service":    unitFile("Unit", "Requires=fail.service\nAfter=fail.service", "Service", "ExecStart=/bin/sleep 1000"),
		"refuse.service": unitFile("Unit", "RefuseManualStart=yes", "Service", "ExecStart=/bin/sleep 1000"),
		"slow.service":   unitFile("Service", "ExecStartPre=/bin/sleep 2\nExecStart=/bin/sleep 1000"),
		"notify.service": unitFile("Service", "Type=notify\nNotifyAccess=all\nExecStart=/bin/sh -c 'systemd-notify --ready --status=\"Serving requests\"; exec sleep 1000'"),
		"echo.socket":    unitFile("Unit", "Description=Echo socket", "Socket", "ListenStream=127.0.0.1:21530\nAccept=yes", "Install", "WantedBy=sockets.target"),
		"echo@.service":  unitFile("Service", "ExecStart=/bin/cat\nStandardInput=socket"),
	})
	if err := os.Symlink("/dev/null", filepath.Join(dir, "masked.service")); err != nil {
		t.Fatal(err)
	}
	return dir, work
}

// TestJobVerbs drives start, stop, restart, reload, try-restart and reload-or-restart through
// the binary: systemctl's messages and exit codes for each outcome.
func TestJobVerbs(t *testing.T) {
	units, work := cliUnits(t)
	m := startManager(t, units)
	c := on(t, m)
	see := func(u string) string {
		return fmt.Sprintf("See \"flint status %s\" and \"flint logs -u %s\" for details.\n", u, u)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string // exact combined output
	}{
		{"reload_inactive", []string{"reload", "ok.service"}, 1, "ok.service is not active, cannot reload.\n"},
		{"start", []string{"start", "ok"}, 0, ""},
		{"start_active_again", []string{"start", "ok.service"}, 0, ""},
		{"start_failing_oneshot", []string{"start", "fail.service"}, 1,
			"Job for fail.service failed because the control process exited with error code.\n" + see("fail.service")},
		{"start_crashing", []string{"start", "crash.service"}, 0, ""},
		{"start_killed_by_signal", []string{"start", "sig.service"}, 1,
			"Job for sig.service failed because a fatal signal was delivered to the control process.\n" + see("sig.service")},
		{"start_timeout", []string{"start", "tmo.service"}, 1,
			"Job for tmo.service failed because a timeout was exceeded.\n" + see("tmo.service")},
		{"start_dependency_failed", []string{"start", "dep.service"}, 1,
			"A dependency job for dep.service failed. See 'flint logs' for details.\n"},
		{"start_not_found", []string{"start", "nope.service"}, 5, "Failed to start nope.service: Unit nope.service not found.\n"},
		{"stop_not_loaded", []string{"stop", "nope"}, 5, "Failed to stop nope.service: Unit nope.service not loaded.\n"},
		{"try_restart_not_found", []string{"try-restart", "nope"}, 5, "Failed to try-restart nope.service: Unit nope.service not found.\n"},
		{"start_masked", []string{"start", "masked.service"}, 1, "Failed to start masked.service: Unit masked.service is masked.\n"},
		{"stop_masked", []string{"stop", "masked.service"}, 0, ""},
		{"start_refused", []string{"start", "refuse.service"}, 4,
			"Failed to start refuse.service: Operation refused, unit refuse.service may be requested by dependency only (it is configured to refuse manual start/stop).\n" +
				"See system logs and 'flint status refuse.service' for details.\n"},
		{"reload_not_applicable", []string{"reload", "plain.service"}, 3,
			"Failed to reload plain.service: Job type reload is not applicable for unit plain.service.\n"},
		{"several_units_first_error_then_failure", []string{"start", "plain", "nope", "fail"}, 1,
			"Failed to start nope.service: Unit nope.service not found.\n" +
				"Job for fail.service failed because the control process exited with error code.\n" + see("fail.service")},
		{"no_unit", []string{"start"}, 1, "Too few arguments.\n"},
		{"template_without_instance", []string{"stop", "echo@.service"}, 1,
			"Failed to stop echo@.service: Unit name echo@.service is missing the instance name.\n" +
				"See system logs and 'flint status echo@.service' for details.\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := c.flint(tc.args...)
			if code != tc.code || out != tc.out {
				t.Errorf("flint %s: exit %d, output:\n%s\nwant exit %d, output:\n%s", strings.Join(tc.args, " "), code, out, tc.code, tc.out)
			}
		})
	}

	t.Run("restart_new_main_pid", func(t *testing.T) {
		before := c.prop("ok.service", "MainPID")
		if out, code := c.flint("restart", "ok.service"); code != 0 {
			t.Fatalf("restart: exit %d: %s", code, out)
		}
		after := c.prop("ok.service", "MainPID")
		if before == after || after == "0" {
			t.Errorf("MainPID %s before restart, %s after", before, after)
		}
	})
	t.Run("reload_runs_ExecReload", func(t *testing.T) {
		pid := c.prop("ok.service", "MainPID")
		if out, code := c.flint("reload", "ok.service"); code != 0 {
			t.Fatalf("reload: exit %d: %s", code, out)
		}
		if got := readWait(t, filepath.Join(work, "reloads")); got != "reloaded\n" {
			t.Errorf("reloads = %q", got)
		}
		if out, code := c.flint("reload-or-restart", "ok.service"); code != 0 {
			t.Fatalf("reload-or-restart: exit %d: %s", code, out)
		}
		if got := readWait(t, filepath.Join(work, "reloads")); got != "reloaded\nreloaded\n" {
			t.Errorf("reload-or-restart did not reload: reloads = %q", got)
		}
		if now := c.prop("ok.service", "MainPID"); now != pid {
			t.Errorf("MainPID changed from %s to %s across reloads", pid, now)
		}
	})
	t.Run("reload_or_restart_without_ExecReload_restarts", func(t *testing.T) {
		before := c.prop("plain.service", "MainPID")
		if out, code := c.flint("reload-or-restart", "plain.service"); code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		if after := c.prop("plain.service", "MainPID"); after == before || after == "0" {
			t.Errorf("MainPID %s -> %s, want a new process", before, after)
		}
	})
	t.Run("try_restart_inactive_stays_inactive", func(t *testing.T) {
		if out, code := c.flint("try-restart", "slow.service"); code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		if st := c.prop("slow.service", "ActiveState"); st != "inactive" {
			t.Errorf("ActiveState %s after try-restart of an inactive unit", st)
		}
	})
	t.Run("no_block", func(t *testing.T) {
		start := time.Now()
		out, code := c.flint("start", "--no-block", "slow.service")
		if code != 0 || out != "" {
			t.Fatalf("start --no-block: exit %d: %s", code, out)
		}
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Errorf("start --no-block took %v; the job itself takes 2s", d)
		}
		if st := c.prop("slow.service", "ActiveState"); st != "activating" {
			t.Errorf("ActiveState right after start --no-block: %s, want activating", st)
		}
		// list-units shows the pending job in a JOB column, with its legend line.
		out, _ = c.flint("list-units", "--type=service", "slow*")
		if !regexp.MustCompile(`(?m)^  UNIT +LOAD +ACTIVE +SUB +JOB +DESCRIPTION\n  slow\.service loaded activating start-pre start slow\.service\n`).MatchString(out) ||
			!strings.Contains(out, "JOB    = Pending job for the unit.\n\n") {
			t.Errorf("list-units during a start job:\n%s", out)
		}
		out, _ = c.flint("list-jobs")
		if !regexp.MustCompile(`^JOB +UNIT +TYPE +STATE\n\d+ +slow\.service start running\n\n1 jobs listed\.\n$`).MatchString(out) {
			t.Errorf("list-jobs during a start job:\n%s", out)
		}
		c.waitState("slow.service", "active/running")
		if out, code := c.flint("list-jobs"); code != 0 || out != "No jobs running.\n" {
			t.Errorf("list-jobs when idle: exit %d %q", code, out)
		}
	})
	t.Run("stop", func(t *testing.T) {
		if out, code := c.flint("stop", "ok.service", "plain.service"); code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		for _, u := range []string{"ok.service", "plain.service"} {
			if st := c.prop(u, "ActiveState"); st != "inactive" {
				t.Errorf("%s: ActiveState %s after stop", u, st)
			}
		}
	})
}

var (
	timestampRe = regexp.MustCompile(`^[A-Z][a-z]{2} \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [A-Z]+$`)
	hex32Re     = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// TestShowRuntimeProperties checks the names and formats of the runtime properties against
// what systemctl 252 prints (see DESIGN.md's reference behaviour).
func TestShowRuntimeProperties(t *testing.T) {
	units, _ := cliUnits(t)
	m := startManager(t, units)
	c := on(t, m)
	c.start("notify.service")
	c.flint("start", "fail.service")
	c.flint("start", "crash.service")
	c.start("echo.socket")
	conn, err := net.Dial("tcp", "127.0.0.1:21530")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c.waitProps("echo.socket", map[string]string{"NAccepted": "1", "NConnections": "1"})
	c.waitState("crash.service", "failed")

	main := c.props("notify.service", "ActiveState", "SubState", "Result", "MainPID", "ExecMainPID",
		"ExecMainStatus", "ExecMainCode", "NRestarts", "ActiveEnterTimestamp", "InvocationID", "StatusText", "UnitFileState")
	pid, _ := strconv.Atoi(main["MainPID"])
	checks := []struct {
		unit, prop string
		got        string
		ok         func(string) bool
		want       string
	}{
		{"notify.service", "ActiveState", main["ActiveState"], eq("active"), "active"},
		{"notify.service", "SubState", main["SubState"], eq("running"), "running"},
		{"notify.service", "Result", main["Result"], eq("success"), "success"},
		{"notify.service", "MainPID", main["MainPID"], func(s string) bool { return pid > 1 && alive(pid) }, "a live pid"},
		{"notify.service", "ExecMainPID", main["ExecMainPID"], eq(main["MainPID"]), "= MainPID"},
		{"notify.service", "ExecMainStatus", main["ExecMainStatus"], eq("0"), "0"},
		{"notify.service", "ExecMainCode", main["ExecMainCode"], eq("0"), "0 (running)"},
		{"notify.service", "NRestarts", main["NRestarts"], eq("0"), "0"},
		{"notify.service", "ActiveEnterTimestamp", main["ActiveEnterTimestamp"], timestampRe.MatchString, "Wed 2026-11-25 12:00:00 UTC"},
		{"notify.service", "InvocationID", main["InvocationID"], hex32Re.MatchString, "32 hex digits"},
		{"notify.service", "StatusText", main["StatusText"], eq("Serving requests"), "Serving requests"},
		{"notify.service", "UnitFileState", main["UnitFileState"], eq("static"), "static"},
		{"fail.service", "Result", c.prop("fail.service", "Result"), eq("exit-code"), "exit-code"},
		{"fail.service", "ExecMainCode", c.prop("fail.service", "ExecMainCode"), eq("1"), "1 (CLD_EXITED)"},
		{"fail.service", "ExecMainStatus", c.prop("fail.service", "ExecMainStatus"), eq("1"), "1"},
		{"crash.service", "Result", c.prop("crash.service", "Result"), func(s string) bool { return s == "core-dump" || s == "signal" }, "signal or core-dump"},
		{"crash.service", "ExecMainStatus", c.prop("crash.service", "ExecMainStatus"), eq("11"), "11 (SIGSEGV)"},
		{"echo.socket", "NAccepted", c.prop("echo.socket", "NAccepted"), eq("1"), "1"},
		{"echo.socket", "NConnections", c.prop("echo.socket", "NConnections"), eq("1"), "1"},
		{"echo.socket", "UnitFileState", c.prop("echo.socket", "UnitFileState"), eq("disabled"), "disabled"},
	}
	for _, ck := range checks {
		t.Run(ck.unit+"_"+ck.prop, func(t *testing.T) {
			if !ck.ok(ck.got) {
				t.Errorf("%s %s=%q, want %s", ck.unit, ck.prop, ck.got, ck.want)
			}
		})
	}
	t.Run("value_only", func(t *testing.T) {
		out, code := c.flint("show", "notify.service", "-p", "StatusText", "--value")
		if code != 0 || out != "Serving requests\n" {
			t.Errorf("show -p StatusText --value: exit %d, %q", code, out)
		}
	})
	t.Run("json", func(t *testing.T) {
		out, code := c.flint("show", "--output=json", "notify.service", "echo.socket")
		var v []map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil || code != 0 || len(v) != 2 {
			t.Fatalf("show --output=json: exit %d, %v:\n%s", code, err, out)
		}
		if v[0]["Id"] != "notify.service" || v[0]["StatusText"] != "Serving requests" || v[1]["NAccepted"] != "1" {
			t.Errorf("show --output=json: %v", v)
		}
	})

	// status shows it all in systemctl's layout.
	out, code := c.flint("status", "notify.service")
	for _, re := range []string{
		`(?m)^● notify\.service$`,
		`(?m)^     Loaded: loaded \(` + regexp.QuoteMeta(filepath.Join(units, "notify.service")) + `; static\)$`,
		`(?m)^     Active: active \(running\) since [A-Z][a-z]{2} \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [A-Z]+; \d+(ms|s|min \d+s) ago$`,
		fmt.Sprintf(`(?m)^   Main PID: %d \(sleep\)$`, pid),
		`(?m)^     Status: "Serving requests"$`,
		`(?m)^      Tasks: 1$`,
		fmt.Sprintf(`(?m)^             └─%d sleep 1000$`, pid),
	} {
		if code != 0 || !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("status notify.service (exit %d): no match for %s in:\n%s", code, re, out)
		}
	}
	out, code = c.flint("status", "echo.socket")
	for _, re := range []string{
		`(?m)^● echo\.socket - Echo socket$`,
		`(?m)^     Active: active \(listening\) since `,
		`(?m)^     Listen: 127\.0\.0\.1:21530 \(Stream\)$`,
		`(?m)^   Accepted: 1; Connected: 1;$`,
	} {
		if code != 0 || !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("status echo.socket (exit %d): no match for %s in:\n%s", code, re, out)
		}
	}
	out, code = c.flint("status", "fail.service")
	for _, re := range []string{
		`(?m)^× fail\.service$`,
		`(?m)^     Active: failed \(Result: exit-code\) since `,
		`(?m)^    Process: (\d+) ExecStart=/bin/false \(code=exited, status=1/FAILURE\)\n   Main PID: \d+ \(code=exited, status=1/FAILURE\)$`,
		`(?m)^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \S+ systemd\[\d+\]: fail\.service: Main process exited, code=exited, status=1/FAILURE$`,
	} {
		if code != 3 || !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("status fail.service (exit %d, want 3): no match for %s in:\n%s", code, re, out)
		}
	}
	out, code = c.flint("status", "--output=json", "notify.service")
	var sts []map[string]any
	if err := json.Unmarshal([]byte(out), &sts); err != nil || code != 0 || len(sts) != 1 || sts[0]["name"] != "notify.service" {
		t.Errorf("status --output=json: exit %d, %v:\n%s", code, err, out)
	}
	out, code = c.flint("status", "masked.service")
	if code != 3 || !strings.Contains(out, "     Loaded: masked (Reason: Unit masked.service is masked.)\n") {
		t.Errorf("status masked.service: exit %d:\n%s", code, out)
	}
	out, code = c.flint("status")
	for _, re := range []string{
		`(?m)^● \S+\n    State: degraded\n    Units: \d+ loaded \(incl. loaded aliases\)\n     Jobs: 0 queued\n   Failed: 2 units\n    Since: `,
		fmt.Sprintf(`(?m)^ +[├└]─notify\.service\n +└─%d sleep 1000$`, pid),
	} {
		if code != 0 || !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("status without units (exit %d): no match for %s in:\n%s", code, re, out)
		}
	}
	out, code = c.flint("status", "nope.service")
	if code != 4 || out != "Unit nope.service could not be found.\n" {
		t.Errorf("status nope.service: exit %d, %q", code, out)
	}
}

func eq(want string) func(string) bool { return func(s string) bool { return s == want } }
