package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// SuccessAction=, FailureAction=, StartLimitAction= and flint exit|poweroff|halt|reboot: flint
// run ends by itself, with the exit code the action or the verb gives. flint run is not PID
// 1 here: poweroff, halt and reboot make it exit 0 (it never powers off the machine it runs
// on). internal/difftest compares the same cases with systemd 252.

// waitExit waits for flint run to end by itself and returns its exit code.
func (m *manager) waitExit(timeout time.Duration) int {
	m.t.Helper()
	select {
	case <-m.done:
	case <-time.After(timeout):
		m.t.Fatalf("flint run still running after %v:\n%s", timeout, m.out.String())
	}
	return m.cmd.ProcessState.ExitCode()
}

// stopLogger is a long-running service that appends a line to LOG/NAME.stop when it stops
// (ExecStopPost=), and to LOG/NAME when it starts.
func stopLogger(log, extra string) string {
	return "[Unit]\n" + extra + "[Service]\nExecStart=/bin/sh -c 'echo >>" + log + "/%n; exec sleep 60'\nExecStopPost=/bin/sh -c 'echo >>" + log + "/%n.stop'\n"
}

// lines counts the lines of dir/name (0 if it does not exist).
func lines(t *testing.T, dir, name string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}

// outputOrder fails the test unless the parts appear in flint run's output in this order.
func (m *manager) outputOrder(parts ...string) {
	m.t.Helper()
	out, at := m.out.String(), 0
	for _, p := range parts {
		i := strings.Index(out[at:], p)
		if i < 0 {
			m.t.Fatalf("flint run output lacks %q after offset %d:\n%s", p, at, out)
		}
		at += i + len(p)
	}
}

// TestSuccessActionExitForce: a oneshot with SuccessAction=exit-force and
// SuccessActionExitStatus=7 makes flint run stop everything and exit 7.
func TestSuccessActionExitForce(t *testing.T) {
	log := t.TempDir()
	units := writeUnits(t, map[string]string{
		"one.service":  "[Unit]\nSuccessAction=exit-force\nSuccessActionExitStatus=7\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"long.service": stopLogger(log, ""),
	})
	m := startManager(t, units)
	if out, code := m.flint("start", "long.service"); code != 0 {
		t.Fatalf("start long.service: exit %d: %s", code, out)
	}
	if out, code := m.flint("show", "one.service", "-p", "SuccessAction,SuccessActionExitStatus"); out != "SuccessAction=exit-force\nSuccessActionExitStatus=7\n" || code != 0 {
		t.Errorf("show: exit %d:\n%s", code, out)
	}
	// The job is done as the manager quits: start waits for it and says so.
	if out, code := m.flint("start", "one.service"); code != 0 {
		t.Errorf("start one.service: exit %d: %s", code, out)
	}
	if code := m.waitExit(15 * time.Second); code != 7 {
		t.Fatalf("flint run exited %d, want 7:\n%s", code, m.out.String())
	}
	if n := lines(t, log, "long.service.stop"); n != 1 {
		t.Errorf("long.service stopped %d times, want 1", n)
	}
	m.outputOrder("Finished one.service.", "Exiting: stopping all units.", "Stopped long.service.", "All units stopped.")
}

// TestFailureActionExit: FailureAction=exit goes through exit.target: shutdown.target stops
// the units that conflict with it (default dependencies) first, systemd-exit.service ends in
// exit-force, the units left stop, and flint run exits with the failed service's exit
// status.
func TestFailureActionExit(t *testing.T) {
	log := t.TempDir()
	units := writeUnits(t, map[string]string{
		"bad.service":  "[Unit]\nFailureAction=exit\n[Service]\nExecStart=/bin/sh -c 'sleep 0.5; exit 5'\n",
		"long.service": stopLogger(log, ""),
		"keep.service": stopLogger(log, "DefaultDependencies=no\n"),
	})
	m := startManager(t, units)
	if out, code := m.flint("start", "long.service", "keep.service", "bad.service"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, out)
	}
	if code := m.waitExit(15 * time.Second); code != 5 {
		t.Fatalf("flint run exited %d, want 5:\n%s", code, m.out.String())
	}
	for _, n := range []string{"long.service", "keep.service"} {
		if s, st := lines(t, log, n), lines(t, log, n+".stop"); s != 1 || st != 1 {
			t.Errorf("%s: started %d times, stopped %d times", n, s, st)
		}
	}
	// long.service (Conflicts=shutdown.target) stops on the way to exit.target,
	// keep.service (DefaultDependencies=no) in the final stop.
	m.outputOrder("bad.service: Failed with result 'exit-code'.", "Stopped long.service.", "Reached target System Shutdown.",
		"Finished Exit the Container.", "Reached target Exit the Container.", "Exiting: stopping all units.", "Stopped keep.service.")
}

