package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bootedRun is a command line that runs argv in a mount namespace whose /run says systemd
// is booted and has no /run/systemd/private: systemd-run then goes through the bus.
func bootedRun(argv ...string) []string {
	return append([]string{"unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
		`mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && exec "$@"`, "sh"}, argv...)
}

// TestDBusRunPipe: systemd-run --pipe and --pty through the bus. --pipe passes its stdin,
// stdout and stderr (fds, over the bus, to flint's bus connection) for the service's; the
// service's exit status is systemd-run's. --pty runs the command on a pseudo-terminal that
// systemd-run relays.
func TestDBusRunPipe(t *testing.T) {
	env := startSystemBus(t, nil, "/usr/bin/systemd-run", "/usr/bin/unshare").env
	run := func(stdin string, argv ...string) (string, string, int) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
		defer timer.Stop()
		start := time.Now()
		cmd.Run()
		t.Logf("%s: %v", argv, time.Since(start))
		return out.String(), errb.String(), cmd.ProcessState.ExitCode()
	}

	out, errs, code := run("piped through\n", bootedRun("systemd-run", "--quiet", "--pipe", "--unit=piped", "/bin/sh", "-c", "cat; echo x >&2")...)
	if code != 0 || out != "piped through\n" || !strings.Contains(errs, "x\n") {
		t.Errorf("systemd-run --pipe: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	out, errs, code = run("", bootedRun("systemd-run", "--quiet", "--wait", "--pipe", "--unit=failing", "/bin/sh", "-c", "echo out; exit 7")...)
	if code != 7 || out != "out\n" {
		t.Errorf("systemd-run --wait --pipe: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	if _, err := os.Stat("/usr/bin/script"); err != nil {
		t.Skip("no /usr/bin/script for a terminal")
	}
	// script gives systemd-run a terminal; its output is the terminal's (\r\n).
	line := `unshare --mount --propagation private /bin/sh -c 'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && exec "$@"' ` +
		`sh systemd-run --quiet --pty --unit=tty /usr/bin/tty`
	out, errs, code = run("", "script", "-q", "-e", "-c", line, "/dev/null")
	if code != 0 || !strings.Contains(out, "/dev/pts/") {
		t.Errorf("systemd-run --pty tty: exit %d, output %q, stderr %q", code, out, errs)
	}
}

// TestDBusScopeSlice: a scope made through the bus is in the slice it names (Slice=), and
// KillMode=mixed stops it with SIGKILL at once: its process ignores SIGTERM, and with
// TimeoutStopSec=infinity only the SIGKILL ends the stop.
func TestDBusScopeSlice(t *testing.T) {
	b := startSystemBus(t, nil, "/usr/bin/systemd-run", "/usr/bin/unshare")
	m, env := b.m, b.env
	argv := bootedRun("systemd-run", "--scope", "--unit=sc", "--slice=flinttest.slice", "-p", "KillMode=mixed",
		"-p", "TimeoutStopSec=infinity", "/bin/sh", "-c", `trap "" TERM; /bin/sleep 1000; :`)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	// Output to a file: a pipe would stay open in the scope's processes.
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() {
		m.flint("kill", "-s", "KILL", "sc.scope")
		cmd.Process.Kill()
		<-done
	}()
	if !waitFor(30*time.Second, func() bool { out, _ := m.flint("is-active", "sc.scope"); return out == "active\n" }) {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("sc.scope is not active:\n%s", b)
	}
	if got, code := m.flint("show", "sc.scope", "-p", "Slice,KillMode"); code != 0 || !strings.Contains(got, "Slice=flinttest.slice\n") {
		t.Errorf("show sc.scope: exit %d\n%s", code, got)
	}
	stopped := make(chan string, 1)
	go func() {
		got, code := m.flint("stop", "sc.scope")
		stopped <- fmt.Sprintf("exit %d %s", code, got)
	}()
	select {
	case got := <-stopped:
		if got != "exit 0 " {
			t.Errorf("stop sc.scope: %s", got)
		}
	case <-time.After(time.Minute):
		t.Fatal("KillMode=mixed: the stop did not kill the scope's processes")
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the scope's process outlives the stop")
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("the scope's process ended by %v, want SIGKILL", cmd.ProcessState)
	}
}
