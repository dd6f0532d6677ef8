package manager

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/unit"
)

func TestParseAction(t *testing.T) {
	for _, tc := range []struct {
		action, objective string
		force, ok         bool
	}{
		{"", "", false, true},
		{"none", "", false, true},
		{"exit", "exit", false, true},
		{"exit-force", "exit", true, true},
		{"poweroff", "poweroff", false, true},
		{"poweroff-force", "poweroff", true, true},
		{"poweroff-immediate", "poweroff", true, true}, // flint: -immediate is -force
		{"reboot", "reboot", false, true},
		{"reboot-force", "reboot", true, true},
		{"reboot-immediate", "reboot", true, true},
		{"halt-force", "halt", true, true}, // systemd-halt.service's, built in
		{"exit-immediate", "", false, false},
		{"kexec", "", false, false},
		{"poweroff-now", "", false, false},
		{"bogus", "", false, false},
		{"-force", "", false, false},
	} {
		obj, force, ok := parseAction(tc.action)
		if obj != tc.objective || force != tc.force || ok != tc.ok {
			t.Errorf("parseAction(%q) = %q, %v, %v; want %q, %v, %v", tc.action, obj, force, ok, tc.objective, tc.force, tc.ok)
		}
	}
	// Every value the unit parser accepts is an action the manager knows.
	for _, a := range unit.EmergencyActions {
		if _, _, ok := parseAction(a); !ok {
			t.Errorf("unit.EmergencyActions has %q, which parseAction refuses", a)
		}
	}
}