// TestFailureActionRestart: as systemd 252, which passes through the failed state on its
// way to an automatic restart, FailureAction= acts at the first failure of a service with
// Restart=on-failure.
func TestFailureActionRestart(t *testing.T) {
	log := t.TempDir()
	units := writeUnits(t, map[string]string{
		"bad.service": "[Unit]\nFailureAction=exit-force\n[Service]\nRestart=on-failure\nRestartSec=300ms\nExecStart=/bin/sh -c 'echo >>" + log + "/%n; exit 9'\n",
	})
	m := startManager(t, units)
	if out, code := m.flint("start", "--no-block", "bad.service"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, out)
	}
	if code := m.waitExit(15 * time.Second); code != 9 {
		t.Fatalf("flint run exited %d, want 9:\n%s", code, m.out.String())
	}
	if n := lines(t, log, "bad.service"); n != 1 {
		t.Errorf("bad.service started %d times, want 1", n)
	}
}

// TestStartLimitActionExitForce: a service that keeps failing and restarting hits its start
// limit; StartLimitAction=exit-force then ends flint run (exit 0: the action has no exit
// status), after exactly StartLimitBurst= starts.
func TestStartLimitActionExitForce(t *testing.T) {
	log := t.TempDir()
	units := writeUnits(t, map[string]string{
		"flaky.service": "[Unit]\nStartLimitBurst=3\nStartLimitIntervalSec=60s\nStartLimitAction=exit-force\n" +
			"[Service]\nRestart=always\nRestartSec=100ms\nExecStart=/bin/sh -c 'echo >>" + log + "/%n; exit 1'\n",
		"long.service": stopLogger(log, ""),
	})
	m := startManager(t, units)
	if out, code := m.flint("start", "long.service"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, out)
	}
	if out, code := m.flint("start", "--no-block", "flaky.service"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, out)
	}
	if code := m.waitExit(15 * time.Second); code != 0 {
		t.Fatalf("flint run exited %d, want 0:\n%s", code, m.out.String())
	}
	if n := lines(t, log, "flaky.service"); n != 3 {
		t.Errorf("flaky.service started %d times, want 3 (StartLimitBurst=)", n)
	}
	if n := lines(t, log, "long.service.stop"); n != 1 {
		t.Errorf("long.service stopped %d times, want 1", n)
	}
	m.outputOrder("flaky.service: Start request repeated too quickly.", "Exiting immediately: unit flaky.service failed", "All units stopped.")
}

