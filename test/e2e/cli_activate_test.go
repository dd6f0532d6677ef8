package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The differential test of `flint activate` against systemd-socket-activate: the same command
// lines, run by both, start testdata/sockdump, which reports the environment and the fds it
// got; both must hand over the same fds (number, family, type, address, flags), the same
// environment (LISTEN_FDS, LISTEN_PID = the program's pid, LISTEN_FDNAMES, -E variables, and
// nothing else of ours), and log the same lines.

const systemdSocketActivate = "/usr/bin/systemd-socket-activate"

// sockdump is testdata/sockdump, built once.
func sockdump(t *testing.T) string {
	t.Helper()
	return buildOnce(t, "sockdump", "go", "build", "-o", "{}", "./test/e2e/testdata/sockdump")
}

type dumpFD struct {
	Kind      string `json:"kind"`
	Family    int    `json:"family,omitempty"`
	Type      int    `json:"type,omitempty"`
	Local     string `json:"local,omitempty"`
	Listening bool   `json:"listening,omitempty"`
	NonBlock  bool   `json:"nonblock"`
	CloExec   bool   `json:"cloexec"`
}

type dumpReport struct {
	PID int               `json:"pid"`
	Env map[string]string `json:"env"`
	FDs map[int]dumpFD    `json:"fds"`
}

// activation is one run of an activator.
type activation struct {
	report dumpReport
	log    []string // the activator's log lines, normalised
	reply  string   // what the client read
	code   int      // exit code, -1 if it was still running (accept mode)
}

type activateCase struct {
	name    string
	args    []string // {PORT}, {DIR} are replaced
	trigger string   // tcp, udp, unix, unixpacket
	target  string   // address to trigger: {PORT} or {DIR}/x.sk
	exits   bool     // the activator exits with the program (not accept mode)
}

