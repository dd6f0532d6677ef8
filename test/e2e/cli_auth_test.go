package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const nobodyUID = 65534

// flintAsNobody runs a copy of the flint binary (nobodyFlint) as uid/gid 65534 without
// supplementary groups.
func flintAsNobody(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	return flintAs(t, bin, &syscall.Credential{Uid: nobodyUID, Gid: nobodyUID, Groups: []uint32{}}, args...)
}

// flintAs runs bin with args under the credentials cred and returns its combined output and
// exit code.
func flintAs(t *testing.T, bin string, cred *syscall.Credential, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("flint %s as uid %d: %v", strings.Join(args, " "), cred.Uid, err)
		}
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// nobodyFlint is a copy of the flint binary that every uid may run.
func nobodyFlint(t *testing.T) string {
	t.Helper()
	bin := copyExecutable(t, flintBin)
	openUp(bin)
	return bin
}

// managerForOtherUIDs starts a manager on cliUnits with ok.service running, its control
// socket reachable by every uid, for tests that run clients as other uids (which needs root:
// the test is skipped otherwise).
func managerForOtherUIDs(t *testing.T) (*manager, ctl) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	units, _ := cliUnits(t)
	m := startManager(t, units)
	c := on(t, m)
	c.start("ok.service")
	reachable(t, filepath.Dir(m.control))
	return m, c
}

// reachable makes dir and its parent searchable by every uid.
func reachable(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuthorisation: SO_PEERCRED decides. Another uid may read state (status, show,
// list-units, list-sockets, is-active), not log lines (TestLogAccess), and gets "permission
// denied" (exit 4) for anything that changes state, which then stays unchanged; root may do
// everything.
func TestAuthorisation(t *testing.T) {
	m, c := managerForOtherUIDs(t)
	c.start("echo.socket")
	pid := c.prop("ok.service", "MainPID")
	bin := nobodyFlint(t)
	ctl := []string{"--control", m.control}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"status", "ok.service"}, 0, "Active: active (running)"},
		{[]string{"show", "ok.service", "-p", "MainPID"}, 0, "MainPID=" + pid + "\n"},
		{[]string{"show", "ok.service", "-p", "ActiveState"}, 0, "ActiveState=active\n"},
		{[]string{"list-units", "--type=service"}, 0, "ok.service"},
		{[]string{"list-sockets"}, 0, "127.0.0.1:21530"},
		{[]string{"is-active", "ok.service"}, 0, "active"},
		{[]string{"list-dependencies"}, 0, "default.target"},
		{[]string{"logs", "-u", "ok.service"}, 1, "No journal files were opened due to insufficient permissions."},
		{[]string{"stop", "ok.service"}, 4, "permission denied"},
		{[]string{"start", "plain.service"}, 4, "permission denied"},
		{[]string{"restart", "ok.service"}, 4, "permission denied"},
		{[]string{"kill", "-s", "KILL", "ok.service"}, 4, "permission denied"},
		{[]string{"daemon-reload"}, 4, "permission denied"},
		{[]string{"reset-failed"}, 4, "permission denied"},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			out, code := flintAsNobody(t, bin, append(ctl, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("as nobody: flint %s: exit %d, want %d and %q in:\n%s", strings.Join(tc.args, " "), code, tc.code, tc.want, out)
			}
		})
	}
	if got := c.props("ok.service", "ActiveState", "MainPID"); got["ActiveState"] != "active" || got["MainPID"] != pid {
		t.Errorf("ok.service after denied requests: %v, want active with MainPID %s", got, pid)
	}
	if st := c.prop("plain.service", "ActiveState"); st != "inactive" {
		t.Errorf("plain.service after a denied start: %s", st)
	}
	// Root may.
	if out, code := c.flint("restart", "ok.service"); code != 0 {
		t.Errorf("as root: restart: exit %d %s", code, out)
	}
}

// rawRequest writes raw bytes to the control socket and returns the first reply line.
func rawRequest(t *testing.T, path string, raw []byte) map[string]any {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		c.Write(raw)
		c.(*net.UnixConn).CloseWrite()
	}()
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		t.Fatalf("no reply to %.40q: %v", raw, err)
	}
	var r map[string]any
	if err := json.Unmarshal(line, &r); err != nil {
		t.Fatalf("reply %q: %v", line, err)
	}
	return r
}

// TestMalformedRequests: garbage, oversized, unknown and mistyped requests get an error reply;
// silent clients do not block others; the manager keeps serving.
func TestMalformedRequests(t *testing.T) {
	units, _ := cliUnits(t)
	m := startManager(t, units)
	c := on(t, m)
	c.start("ok.service")
	// Silent clients hold connections open while the rest goes on.
	var silent []net.Conn
	for i := 0; i < 20; i++ {
		s, err := net.Dial("unix", m.control)
		if err != nil {
			t.Fatal(err)
		}
		silent = append(silent, s)
	}
	defer func() {
		for _, s := range silent {
			s.Close()
		}
	}()
	for _, tc := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"garbage", []byte("\x00\x01hello\xff\n"), "bad request"},
		{"not_json", []byte("start ok.service\n"), "bad request"},
		{"mistyped", []byte(`{"verb":"start","units":"ok.service"}` + "\n"), "bad request"},
		{"no_verb", []byte(`{}` + "\n"), "bad request: no verb"},
		{"unknown_verb", []byte(`{"verb":"frobnicate"}` + "\n"), `unknown verb "frobnicate"`},
		{"oversized", append(bytes.Repeat([]byte("a"), 3<<20), '\n'), "larger than"},
		{"huge_signal", []byte(`{"verb":"kill","units":["ok.service"],"signal":123456}` + "\n"), "Invalid signal"},
		{"bad_kill_whom", []byte(`{"verb":"kill","units":["ok.service"],"kill_whom":"everyone"}` + "\n"), "Invalid kill-whom"},
		{"no_units_for_start", []byte(`{"verb":"start"}` + "\n"), "Too few arguments."},
		{"negative_lines", []byte(`{"verb":"logs","lines":-7}` + "\n"), "bad request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rawRequest(t, m.control, tc.raw)
			if msg, _ := r["error"].(string); !strings.Contains(msg, tc.want) || r["done"] != true {
				t.Errorf("reply %v, want an error with %q", r, tc.want)
			}
		})
	}
	// Many concurrent bad and good requests.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i%2 == 0 {
				if cn, err := net.Dial("unix", m.control); err == nil {
					cn.Write([]byte("{{{{\n"))
					cn.Close()
				}
				return
			}
			out, code := runFlint(t, "--control", m.control, "is-active", "ok.service")
			if code != 0 || out != "active\n" {
				t.Errorf("is-active among bad requests: exit %d %q", code, out)
			}
		}(i)
	}
	wg.Wait()
	if m.exited() {
		t.Fatalf("the manager died:\n%s", m.out.String())
	}
	if got := c.prop("ok.service", "ActiveState"); got != "active" {
		t.Errorf("ok.service: %s", got)
	}
}
