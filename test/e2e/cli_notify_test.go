package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSystemdNotifyMultiCall: flint under the name systemd-notify, called from the shell
// scripts of Type=notify services that flint runs: --ready and --status= (sent as the
// script's shell, the main process, so NotifyAccess=main takes them; and without --no-block
// the barrier returns once the manager has read them), --pid= naming another main process,
// VARIABLE=VALUE arguments, and --booted.
func TestSystemdNotifyMultiCall(t *testing.T) {
	bin := t.TempDir()
	notify := filepath.Join(bin, "systemd-notify")
	if err := os.Symlink(flintBin, notify); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"script.service": unitFile("Service", "Type=notify\nTimeoutStartSec=20\n"+
			"ExecStart=/bin/sh -c '"+notify+" --status=\"Warming up\"; sleep 0.2; "+notify+" --ready --status=\"Up and running\" && echo sent > "+dir+"/script; exec sleep 1000'"),
		"noblock.service": unitFile("Service", "Type=notify\nTimeoutStartSec=20\n"+
			"ExecStart=/bin/sh -c '"+notify+" --no-block READY=1 STATUS=first STATUS=second; exec sleep 1000'"),
		// The script forks the daemon and names it the main process, as a forking script would.
		"mainpid.service": unitFile("Service", "Type=notify\nNotifyAccess=all\nTimeoutStartSec=20\n"+
			"ExecStart=/bin/sh -c 'sleep 1000 & "+notify+" --ready --pid=$$! ; wait'"),
	})
	m := startManager(t, units)
	c := on(t, m)

	t.Run("ready_and_status", func(t *testing.T) {
		c.start("script.service")
		if p := c.props("script.service", "ActiveState", "SubState", "StatusText"); p["ActiveState"] != "active" || p["StatusText"] != "Up and running" {
			t.Errorf("after systemd-notify --ready --status=...: %v", p)
		}
		// Without --no-block systemd-notify returns 0 only after the barrier, which the
		// manager answers after the start job is done: the script writes its file then.
		var b []byte
		var err error
		if !waitFor(10*time.Second, func() bool {
			b, err = os.ReadFile(filepath.Join(dir, "script"))
			return err == nil && string(b) == "sent\n"
		}) {
			t.Errorf("systemd-notify --ready did not succeed in the script: %q %v", b, err)
		}
	})
	t.Run("variables_no_block", func(t *testing.T) {
		c.start("noblock.service")
		if p := c.props("noblock.service", "ActiveState", "StatusText"); p["ActiveState"] != "active" || p["StatusText"] != "second" {
			t.Errorf("after systemd-notify --no-block READY=1 STATUS=first STATUS=second: %v", p)
		}
	})
	t.Run("pid", func(t *testing.T) {
		c.start("mainpid.service")
		p := c.props("mainpid.service", "ActiveState", "MainPID")
		pid, _ := strconv.Atoi(p["MainPID"])
		if p["ActiveState"] != "active" || pid <= 0 {
			t.Fatalf("after systemd-notify --ready --pid=: %v", p)
		}
		if comm, _ := os.ReadFile("/proc/" + p["MainPID"] + "/comm"); strings.TrimSpace(string(comm)) != "sleep" {
			t.Errorf("MainPID %d is %q, not the sleep the script named", pid, comm)
		}
	})
	t.Run("no_socket", func(t *testing.T) {
		cmd := exec.Command(notify, "--ready")
		cmd.Env = filterEnv(os.Environ(), "NOTIFY_SOCKET")
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 1 || string(out) != "No status data could be sent: $NOTIFY_SOCKET was not set\n" {
			t.Errorf("systemd-notify --ready outside a service: exit %d %q", cmd.ProcessState.ExitCode(), out)
		}
		cmd = exec.Command(notify)
		out, _ = cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 1 || !strings.HasPrefix(string(out), "systemd-notify [OPTIONS...] [VARIABLE=VALUE...]\n") {
			t.Errorf("systemd-notify without arguments: exit %d %q", cmd.ProcessState.ExitCode(), out)
		}
	})
	t.Run("booted", func(t *testing.T) {
		// sd_booted(): /run/systemd/system/ is a directory. Looked at in a private mount
		// namespace with a /run of its own, where it is made, and on this machine's /run.
		script := "mount -t tmpfs tmpfs /run && " + notify + " --booted; echo before=$?; mkdir -p /run/systemd/system && " + notify + " --booted; echo after=$?"
		out, err := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script).CombinedOutput()
		if err != nil || string(out) != "before=1\nafter=0\n" {
			t.Errorf("systemd-notify --booted: %v %q", err, out)
		}
	})
}

func filterEnv(env []string, key string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, key+"=") {
			out = append(out, e)
		}
	}
	return out
}