// runActivation runs activator (argv prefix) with c's arguments on port and dir, triggers it
// and returns what the program reported.
func runActivation(t *testing.T, activator []string, c activateCase, port int, dir string) activation {
	t.Helper()
	subst := func(s string) string {
		s = strings.ReplaceAll(s, "{PORT}", strconv.Itoa(port))
		return strings.ReplaceAll(s, "{DIR}", dir)
	}
	out := filepath.Join(dir, "dump.json")
	// SOCKDUMP_OUT reaches the program through -E (passthrough from our environment).
	args := append(append([]string(nil), activator...), "-E", "SOCKDUMP_OUT")
	for _, a := range c.args {
		if a == "{SELF}" { // the activator again, nested
			args = append(args, activator...)
			continue
		}
		args = append(args, subst(a))
	}
	args = append(args, sockdump(t))
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
		"TERM=dumb", "SOCKDUMP_OUT=" + out, "NOT_PASSED=1", "PASSTHROUGH=from-env"}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() {
		select {
		case <-done:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}()
	target := subst(c.target)
	network, address := c.trigger, target
	if c.trigger == "tcp" || c.trigger == "udp" {
		address = "127.0.0.1:" + target
	}
	var conn net.Conn
	ok := waitFor(10*time.Second, func() bool {
		if !strings.Contains(stderr.String(), "Listening on") {
			return false
		}
		var err error
		conn, err = net.Dial(network, address)
		return err == nil
	})
	if !ok {
		t.Fatalf("%s: nothing listens on %s %s:\n%s", args[0], network, address, stderr.String())
	}
	defer conn.Close()
	if c.trigger == "udp" {
		conn.Write([]byte("ping"))
	}
	a := activation{code: -1}
	if !waitFor(10*time.Second, func() bool { _, err := os.Stat(out); return err == nil }) {
		t.Fatalf("%s: the program did not report within 10s:\n%s", args[0], stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &a.report); err != nil {
		t.Fatalf("report: %v\n%s", err, data)
	}
	if c.trigger != "udp" {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, _ := bufio.NewReader(conn).ReadString('\n')
		a.reply = line
	}
	if c.exits {
		select {
		case <-done:
			a.code = cmd.ProcessState.ExitCode()
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not exit with its program:\n%s", args[0], stderr.String())
		}
	} else {
		// Let the activator log the child's exit, then stop it.
		waitFor(5*time.Second, func() bool {
			return strings.Contains(stderr.String(), "died with code") && strings.Count(stderr.String(), "Spawned") == 1
		})
	}
	log := strings.ReplaceAll(stderr.String(), strings.Join(activator, " "), "ACTIVATOR")
	log = strings.ReplaceAll(log, activator[0], "ACTIVATOR")
	a.log = normaliseLog(log, a.report.PID, port, dir)
	return a
}

var ephemeralPort = regexp.MustCompile(`127\.0\.0\.1:\d+ to`)

// normaliseLog keeps the log lines both tools print and replaces pids, ports and paths.
func normaliseLog(s string, pid, port int, dir string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		keep := false
		for _, p := range []string{"Listening on", "Communication attempt", "Connection from", "Execing", "Spawned", "Child"} {
			if strings.HasPrefix(l, p) {
				keep = true
			}
		}
		if !keep {
			continue
		}
		l = strings.ReplaceAll(l, dir, "DIR")
		l = ephemeralPort.ReplaceAllString(l, "127.0.0.1:EPHEMERAL to")
		l = strings.ReplaceAll(l, strconv.Itoa(port), "PORT")
		l = strings.ReplaceAll(l, strconv.Itoa(pid), "PID")
		l = regexp.MustCompile(`sockdump \(\S*sockdump\)`).ReplaceAllString(l, "sockdump (sockdump)")
		l = regexp.MustCompile(`^Execing \S*sockdump \(\S*sockdump\)`).ReplaceAllString(l, "Execing sockdump (sockdump)")
		l = regexp.MustCompile(`^Spawned \S*sockdump \(\S*sockdump\)`).ReplaceAllString(l, "Spawned sockdump (sockdump)")
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// normalise makes two reports comparable: the pid, the ports and directories of the two runs.
func (r dumpReport) normalise(port int, dir string) dumpReport {
	n := dumpReport{Env: map[string]string{}, FDs: map[int]dumpFD{}}
	for k, v := range r.Env {
		if k == "LISTEN_PID" && v == strconv.Itoa(r.PID) {
			v = "<the program's pid>"
		}
		if k == "SOCKDUMP_OUT" {
			v = strings.ReplaceAll(v, dir, "DIR")
		}
		n.Env[k] = v
	}
	for fd, f := range r.FDs {
		f.Local = strings.ReplaceAll(strings.ReplaceAll(f.Local, dir, "DIR"), ":"+strconv.Itoa(port), ":PORT")
		if fd <= 2 && f.Kind != "socket" {
			f = dumpFD{Kind: "std"} // the test's own stdin/stdout/stderr
		}
		n.FDs[fd] = f
	}
	return n
}

func TestActivateMatchesSystemdSocketActivate(t *testing.T) {
	if _, err := os.Stat(systemdSocketActivate); err != nil {
		t.Skipf("no %s to compare with", systemdSocketActivate)
	}
	cases := []activateCase{
		{name: "two_sockets_names_setenv", args: []string{"-l", "127.0.0.1:{PORT}", "-l", "{DIR}/x.sk", "-E", "FOO=bar", "-E", "PASSTHROUGH", "-E", "UNSET_VAR", "--fdname=web:ctl"},
			trigger: "tcp", target: "{PORT}", exits: true},
		{name: "dual_stack_port_one_name", args: []string{"--listen={PORT}", "-l", "{DIR}/x.sk", "--fdname", "same"},
			trigger: "unix", target: "{DIR}/x.sk", exits: true},
		{name: "no_names", args: []string{"-l", "{DIR}/x.sk"}, trigger: "unix", target: "{DIR}/x.sk", exits: true},
		{name: "accept", args: []string{"-a", "-l", "127.0.0.1:{PORT}", "--fdname=conn", "--setenv=X=1"}, trigger: "tcp", target: "{PORT}"},
		{name: "accept_bundled_short_options", args: []string{"-al127.0.0.1:{PORT}", "-EX=2"}, trigger: "tcp", target: "{PORT}"},
		{name: "inetd_listening_socket_on_stdin", args: []string{"--inetd", "-l", "127.0.0.1:{PORT}"}, trigger: "tcp", target: "{PORT}", exits: true},
		{name: "inetd_accept", args: []string{"--inetd", "-a", "-l", "127.0.0.1:{PORT}"}, trigger: "tcp", target: "{PORT}"},
		{name: "nested_passes_fds_through", args: []string{"-l", "127.0.0.1:{PORT}", "--fdname=outer", "{SELF}", "-E", "SOCKDUMP_OUT", "-l", "{DIR}/x.sk"},
			trigger: "tcp", target: "{PORT}", exits: true},
		{name: "datagram", args: []string{"-d", "-l", "127.0.0.1:{PORT}"}, trigger: "udp", target: "{PORT}", exits: true},
		{name: "seqpacket", args: []string{"--seqpacket", "-l", "{DIR}/x.sk"}, trigger: "unixpacket", target: "{DIR}/x.sk", exits: true},
	}
	port := 21520
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			port += 2
			sdDir, flDir := t.TempDir(), t.TempDir()
			want := runActivation(t, []string{systemdSocketActivate}, c, port, sdDir)
			got := runActivation(t, []string{flintBin, "activate"}, c, port+1, flDir)
			w, g := want.report.normalise(port, sdDir), got.report.normalise(port+1, flDir)
			if !reflect.DeepEqual(w.Env, g.Env) {
				t.Errorf("environment differs:\nsystemd-socket-activate: %v\nflint activate:          %v", w.Env, g.Env)
			}
			if !reflect.DeepEqual(w.FDs, g.FDs) {
				t.Errorf("fds differ:\nsystemd-socket-activate: %+v\nflint activate:          %+v", w.FDs, g.FDs)
			}
			if want.reply != got.reply {
				t.Errorf("client read %q through flint, %q through systemd-socket-activate", got.reply, want.reply)
			}
			if want.code != got.code {
				t.Errorf("exit code %d, systemd-socket-activate %d", got.code, want.code)
			}
			wl := normaliseLog(strings.Join(want.log, "\n"), -1, port, sdDir)
			gl := normaliseLog(strings.Join(got.log, "\n"), -1, port+1, flDir)
			if !reflect.DeepEqual(wl, gl) {
				t.Errorf("log differs:\nsystemd-socket-activate:\n  %s\nflint activate:\n  %s", strings.Join(wl, "\n  "), strings.Join(gl, "\n  "))
			}
		})
	}
}

