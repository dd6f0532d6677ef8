package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestRestartTable checks Restart= against the table of systemd.service(5) (shared in
// REFERENCE.md) for each cause, plus SuccessExitStatus=, RestartPreventExitStatus= and
// RestartForceExitStatus=. Every service is started once; a service that restarts shows
// NRestarts >= 1, one that does not ends failed or inactive with NRestarts=0 and its main
// process's exit recorded (the restart decision is taken at that moment).
func TestRestartTable(t *testing.T) {
	h := svcHelper(t)
	causes := map[string]string{
		"clean":    "ExecStart=/bin/true",
		"exitcode": "ExecStart=/bin/sh -c 'exit 1'",
		"signal":   "ExecStart=/bin/sh -c 'kill -KILL $$$$'",
		"timeout":  "Type=notify\nTimeoutStartSec=300ms\nExecStart=/bin/sleep 1000",
		"watchdog": "Type=notify\nWatchdogSec=300ms\nExecStart=" + h + " notify READY=1",
	}
	// restarts[mode] lists the causes that restart (systemd.service(5), table 2).
	restarts := map[string][]string{
		"no":          nil,
		"always":      {"clean", "exitcode", "signal", "timeout", "watchdog"},
		"on-success":  {"clean"},
		"on-failure":  {"exitcode", "signal", "timeout", "watchdog"},
		"on-abnormal": {"signal", "timeout", "watchdog"},
		"on-abort":    {"signal"},
		"on-watchdog": {"watchdog"},
	}
	type row struct {
		name, body string
		restart    bool
		result     string // Result= of a service that did not restart
	}
	var rows []row
	results := map[string]string{"clean": "success", "exitcode": "exit-code", "signal": "signal", "timeout": "timeout", "watchdog": "watchdog"}
	for mode, yes := range restarts {
		for cause, body := range causes {
			r := row{name: mode + "-" + cause, body: "Restart=" + mode + "\n" + body, result: results[cause]}
			for _, c := range yes {
				r.restart = r.restart || c == cause
			}
			rows = append(rows, r)
		}
	}
	rows = append(rows,
		row{"success-status-on-failure", "Restart=on-failure\nSuccessExitStatus=42\nExecStart=/bin/sh -c 'exit 42'", false, "success"},
		row{"success-status-on-success", "Restart=on-success\nSuccessExitStatus=42\nExecStart=/bin/sh -c 'exit 42'", true, ""},
		row{"sigterm-is-clean", "Restart=on-failure\nExecStart=/bin/sh -c 'kill -TERM $$$$'", false, "success"},
		row{"prevent-status", "Restart=always\nRestartPreventExitStatus=3\nExecStart=/bin/sh -c 'exit 3'", false, "exit-code"},
		row{"prevent-signal", "Restart=always\nRestartPreventExitStatus=SIGKILL\nExecStart=/bin/sh -c 'kill -KILL $$$$'", false, "signal"},
		row{"force-status", "Restart=no\nRestartForceExitStatus=4\nExecStart=/bin/sh -c 'exit 4'", true, ""},
		row{"force-on-success", "Restart=on-success\nRestartForceExitStatus=5\nExecStart=/bin/sh -c 'exit 5'", true, ""},
	)
	files := map[string]string{}
	var names []string
	for _, r := range rows {
		// The start limit ends the loops of the services that restart.
		files[r.name+".service"] = unitFile("Unit", "StartLimitIntervalSec=1min\nStartLimitBurst=3",
			"Service", "RestartSec=100ms\nTimeoutStopSec=1\n"+r.body)
		names = append(names, r.name+".service")
	}
	// hold.target, active, refers to every service: as systemd 252, flint unloads an
	// inactive service that no loaded unit refers to, and would show it as never started.
	files["hold.target"] = unitFile("Unit", "Before="+strings.Join(names, " "))
	m := startManager(t, writeUnits(t, files))
	on(t, m).flint(append([]string{"start", "hold.target"}, names...)...)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			c := on(t, m)
			unit := r.name + ".service"
			if r.restart {
				if !waitFor(15*time.Second, func() bool {
					n := c.prop(unit, "NRestarts")
					return n != "" && n != "0"
				}) {
					st, _ := c.flint("status", unit)
					t.Fatalf("never restarted:\n%s", st)
				}
				return
			}
			var p map[string]string
			if !waitFor(15*time.Second, func() bool {
				p = c.props(unit, "ActiveState", "SubState", "NRestarts", "Result", "ExecMainExitTimestamp")
				return (p["ActiveState"] == "failed" || p["ActiveState"] == "inactive") && p["ExecMainExitTimestamp"] != ""
			}) {
				t.Fatalf("did not stop: %v", p)
			}
			if p["NRestarts"] != "0" || p["SubState"] == "auto-restart" || p["Result"] != r.result {
				st, _ := c.flint("status", unit)
				t.Errorf("got %v, want no restart and Result=%s\n%s", p, r.result, st)
			}
		})
	}
}

// TestStartLimit: a service that keeps failing is restarted until StartLimitBurst=, then stays
// failed with its first failure as Result (systemd 252 shows exit-code, NRestarts=3), and a
// later `flint start` is refused until reset-failed.
func TestStartLimit(t *testing.T) {
	m := startManager(t, writeUnits(t, map[string]string{
		"loop.service": unitFile("Unit", "StartLimitIntervalSec=1min\nStartLimitBurst=3",
			"Service", "Restart=always\nRestartSec=100ms\nExecStart=/bin/sh -c 'exit 1'"),
	}))
	c := on(t, m)
	c.flint("start", "loop.service")
	c.waitProps("loop.service", map[string]string{"ActiveState": "failed", "NRestarts": "3", "Result": "exit-code"})
	out, code := c.flint("start", "loop.service")
	if code == 0 {
		t.Errorf("start over the limit exited 0: %s", out)
	}
	if p := c.props("loop.service", "ActiveState", "NRestarts"); p["ActiveState"] != "failed" || p["NRestarts"] != "3" {
		t.Errorf("after a refused start: %v", p)
	}
	if st, _ := c.flint("status", "loop.service"); !strings.Contains(st, "failed") {
		t.Errorf("status:\n%s", st)
	}
	// reset-failed clears the failure and the start counter (systemd's unit_reset_failed).
	if out, code := c.flint("reset-failed", "loop.service"); code != 0 {
		t.Fatalf("reset-failed: %d %s", code, out)
	}
	c.waitProps("loop.service", map[string]string{"ActiveState": "inactive", "Result": "success", "NRestarts": "0"})
	c.flint("start", "loop.service")
	c.waitProps("loop.service", map[string]string{"ActiveState": "failed", "NRestarts": "3", "Result": "exit-code"})
}
