package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startUserManager starts run (a `flint run --user` with its environment and credentials
// set) in a process group of its own and returns its output. When the test ends it gets
// SIGTERM (SIGKILL after 15s), and its output is logged if the test failed.
func startUserManager(t *testing.T, run *exec.Cmd) *syncBuffer {
	t.Helper()
	out := &syncBuffer{}
	run.Stdout, run.Stderr = out, out
	if run.SysProcAttr == nil {
		run.SysProcAttr = &syscall.SysProcAttr{}
	}
	run.SysProcAttr.Setpgid = true
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run.Wait() }()
	t.Cleanup(func() {
		run.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			run.Process.Kill()
		}
		if t.Failed() {
			t.Logf("flint run --user output:\n%s", out.String())
		}
	})
	return out
}

// TestUserManager runs `flint run --user` as an unprivileged uid (nobody): the default control
// socket under $XDG_RUNTIME_DIR, socket activation of the seed example, status, log lines for
// the user and root only, and stop.
func TestUserManager(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to switch to an unprivileged uid")
	}
	const uid, gid = 65534, 65534
	base := t.TempDir()
	os.Chmod(base, 0o755)
	home := filepath.Join(base, "home")
	runtime := filepath.Join(base, "run")
	for _, d := range []string{home, runtime} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chown(d, uid, gid)
	}
	server := copyExecutable(t, foobardC)
	flint := copyExecutable(t, flintBin)
	openUp(server)
	openUp(flint)
	openUp(base)
	units := filepath.Join(home, ".config", "systemd", "user")
	os.MkdirAll(units, 0o755)
	sock := filepath.Join(runtime, "foobar.sk")
	os.WriteFile(filepath.Join(units, "foobar.socket"), []byte("[Unit]\nDescription=foobar socket\n[Socket]\nListenStream=%t/foobar.sk\n[Install]\nWantedBy=sockets.target\n"), 0o644)
	os.WriteFile(filepath.Join(units, "foobar.service"), []byte("[Unit]\nDescription=foobar echo daemon\n[Service]\nExecStart="+server+"\n"), 0o644)
	filepath.Walk(home, func(p string, _ os.FileInfo, _ error) error { os.Chown(p, uid, gid); return nil })

	// SYSTEMD_UNIT_PATH (no trailing ':') keeps the machine's own user units (gpg-agent, dbus,
	// ...) out of this test; %t and the default control socket still come from the user scope.
	env := []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + runtime, "PATH=/usr/bin:/bin", "USER=nobody", "SYSTEMD_UNIT_PATH=" + units}
	asUser := func(args ...string) *exec.Cmd {
		cmd := exec.Command(flint, args...)
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}}
		return cmd
	}
	if out, err := asUser("--user", "enable", "foobar.socket").CombinedOutput(); err != nil {
		t.Fatalf("enable --user: %v\n%s", err, out)
	}
	out := startUserManager(t, asUser("run", "--user"))
	control := filepath.Join(runtime, "flint", "control.sock")
	if !waitFor(10*time.Second, func() bool { return isSocket(control) && isSocket(sock) }) {
		t.Fatalf("no control socket %s or %s:\n%s", control, sock, out.String())
	}
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid {
		t.Errorf("socket owned by uid %d, want %d", st.Uid, uid)
	}
	if got, err := echo(sock, "hello user"); err != nil || got != "hello user" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	var st bytes.Buffer
	status := asUser("--user", "status", "foobar.service")
	status.Stdout, status.Stderr = &st, &st
	status.Run()
	if !strings.Contains(st.String(), "active (running)") || !strings.Contains(st.String(), "TriggeredBy: ● foobar.socket") {
		t.Errorf("status --user:\n%s", st.String())
	}
	// Its log lines go to the user and root only: another uid is refused even in group adm.
	served := "foobard: pid "
	if !waitFor(10*time.Second, func() bool {
		out, _ := asUser("--user", "logs", "-u", "foobar.service").CombinedOutput()
		return strings.Contains(string(out), served)
	}) {
		t.Error("the user does not see its service's log lines")
	}
	if out, code := runFlint(t, "--control", control, "logs", "-u", "foobar.service"); code != 0 || !strings.Contains(out, served) {
		t.Errorf("root: logs of the user manager: exit %d\n%s", code, out)
	}
	os.Chmod(runtime, 0o711)
	other := &syscall.Credential{Uid: 4242, Gid: 4242, Groups: []uint32{groupID(t, "adm")}}
	want := "Hint: You are currently not seeing messages from other users.\n" +
		"      Only root and uid 65534 can see this user manager's messages.\n" +
		"      Pass -q to turn off this notice.\n" + logDenied
	if out, code := flintAs(t, flint, other, "--control", control, "logs", "-u", "foobar.service"); code != 1 || out != want {
		t.Errorf("another uid in group adm: logs of the user manager: exit %d\n%s", code, out)
	}
	if pids := pidsOf(server); len(pids) != 1 {
		t.Fatalf("foobard pids %v", pids)
	} else if data, err := os.ReadFile("/proc/" + strconv.Itoa(pids[0]) + "/status"); err == nil && !strings.Contains(string(data), "Uid:\t65534") {
		t.Errorf("service does not run as the user:\n%s", data)
	}
}

// openUp makes p's directory and its parents up to /tmp traversable by other uids (t.TempDir
// creates them 0700).
func openUp(p string) {
	for d := filepath.Dir(p); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
}
