package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDBusUserSession: dbus-user-session's packaged dbus.socket under `flint run --user` for
// an unprivileged user. Its ExecStartPost= runs systemd's own `systemctl --user
// set-environment`, which finds flint on $XDG_RUNTIME_DIR/systemd/private: the command
// succeeds, the environment has the bus address, the socket listens and the session bus
// starts on it; the user units with default dependencies start. systemd's systemctl --user
// then shows what flint's built-in one shows.
func TestDBusUserSession(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to switch to an unprivileged uid")
	}
	const packaged = "/usr/lib/systemd/user/dbus.socket"
	for _, p := range []string{packaged, "/usr/lib/systemd/user/dbus.service", systemdSystemctl, "/usr/bin/dbus-daemon"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s is needed (packages dbus-user-session, systemd): %v", p, err)
		}
	}
	const uid, gid = 65534, 65534
	base := t.TempDir()
	home := filepath.Join(base, "home")
	runtime := filepath.Join(base, "run")
	for _, d := range []string{home, runtime} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chown(d, uid, gid)
	}
	flint := copyExecutable(t, flintBin)
	openUp(flint)
	openUp(base)
	units := filepath.Join(home, ".config", "systemd", "user")
	wants := filepath.Join(units, "default.target.wants")
	os.MkdirAll(wants, 0o755)
	os.MkdirAll(filepath.Join(units, "sockets.target.wants"), 0o755)
	for _, n := range []string{"dbus.socket", "dbus.service"} {
		if err := os.Symlink("/usr/lib/systemd/user/"+n, filepath.Join(units, n)); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink(packaged, filepath.Join(units, "sockets.target.wants", "dbus.socket"))
	// A unit with default dependencies: after sockets.target, so after dbus.socket.
	os.WriteFile(filepath.Join(units, "later.service"), []byte("[Unit]\nDescription=Later\n[Service]\nExecStart=/bin/sleep 1000\n"), 0o644)
	os.Symlink(filepath.Join(units, "later.service"), filepath.Join(wants, "later.service"))
	os.WriteFile(filepath.Join(units, "plain.service"), []byte("[Unit]\nDescription=Plain\n[Service]\nExecStart=/bin/sleep 1000\n"), 0o644)
	filepath.Walk(home, func(p string, _ os.FileInfo, _ error) error { os.Lchown(p, uid, gid); return nil })

	env := []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + runtime, "PATH=/usr/bin:/bin", "USER=nobody", "SYSTEMD_UNIT_PATH=" + units}
	asUser := func(bin string, args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}}
		return cmd
	}
	output := func(cmd *exec.Cmd) (string, int) {
		var b bytes.Buffer
		cmd.Stdout, cmd.Stderr = &b, &b
		cmd.Run()
		return b.String(), cmd.ProcessState.ExitCode()
	}
	startUserManager(t, asUser(flint, "run", "--user"))
	if !waitFor(30*time.Second, func() bool {
		o, _ := output(asUser(flint, "--user", "is-active", "later.service"))
		return o == "active\n"
	}) {
		st, _ := output(asUser(flint, "--user", "status", "dbus.socket", "later.service"))
		t.Fatalf("later.service did not start:\n%s", st)
	}
	if got, _ := output(asUser(flint, "--user", "show", "dbus.socket", "-p", "ActiveState,SubState,ExecStartPost")); !strings.Contains(got, "ActiveState=active\nSubState=listening\n") ||
		!strings.Contains(got, "argv[]=/bin/systemctl --user set-environment DBUS_SESSION_BUS_ADDRESS=unix:path="+runtime+"/bus ;") ||
		!strings.Contains(got, "code=exited ; status=0 }") {
		t.Errorf("dbus.socket:\n%s", got)
	}
	if got, _ := output(asUser(flint, "--user", "show-environment")); !strings.Contains(got, "DBUS_SESSION_BUS_ADDRESS=unix:path="+runtime+"/bus\n") {
		t.Errorf("show-environment:\n%s", got)
	}
	// The session bus starts on the socket (dbus.service, Type=notify).
	if got, code := output(asUser("/usr/bin/busctl", "--user", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId")); code != 0 || !strings.HasPrefix(got, "s ") {
		t.Errorf("busctl --user call GetId: exit %d\n%s", code, got)
	}
	if got, _ := output(asUser(flint, "--user", "is-active", "dbus.service")); got != "active\n" {
		t.Errorf("dbus.service: %s", got)
	}
	// Once the session bus runs, flint owns org.freedesktop.systemd1 on it.
	if !waitFor(30*time.Second, func() bool {
		got, code := output(asUser("/usr/bin/busctl", "--user", "tree", "org.freedesktop.systemd1"))
		return code == 0 && strings.Contains(got, "/org/freedesktop/systemd1/unit/later_2eservice")
	}) {
		got, code := output(asUser("/usr/bin/busctl", "--user", "tree", "org.freedesktop.systemd1"))
		t.Errorf("busctl --user tree org.freedesktop.systemd1: exit %d\n%s", code, got)
	}

	// A scope of the user manager (systemd-run --user --scope).
	if got, code := output(asUser("/usr/bin/systemd-run", "--user", "--scope", "--unit=us1", "/bin/sh", "-c", "echo scoped")); code != 0 ||
		!strings.Contains(got, "Running scope as unit: us1.scope\n") || !strings.Contains(got, "scoped\n") {
		t.Errorf("systemd-run --user --scope: exit %d\n%s", code, got)
	}

	for _, args := range [][]string{
		{"start", "plain"},
		{"is-active", "plain", "later", "dbus.socket", "nope"},
		{"status", "plain", "-n", "0"},
		{"status", "dbus.socket", "-n", "0"},
		{"show", "plain", "-p", "Id,ActiveState,SubState,MainPID,Description,UnitFileState"},
		{"list-units", "--type=service,socket"},
		{"stop", "plain"},
		{"start", "nope"},
		{"enable", "plain"},
		{"daemon-reload"},
		{"is-enabled", "plain"},
	} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			want, wantCode := output(asUser(systemdSystemctl, append([]string{"--user", "--no-pager"}, args...)...))
			got, gotCode := output(asUser(flint, append([]string{"--user"}, args...)...))
			// The hint of list-units names the program.
			want = strings.ReplaceAll(want, "'systemctl list-unit-files'", "'flint list-unit-files'")
			want, got = maskSystemctl(args[0], want), maskSystemctl(args[0], got)
			if want != got || wantCode != gotCode {
				t.Errorf("systemd's systemctl --user %s: exit %d\n%s\nflint: exit %d\n%s", strings.Join(args, " "), wantCode, want, gotCode, got)
			}
		})
	}
}