func TestActionExitStatus(t *testing.T) {
	exited := func(code string, status int) *Unit {
		return &Unit{svc: &serviceRT{execMainPID: 42, execMainExit: time.Now(), execMainCode: code, execMainStatus: status}}
	}
	for _, tc := range []struct {
		name string
		u    *Unit
		set  int
		want int
	}{
		{"set wins", exited("exited", 3), 7, 7},
		{"set 0 wins", exited("exited", 3), 0, 0},
		{"main exited", exited("exited", 3), -1, 3},
		{"main exited 0", exited("exited", 0), -1, 0},
		{"main killed", exited("killed", int(syscall.SIGTERM)), -1, 255},
		{"main dumped", exited("dumped", int(syscall.SIGSEGV)), -1, 255},
		{"main running", &Unit{svc: &serviceRT{execMainPID: 42, execMainStart: time.Now()}}, -1, -1},
		{"no main process", &Unit{svc: &serviceRT{}}, -1, -1},
		{"not a service", &Unit{}, -1, -1},
		{"not a service, set", &Unit{}, 9, 9},
	} {
		if got := actionExitStatus(tc.u, tc.set); got != tc.want {
			t.Errorf("%s: actionExitStatus = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestFinalAction(t *testing.T) {
	for _, tc := range []struct {
		objective string
		container bool
		cmd       uint32 // 0: reboot(2) not called
		err       bool
	}{
		{"", false, 0, false},
		{"", true, 0, false},
		{"exit", true, 0, false},
		{"exit", false, syscall.LINUX_REBOOT_CMD_POWER_OFF, false}, // PID 1 of a machine must not exit
		{"poweroff", true, syscall.LINUX_REBOOT_CMD_POWER_OFF, false},
		{"halt", false, syscall.LINUX_REBOOT_CMD_HALT, false},
		{"reboot", true, syscall.LINUX_REBOOT_CMD_RESTART, false},
		{"kexec", true, 0, true},
	} {
		called := uint32(0)
		err := finalAction(tc.objective, tc.container, func(cmd uint32) error { called = cmd; return nil })
		if called != tc.cmd || (err != nil) != tc.err {
			t.Errorf("finalAction(%q, container=%v): reboot(%#x), %v; want reboot(%#x), error %v", tc.objective, tc.container, called, err, tc.cmd, tc.err)
		}
	}
	err := finalAction("reboot", true, func(uint32) error { return syscall.EPERM })
	if !errors.Is(err, syscall.EPERM) {
		t.Errorf("reboot(2) failing: %v", err)
	}
	if err := FinalAction("poweroff"); err != nil { // the test is not PID 1: nothing happens
		t.Errorf("FinalAction, not PID 1: %v", err)
	}
}

// actionUnit is a loaded unit named name with the [Unit] settings of lines.
func actionUnit(t *testing.T, m *Manager, name string) *Unit {
	t.Helper()
	u := m.load(name)
	if !u.loaded() {
		t.Fatalf("%s: %s %s", name, u.cfg.LoadState, u.cfg.LoadError)
	}
	return u
}

func TestUnitActions(t *testing.T) {
	files := map[string]string{
		"ok.target":   target("OK", "SuccessAction=exit-force", "SuccessActionExitStatus=4"),
		"fail.target": target("Fail", "FailureAction=exit-force", "FailureActionExitStatus=6"),
		"off.target":  target("Off", "SuccessAction=poweroff-force"),
	}
	for _, tc := range []struct {
		name      string
		unit      string
		old, nu   ActiveState
		objective string
		code      int
	}{
		{"success from active", "ok.target", Active, Inactive, "exit", 4},
		{"success from deactivating", "ok.target", Deactivating, Inactive, "exit", 4},
		{"success from activating", "ok.target", Activating, Inactive, "exit", 4},
		{"no success from failed", "ok.target", Failed, Inactive, "", 0},
		{"no success when failing", "ok.target", Active, Failed, "", 0},
		{"failure", "fail.target", Active, Failed, "exit", 6},
		{"failure from inactive", "fail.target", Inactive, Failed, "exit", 6},
		{"no failure when failed", "fail.target", Failed, Failed, "", 0},
		{"no failure on success", "fail.target", Active, Inactive, "", 0},
		{"poweroff", "off.target", Active, Inactive, "poweroff", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := testManager(t, files)
			m.unitActions(actionUnit(t, m, tc.unit), tc.old, tc.nu)
			if m.objective != tc.objective || m.exitCode != tc.code {
				t.Errorf("objective %q, exit code %d; want %q, %d", m.objective, m.exitCode, tc.objective, tc.code)
			}
		})
	}
}

func TestEmergencyActionGuards(t *testing.T) {
	files := map[string]string{"a.target": target("A")}
	t.Run("user manager: system actions ignored", func(t *testing.T) {
		m, _ := testManager(t, files)
		m.opt.Scope = unit.User
		u := actionUnit(t, m, "a.target")
		for _, a := range []string{"poweroff", "poweroff-force", "reboot-immediate"} {
			m.emergencyAction(u, a, false, -1, "test")
		}
		if m.objective != "" || m.actionTarget != "" {
			t.Fatalf("objective %q, target %q", m.objective, m.actionTarget)
		}
		m.emergencyAction(u, "exit-force", false, 3, "test")
		if m.objective != "exit" || m.exitCode != 3 {
			t.Fatalf("exit-force: objective %q, exit code %d", m.objective, m.exitCode)
		}
	})
	t.Run("one target per event", func(t *testing.T) {
		m, _ := testManager(t, files)
		u := actionUnit(t, m, "a.target")
		m.emergencyAction(u, "exit", false, 2, "test")
		m.emergencyAction(u, "poweroff", false, -1, "test") // shutdown is already under way
		if m.actionTarget != "exit.target" || m.exitCode != 2 || m.objective != "" {
			t.Fatalf("target %q, exit code %d, objective %q", m.actionTarget, m.exitCode, m.objective)
		}
	})
	t.Run("force wins within the event", func(t *testing.T) {
		m, _ := testManager(t, files)
		u := actionUnit(t, m, "a.target")
		m.emergencyAction(u, "exit-force", false, 2, "test")
		m.emergencyAction(u, "reboot", false, -1, "test")     // ignored: the manager quits
		m.emergencyAction(u, "exit-force", false, 5, "test")  // the last -force wins, as in systemd
		m.emergencyAction(u, "exit-force", false, -1, "test") // no status: the code stays
		if m.objective != "exit" || m.exitCode != 5 || m.actionTarget != "" {
			t.Fatalf("objective %q, exit code %d, target %q", m.objective, m.exitCode, m.actionTarget)
		}
	})
	t.Run("quitting: nothing more", func(t *testing.T) {
		m, _ := testManager(t, files)
		u := actionUnit(t, m, "a.target")
		m.objective, m.shuttingDown = "poweroff", true
		m.emergencyAction(u, "exit-force", false, 9, "test")
		if m.objective != "poweroff" || m.ExitCode() != 0 {
			t.Fatalf("objective %q, exit code %d", m.objective, m.ExitCode())
		}
	})
	t.Run("stopping on SIGTERM: nothing", func(t *testing.T) {
		m, _ := testManager(t, files)
		u := actionUnit(t, m, "a.target")
		m.exitCode = 3 // flint exit 3 before the signal
		m.shuttingDown = true
		m.emergencyAction(u, "exit", false, 1, "test")
		m.emergencyAction(u, "exit-force", false, 8, "test")
		if m.actionTarget != "" || m.objective != "" || m.ExitCode() != 0 {
			t.Fatalf("target %q, objective %q, exit code %d", m.actionTarget, m.objective, m.ExitCode())
		}
	})
	t.Run("warn", func(t *testing.T) {
		m, rec := testManager(t, files)
		u := actionUnit(t, m, "a.target")
		m.emergencyAction(u, "exit-force", true, -1, "unit a.target failed")
		if !strings.Contains(rec.text(), "Exiting immediately: unit a.target failed") {
			t.Fatalf("console: %q", rec.text())
		}
	})
}

// TestExitTargetPath: an exit action goes through the built-in exit.target: shutdown.target
// stops what conflicts with it, systemd-exit.service's SuccessAction=exit-force sets the
// objective, and the final stop ends the manager with the exit code of the action.
func TestExitTargetPath(t *testing.T) {
	m, rec := testManager(t, map[string]string{
		"app.target":   "[Unit]\nDescription=App\n",
		"keep.target":  target("Keep"),
		"crash.target": target("Crash", "FailureAction=exit", "FailureActionExitStatus=3"),
	})
	m.enqueue("start", m.load("app.target"), "replace", nil)
	m.enqueue("start", m.load("keep.target"), "replace", nil)
	crash := actionUnit(t, m, "crash.target")
	m.unitActions(crash, Active, Failed)
	if m.actionTarget != "exit.target" || m.exitCode != 3 {
		t.Fatalf("target %q, exit code %d", m.actionTarget, m.exitCode)
	}
	m.afterEvent() // exit.target's jobs, then (its service done at once) the final stop
	select {
	case <-m.quit:
	default:
		t.Fatalf("manager did not quit; console:\n%s", rec.text())
	}
	if m.objective != "exit" {
		t.Errorf("objective %q", m.objective)
	}
	for _, n := range []string{"app.target", "keep.target", "exit.target", "shutdown.target"} {
		if st := m.units[n].activeState(); st != Inactive {
			t.Errorf("%s is %s", n, st)
		}
	}
	// app.target (Conflicts=shutdown.target) stops before exit.target is reached;
	// keep.target (DefaultDependencies=no) only in the final stop.
	text := rec.text()
	stopApp, reachExit := strings.Index(text, "Stopped target App."), strings.Index(text, "Reached target Exit the Container.")
	final, stopKeep := strings.Index(text, "Exiting: stopping all units."), strings.Index(text, "Stopped target Keep.")
	if stopApp < 0 || reachExit < stopApp || final < reachExit || stopKeep < final {
		t.Errorf("console:\n%s", text)
	}
	if m.exitCode != 3 {
		t.Errorf("exit code %d", m.exitCode)
	}
	got := strings.Join(rec.reached(), ",")
	if want := "System Shutdown,Late Shutdown Services,Exit the Container"; !strings.Contains(got, want) {
		t.Errorf("reached %s, want ...%s", got, want)
	}
}
