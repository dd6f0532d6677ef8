package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// privateRun starts a process that holds a mount namespace of its own with an empty /run
// (tmpfs), for managers and commands to enter (nsenter -m) while the test runs and after a
// manager there has exited. It returns the holder's pid; the holder is killed at the end.
func privateRun(t *testing.T) int {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a private mount namespace needs root")
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
		"mount -t tmpfs -o mode=0755 tmpfs /run && echo ready && exec sleep 600")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("namespace holder: %q %v", line, err)
	}
	return cmd.Process.Pid
}

// inNS runs a shell command in the mount namespace of holder and returns its output.
func inNS(t *testing.T, holder int, script string) string {
	t.Helper()
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(holder), "-m", "/bin/sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", script, err, out)
	}
	return string(out)
}

// lookRun says whether /run/systemd/system and /run/systemd exist in holder's namespace.
const lookRun = `for d in /run/systemd/system /run/systemd; do if [ -e $d ]; then echo $d there; else echo $d gone; fi; done`

// TestSdBooted: the system manager creates /run/systemd/system (sd_booted() and
// `systemd-notify --booted` are true in its services) and removes what it created at its
// orderly exit; --no-booted leaves /run alone; a directory that was there stays; one left by
// a manager killed with SIGKILL is removed by the next manager's orderly exit. Each manager
// runs in a private mount namespace with its own /run.
func TestSdBooted(t *testing.T) {
	notify, err := exec.LookPath("systemd-notify")
	if err != nil || filepath.Base(mustEval(t, notify)) == "flint" {
		t.Fatalf("systemd's own systemd-notify is needed (package systemd): %v", err)
	}
	state := t.TempDir()
	// flint under the name systemd-notify answers as systemd's does.
	flintNotify := filepath.Join(state, "systemd-notify")
	if err := os.Symlink(flintBin, flintNotify); err != nil {
		t.Fatal(err)
	}
	units := writeUnits(t, map[string]string{
		"booted.service": unitFile("Service", "Type=oneshot\nRemainAfterExit=yes\n"+
			"ExecStart=/bin/sh -c '"+notify+" --booted; s=$$?; "+flintNotify+" --booted; echo $$s $$? >"+state+"/booted'"),
	})
	wantedBy(t, units, "multi-user.target", "booted.service")
	// booted is the exit status of systemd-notify --booted in the service, the same for
	// systemd's and flint's.
	booted := func(t *testing.T, m *manager) string {
		t.Helper()
		on(t, m).waitState("booted.service", "active")
		got := strings.Fields(readWait(t, filepath.Join(state, "booted")))
		if len(got) != 2 || got[0] != got[1] {
			t.Errorf("systemd-notify --booted: systemd's and flint's exit statuses %q", got)
			return ""
		}
		return got[0]
	}
	launch := func(t *testing.T, holder int, sdBooted bool, control string) *manager {
		os.Remove(filepath.Join(state, "booted"))
		return launchManager(t, units, launchOptions{booted: sdBooted, control: control, stopWait: 10 * time.Second,
			wrap: []string{"nsenter", "-t", strconv.Itoa(holder), "-m"}})
	}

	t.Run("default", func(t *testing.T) {
		holder := privateRun(t)
		m := launch(t, holder, true, "")
		if got := booted(t, m); got != "0" {
			t.Errorf("systemd-notify --booted in a service: exit %s, want 0", got)
		}
		if got := inNS(t, holder, "stat -c '%F %a' /run/systemd/system"); got != "directory 755\n" {
			t.Errorf("/run/systemd/system: %q", got)
		}
		if code := m.terminate(); code != 0 {
			t.Errorf("flint run exited %d", code)
		}
		if got := inNS(t, holder, lookRun); got != "/run/systemd/system gone\n/run/systemd gone\n" {
			t.Errorf("after the exit:\n%s", got)
		}
	})
	t.Run("no-booted", func(t *testing.T) {
		holder := privateRun(t)
		m := launch(t, holder, false, "")
		if got := booted(t, m); got != "1" {
			t.Errorf("systemd-notify --booted in a service: exit %s, want 1", got)
		}
		if got := inNS(t, holder, lookRun); got != "/run/systemd/system gone\n/run/systemd gone\n" {
			t.Errorf("while running with --no-booted:\n%s", got)
		}
		m.terminate()
	})
	t.Run("there before", func(t *testing.T) {
		holder := privateRun(t)
		inNS(t, holder, "mkdir -p /run/systemd/system")
		m := launch(t, holder, true, "")
		if got := booted(t, m); got != "0" {
			t.Errorf("systemd-notify --booted in a service: exit %s, want 0", got)
		}
		m.terminate()
		if got := inNS(t, holder, lookRun); got != "/run/systemd/system there\n/run/systemd there\n" {
			t.Errorf("a directory flint did not create is gone after its exit:\n%s", got)
		}
	})
	t.Run("killed", func(t *testing.T) {
		holder := privateRun(t)
		control := filepath.Join(t.TempDir(), "control.sock")
		m := launch(t, holder, true, control)
		booted(t, m)
		if code := m.stopWith(syscall.SIGKILL); code != -1 {
			t.Errorf("flint run exit code %d after SIGKILL", code)
		}
		if got := inNS(t, holder, lookRun); got != "/run/systemd/system there\n/run/systemd there\n" {
			t.Errorf("after SIGKILL:\n%s", got)
		}
		// The next manager on the same runtime directory knows them as its own.
		m = launch(t, holder, true, control)
		booted(t, m)
		m.terminate()
		if got := inNS(t, holder, lookRun); got != "/run/systemd/system gone\n/run/systemd gone\n" {
			t.Errorf("after the next manager's exit:\n%s", got)
		}
	})
}

// mustEval is path with its symlinks resolved.
func mustEval(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
