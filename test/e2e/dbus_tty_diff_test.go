package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/difftest"
)

// TestDBusRunPassedTTYMatchesSystemd: the terminal of a command systemd-run starts, under
// flint and under systemd 252 (booted with a bus of its own). --pipe on a terminal passes it
// as the service's stdin (StandardInputFileDescriptor=): 252 makes it the service's
// controlling terminal (TIOCSCTTY, as no other session has it: systemd-run runs in a session
// without one) and resets its line settings (setup_input), so a terminal left raw is in
// canonical mode with echo again. --pty hands the service a new pseudo-terminal (TTYPath=,
// StandardInput=tty), its controlling terminal. --scope runs the command itself, which keeps
// the terminal systemd-run had (nothing for the manager to do).
func TestDBusRunPassedTTYMatchesSystemd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("booting systemd needs root")
	}
	env := startSystemBus(t, nil, "/usr/bin/systemd-run", "/usr/bin/unshare").env // systemd-run --pipe talks to the manager through the bus
	units := writeUnits(t, map[string]string{})
	work := filepath.Dir(units) // carried into systemd's namespace at its own path
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sd := bootWithBus(ctx, t, work)
	defer sd.Stop()

	// run has systemd-run (entered into a namespace by enter, with env) run a service on a new raw
	// terminal; it returns what the service found (its tty_nr against the terminal's device
	// number) and the terminal's local modes afterwards.
	run := func(name string, enter, env []string, mode string) string {
		master, tty := openPTY(t)
		defer master.Close()
		defer tty.Close()
		tios, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		tios.Lflag &^= unix.ICANON | unix.ECHO
		if err := unix.IoctlSetTermios(int(tty.Fd()), unix.TCSETS, tios); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(tty.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(work, name+".out")
		script := fmt.Sprintf(`set -- $(cat /proc/self/stat); echo "$7 $(stat -L -c '%%t %%T' /proc/self/fd/0)" > %s`, out)
		argv := append(append([]string{}, enter...), "systemd-run", "--quiet", "-p", "DefaultDependencies=no", "--unit="+name)
		switch mode {
		case "pipe":
			argv = append(argv, "--wait", "--pipe")
		case "pty":
			argv = append(argv, "--wait", "--pty")
		case "scope":
			argv = append(argv, "--scope")
		}
		argv = append(argv, "/bin/sh", "-c", script)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = env
		cmd.Stdin, cmd.Stdout = tty, tty
		errf, err := os.Create(filepath.Join(work, name+".err"))
		if err != nil {
			t.Fatal(err)
		}
		defer errf.Close()
		cmd.Stderr = errf
		// systemd-run --pipe in a session without a controlling terminal (the terminal is
		// nobody's); the others on the terminal as a login shell has it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: mode != "pipe"}
		if err := cmd.Run(); err != nil {
			b, _ := os.ReadFile(errf.Name())
			t.Fatalf("%s: systemd-run: %v: %s", name, err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var nr uint64
		var inMaj, inMin uint32
		if _, err := fmt.Sscanf(string(b), "%d %x %x", &nr, &inMaj, &inMin); err != nil {
			t.Fatalf("%s: %q: %v", name, b, err)
		}
		// tty_nr: minor bits 0-7 and 20-31, major bits 8-15.
		ttyNr := func(maj, min uint32) uint64 { return uint64(maj)<<8 | uint64(min&0xff) | uint64(min&^0xff)<<12 }
		ctty := "no controlling terminal"
		switch {
		case nr == ttyNr(inMaj, inMin):
			ctty = "its stdin is its controlling terminal"
		case nr != 0:
			ctty = "another controlling terminal"
		}
		ours := inMaj == unix.Major(st.Rdev) && inMin == unix.Minor(st.Rdev)
		after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("stdin the caller's terminal %v; %s; canonical %v, echo %v", ours, ctty, after.Lflag&unix.ICANON != 0, after.Lflag&unix.ECHO != 0)
	}
	sdNS := []string{"nsenter", "-t", strconv.Itoa(sd.Pid), "-m", "-p", "-u"}
	for _, mode := range []string{"pipe", "pty", "scope"} {
		want := run("sd"+mode, sdNS, nil, mode)
		got := run("fl"+mode, bootedRun(), env, mode)
		if !strings.Contains(want, "its stdin is its controlling terminal") {
			t.Errorf("systemd 252 itself, %s: %s", mode, want)
		}
		if got != want {
			t.Errorf("%s: systemd %q, flint %q", mode, want, got)
		}
		t.Logf("%s: %s", mode, want)
	}
}

// bootWithBus boots systemd 252 in namespaces of its own (difftest.Boot) with a system bus
// daemon there (dbus.socket at /run/dbus/system_bus_socket of its private /run) and waits
// until systemd owns org.freedesktop.systemd1 on it: systemd-run --wait, --pipe and --scope
// with Controller= go through the bus. work is the boot's work directory (units in
// work/sdbus-units).
func bootWithBus(ctx context.Context, t *testing.T, work string) *difftest.Systemd {
	t.Helper()
	if _, err := os.Stat("/usr/bin/dbus-daemon"); err != nil {
		t.Skip("no dbus-daemon")
	}
	units := filepath.Join(work, "sdbus-units")
	conf := filepath.Join(work, "sdbus.conf")
	files := map[string]string{
		"dbus.socket":  "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=/run/dbus/system_bus_socket\n",
		"dbus.service": "[Unit]\nDefaultDependencies=no\nRequires=dbus.socket\n[Service]\nType=notify\nNotifyAccess=main\nExecStart=/usr/bin/dbus-daemon --config-file=" + conf + " --nofork --nopidfile\n",
	}
	if err := os.MkdirAll(units, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(units, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(conf, []byte(systemBusConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	sd, err := difftest.Boot(ctx, work, units) // not systemd's own units: nothing else starts
	if err != nil {
		t.Fatalf("boot systemd: %v", err)
	}
	if _, err := sd.Systemctl(ctx, "start", "dbus.service"); err != nil {
		sd.Stop()
		t.Fatal(err)
	}
	owned := func() bool {
		out, err := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(sd.Pid), "-m", "-p", "-u",
			"busctl", "--system", "status", "org.freedesktop.systemd1").CombinedOutput()
		return err == nil && strings.Contains(string(out), "PID=1\n")
	}
	if !waitFor(30*time.Second, owned) {
		sd.Stop()
		t.Fatal("systemd does not own org.freedesktop.systemd1 on its bus")
	}
	return sd
}