// TestActivateUsageErrors compares the refusals of bad command lines.
func TestActivateUsageErrors(t *testing.T) {
	if _, err := os.Stat(systemdSocketActivate); err != nil {
		t.Skipf("no %s to compare with", systemdSocketActivate)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"datagram_accept", []string{"-d", "-a", "-l", "127.0.0.1:21519", "true"}},
		{"datagram_seqpacket", []string{"-d", "--seqpacket", "-l", "127.0.0.1:21519", "true"}},
		{"no_command", []string{"-l", "127.0.0.1:21519"}},
		{"no_sockets", []string{"true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(argv ...string) (string, int) {
				cmd := exec.Command(argv[0], argv[1:]...)
				var b bytes.Buffer
				cmd.Stderr = &b
				cmd.Env = []string{"PATH=/usr/bin:/bin"}
				cmd.Run()
				msg := strings.TrimSpace(b.String())
				msg = strings.ReplaceAll(msg, "systemd-socket-activate: ", "")
				msg = strings.ReplaceAll(msg, "flint activate: ", "")
				return msg, cmd.ProcessState.ExitCode()
			}
			wm, wc := run(append([]string{systemdSocketActivate}, tc.args...)...)
			gm, gc := run(append([]string{flintBin, "activate"}, tc.args...)...)
			if wm != gm || wc != gc {
				t.Errorf("systemd-socket-activate: %q exit %d\nflint activate:          %q exit %d", wm, wc, gm, gc)
			}
		})
	}
}

// startActivate starts cmd (a flint activate) in a process group of its own, killed with the
// test, and waits until it says it listens. It returns cmd's stderr and a channel closed once
// cmd has exited (cmd.ProcessState is set then).
func startActivate(t *testing.T, cmd *exec.Cmd) (*syncBuffer, <-chan struct{}) {
	t.Helper()
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	if !waitFor(10*time.Second, func() bool { return strings.Contains(stderr.String(), "Listening on") }) {
		t.Fatalf("not listening:\n%s", stderr.String())
	}
	return stderr, done
}

// TestActivateRestart: with --restart the sockets stay open while the command exits and is
// run again; every one of a series of clients is answered, by successive processes.
func TestActivateRestart(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "dump.json")
	cmd := exec.Command(flintBin, "activate", "--restart", "-E", "SOCKDUMP_OUT", "-l", "127.0.0.1:21518", sockdump(t))
	cmd.Env = []string{"PATH=/usr/bin:/bin", "SOCKDUMP_OUT=" + out}
	stderr, done := startActivate(t, cmd)
	pids := map[int]bool{}
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:21518")
		if err != nil {
			t.Fatalf("client %d: %v (a connection was refused between runs)\n%s", i, err, stderr.String())
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if line != "ok\n" {
			t.Fatalf("client %d read %q, %v\n%s", i, line, err, stderr.String())
		}
		var r dumpReport
		data, _ := os.ReadFile(out)
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		if r.Env["LISTEN_PID"] != strconv.Itoa(r.PID) || r.Env["LISTEN_FDS"] != "1" {
			t.Errorf("run %d: LISTEN_PID=%s LISTEN_FDS=%s, pid %d", i, r.Env["LISTEN_PID"], r.Env["LISTEN_FDS"], r.PID)
		}
		pids[r.PID] = true
	}
	if len(pids) != 4 {
		t.Errorf("4 clients were served by %d processes, want 4 (one run each)", len(pids))
	}
	// SIGTERM stops it (no restart), with the command's status.
	syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("flint activate --restart did not exit on SIGTERM")
	}
}