// TestExitVerb: flint exit CODE (through exit.target) and flint exit --force CODE (at once)
// make flint run stop every unit and exit CODE; a bad code is refused.
func TestExitVerb(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		via  string // exit.target's service in the output, or ""
	}{
		{"exit", []string{"exit", "3"}, 3, "Finished Exit the Container."},
		{"force", []string{"exit", "--force", "4"}, 4, ""},
		{"no-code", []string{"exit"}, 0, "Finished Exit the Container."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := t.TempDir()
			units := writeUnits(t, map[string]string{
				"long.service": stopLogger(log, ""),
				"keep.service": stopLogger(log, "DefaultDependencies=no\n"),
			})
			m := startManager(t, units)
			if out, code := m.flint("start", "long.service", "keep.service"); code != 0 {
				t.Fatalf("start: exit %d: %s", code, out)
			}
			if tc.name == "exit" {
				for _, bad := range []string{"256", "x", "1.5"} {
					if out, code := m.flint("exit", bad); code != 1 || out != "Invalid exit code.\n" {
						t.Errorf("exit %s: exit %d: %q", bad, code, out)
					}
				}
				if out, code := m.flint("exit", "1", "2"); code != 1 || out != "Too many arguments.\n" {
					t.Errorf("exit 1 2: exit %d: %q", code, out)
				}
				if out, code := m.flint("is-active", "long.service"); code != 0 {
					t.Fatalf("after refused exits, long.service: %s", out)
				}
			}
			if out, code := m.flint(tc.args...); code != 0 {
				t.Fatalf("%v: exit %d: %s", tc.args, code, out)
			}
			if code := m.waitExit(15 * time.Second); code != tc.code {
				t.Fatalf("flint run exited %d, want %d:\n%s", code, tc.code, m.out.String())
			}
			for _, n := range []string{"long.service", "keep.service"} {
				if st := lines(t, log, n+".stop"); st != 1 {
					t.Errorf("%s stopped %d times", n, st)
				}
			}
			if tc.via != "" {
				m.outputOrder("Stopped long.service.", tc.via, "Exiting: stopping all units.", "Stopped keep.service.")
			} else if strings.Contains(m.out.String(), "Exit the Container") {
				t.Errorf("exit --force went through exit.target:\n%s", m.out.String())
			}
		})
	}
}

// TestPoweroffNotPID1: flint poweroff (halt, reboot), with and without --force, make a flint
// run that is not PID 1 stop every unit and exit 0; without --force through the target and
// its systemd-*.service. A user manager refuses them.
func TestPoweroffNotPID1(t *testing.T) {
	for _, tc := range []struct {
		args []string
		via  string
	}{
		{[]string{"poweroff"}, "Reached target System Power Off."},
		{[]string{"reboot"}, "Reached target System Reboot."},
		{[]string{"halt", "--force"}, ""},
		{[]string{"reboot", "-f"}, ""},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			log := t.TempDir()
			units := writeUnits(t, map[string]string{"long.service": stopLogger(log, "")})
			m := startManager(t, units)
			if out, code := m.flint("start", "long.service"); code != 0 {
				t.Fatalf("start: exit %d: %s", code, out)
			}
			if out, code := m.flint(append([]string{"--user"}, tc.args...)...); code != 1 || out != "Bad action for user mode.\n" {
				t.Errorf("--user %v: exit %d: %q", tc.args, code, out)
			}
			if out, code := m.flint(tc.args...); code != 0 {
				t.Fatalf("%v: exit %d: %s", tc.args, code, out)
			}
			if code := m.waitExit(15 * time.Second); code != 0 {
				t.Fatalf("flint run exited %d, want 0:\n%s", code, m.out.String())
			}
			if st := lines(t, log, "long.service.stop"); st != 1 {
				t.Errorf("long.service stopped %d times", st)
			}
			if tc.via != "" {
				m.outputOrder("Stopped long.service.", tc.via, "stopping all units.", "All units stopped.")
			}
		})
	}
}

// TestJobTimeoutAction: JobTimeoutSec= cancels a start job that takes longer (the unit goes
// on starting), the command says so, and JobTimeoutAction=exit-force ends flint run.
func TestJobTimeoutAction(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"slow.service": "[Unit]\nJobTimeoutSec=1\nJobTimeoutAction=exit-force\n[Service]\nType=oneshot\nExecStart=/bin/sleep 30\n",
	})
	m := startManager(t, units)
	if out, code := m.flint("show", "slow.service", "-p", "JobTimeoutUSec,JobRunningTimeoutUSec,JobTimeoutAction"); out != "JobTimeoutUSec=1s\nJobRunningTimeoutUSec=1s\nJobTimeoutAction=exit-force\n" || code != 0 {
		t.Errorf("show: exit %d:\n%s", code, out)
	}
	if out, code := m.flint("start", "slow.service"); code != 1 || out != "Job for slow.service timed out.\n" {
		t.Errorf("start slow.service: exit %d %q, want 1 and the timeout", code, out)
	}
	if code := m.waitExit(15 * time.Second); code != 0 {
		t.Fatalf("flint run exited %d, want 0:\n%s", code, m.out.String())
	}
	m.outputOrder("Timed out starting slow.service.", "Exiting immediately: job timed out", "All units stopped.")
}