// TestActivateMultiCall: installed as systemd-socket-activate, flint is that tool.
func TestActivateMultiCall(t *testing.T) {
	link := filepath.Join(t.TempDir(), "systemd-socket-activate")
	if err := os.Symlink(flintBin, link); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(link, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --help: %v\n%s", link, err, out)
	}
	if !strings.HasPrefix(string(out), "systemd-socket-activate [OPTIONS...]") || !strings.Contains(string(out), "--inetd") {
		t.Errorf("--help under the name systemd-socket-activate:\n%s", out)
	}
	c := activateCase{args: []string{"-l", "127.0.0.1:{PORT}", "--fdname=x"}, trigger: "tcp", target: "{PORT}", exits: true}
	a := runActivation(t, []string{link}, c, 21517, t.TempDir())
	if a.report.Env["LISTEN_FDNAMES"] != "x" || a.reply != "ok\n" || a.code != 0 {
		t.Errorf("as systemd-socket-activate: env %v reply %q exit %d", a.report.Env, a.reply, a.code)
	}
}

// TestActivateForwardsSignals: SIGTERM to flint activate reaches the running command, and
// flint activate exits with the command's status (killed by SIGTERM: 143), --restart or not.
func TestActivateForwardsSignals(t *testing.T) {
	for i, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			sleep := copyExecutable(t, "/bin/sleep")
			port := 21516 - i*10
			args := []string{"activate", "-l", fmt.Sprintf("127.0.0.1:%d", port)}
			if restart {
				args = append(args, "--restart")
			}
			cmd := exec.Command(flintBin, append(args, sleep, "100")...)
			stderr, done := startActivate(t, cmd)
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if !waitFor(10*time.Second, func() bool { return len(pidsOf(sleep)) == 1 }) {
				t.Fatalf("the command did not start:\n%s", stderr.String())
			}
			child := pidsOf(sleep)[0]
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("flint activate still running 10s after SIGTERM:\n%s", stderr.String())
			}
			if code := cmd.ProcessState.ExitCode(); code != 143 {
				t.Errorf("exit code %d, want 143 (the command's SIGTERM)", code)
			}
			if alive(child) {
				t.Errorf("the command (pid %d) survived", child)
			}
		})
	}
}

// TestActivateExecFailure: a command that cannot be executed (here, not a binary) is reported
// as systemd-socket-activate reports it — "Failed to execp" — and then reaped, in accept mode,
// where the loop does not wait for a child's exec, and in the default mode.
func TestActivateExecFailure(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("\x00\x01not an executable"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, mode := range [][]string{{"-a"}, nil} {
		port := 21541 + i
		t.Run(fmt.Sprint(append([]string{"mode"}, mode...)), func(t *testing.T) {
			args := append(append([]string{"activate"}, mode...), "-l", fmt.Sprintf("127.0.0.1:%d", port), garbage)
			cmd := exec.Command(flintBin, args...)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			lines := make(chan string, 64)
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			var c net.Conn
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if c, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil || time.Now().After(deadline) {
					break
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var seen []string
			failed := -1
			timeout := time.After(10 * time.Second)
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("stderr ended without a reaped child:\n%s", strings.Join(seen, "\n"))
					}
					seen = append(seen, l)
					if strings.Contains(l, "Failed to execp "+garbage) && strings.Contains(l, "exec format error") {
						failed = len(seen)
					}
					if strings.Contains(l, "died with code") || mode == nil && failed > 0 {
						if failed < 0 {
							t.Fatalf("child reaped without the exec failure reported:\n%s", strings.Join(seen, "\n"))
						}
						return
					}
				case <-timeout:
					t.Fatalf("no exec failure reported:\n%s", strings.Join(seen, "\n"))
				}
			}
		})
	}
}
