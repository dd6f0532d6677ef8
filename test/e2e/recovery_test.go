package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/runstate"
)

// A manager killed with SIGKILL leaves its services running; the next manager on the same
// runtime directory stops them before it starts anything (docs/recovery.md).

// procOf identifies a running process by pid and start time, so that a test never waits for
// (or kills) a process that merely got the pid later.
func procOf(t *testing.T, pid int) runstate.Proc {
	t.Helper()
	p, ok := runstate.ReadProcess(pid)
	if !ok || p.Zombie {
		t.Fatalf("process %d is not running", pid)
	}
	return p.Proc()
}

// running reports whether p still runs (same pid, same start time, not a zombie).
func running(p runstate.Proc) bool {
	q, ok := runstate.ReadProcess(p.PID)
	return ok && q.Start == p.Start && !q.Zombie
}

// killProcAtEnd kills p when the test ends if it still runs.
func killProcAtEnd(t *testing.T, p runstate.Proc) {
	t.Cleanup(func() {
		if running(p) {
			syscall.Kill(p.PID, syscall.SIGKILL)
		}
	})
}

// connectPid connects to addr and reads the "<pid>\n" that svchelper serve writes.
func connectPid(t *testing.T, addr string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read from %s: %v", addr, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("%s answered %q", addr, line)
	}
	return pid
}

// waitOutput waits until flint run's output holds want (its status lines go out from a
// goroutine of their own), else fails the test.
func (m *manager) waitOutput(want string) {
	m.t.Helper()
	if !waitFor(15*time.Second, func() bool { return strings.Contains(m.out.String(), want) }) {
		m.t.Errorf("flint run's output lacks %q", want)
	}
}

// openRuntimeDir is a runtime directory open to others (as /run/flint), so that the notify
// socket is a file there (an abstract socket otherwise, see notifyAddress).
func openRuntimeDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mainPid reads unit's MainPID.
func mainPid(c ctl, unit string) int {
	c.t.Helper()
	pid, err := strconv.Atoi(c.prop(unit, "MainPID"))
	if err != nil || pid <= 0 {
		c.t.Fatalf("%s: MainPID %q", unit, c.prop(unit, "MainPID"))
	}
	return pid
}

// TestRecoveryAfterSIGKILL: flint run with a socket unit (Accept=no) whose service runs and
// holds the listening socket, a plain service whose child shares its session, a
// Type=forking daemon and a Type=notify service, is killed with SIGKILL. The next flint run on the same directories
// stops each of those processes (the recorded ones by pid and start time, the child through
// the session, the socket's service — started after the last write of the state file —
// through the socket it holds), says so per unit, and then starts everything afresh: the
// socket listens again (no "address already in use") and activates a new service, the
// notify service is ready through the new notify socket that replaced the stale one. An
// orderly stop leaves nothing in the runtime directory.
func TestRecoveryAfterSIGKILL(t *testing.T) {
	const addr = "127.0.0.1:21600"
	h := svcHelper(t)
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"echo.socket":  unitFile("Socket", "ListenStream="+addr),
		"echo.service": unitFile("Service", "ExecStart="+h+" serve"),
		// Without INVOCATION_ID (as a daemon that cleans its environment): the child is found
		// through its session.
		"family.service": unitFile("Service", "ExecStart=/usr/bin/env -u INVOCATION_ID "+h+" grandchild "+dir+"/child.pid"),
		"daemon.service": unitFile("Service", "Type=forking\nPIDFile="+dir+"/daemon.pid\nExecStart="+h+" forking "+dir+"/daemon.pid"),
		// Reaches active only through the notify socket, which the killed manager left.
		"ready.service": unitFile("Service", "Type=notify\nExecStart="+h+" notify READY=1"),
	})
	wantedBy(t, units, "sockets.target", "echo.socket")
	wantedBy(t, units, "multi-user.target", "family.service")
	wantedBy(t, units, "multi-user.target", "daemon.service")
	wantedBy(t, units, "multi-user.target", "ready.service")
	runtime := openRuntimeDir(t)
	control := filepath.Join(runtime, "control.sock")
	first := launchManager(t, units, launchOptions{control: control, stopWait: 10 * time.Second})
	c := on(t, first)
	c.waitState("family.service", "active/running")
	c.waitState("daemon.service", "active/running")
	c.waitState("ready.service", "active/running")
	c.waitState("echo.socket", "active/listening")
	family := procOf(t, mainPid(c, "family.service"))
	child := procOf(t, pidFromFile(t, dir+"/child.pid"))
	daemon := procOf(t, mainPid(c, "daemon.service"))
	ready := procOf(t, mainPid(c, "ready.service"))
	for _, p := range []runstate.Proc{family, child, daemon, ready} {
		killProcAtEnd(t, p)
	}
	// The state file names the services' main processes (written shortly after they start).
	var state *runstate.State
	if !waitFor(15*time.Second, func() bool {
		state, _ = runstate.Read(runtime)
		text := ""
		if state != nil {
			text = string(runstate.Encode(state))
		}
		return strings.Contains(text, fmt.Sprintf("proc %d %d main", family.PID, family.Start)) &&
			strings.Contains(text, fmt.Sprintf("proc %d %d main", daemon.PID, daemon.Start)) &&
			strings.Contains(text, `tcp "`+addr+`"`)
	}) {
		t.Fatalf("state file never listed the services:\n%+v", state)
	}
	if state.Manager.PID != first.cmd.Process.Pid {
		t.Errorf("state file names manager %d, want %d", state.Manager.PID, first.cmd.Process.Pid)
	}
	// From here on the state file cannot be written (its temporary name is a non-empty
	// directory): the socket's service, started now, is in no state file.
	if err := os.MkdirAll(filepath.Join(runstate.Path(runtime)+".tmp", "blocker"), 0o755); err != nil {
		t.Fatal(err)
	}
	echo := procOf(t, connectPid(t, addr))
	killProcAtEnd(t, echo)
	c.waitState("echo.service", "active/running")

	first.stopWith(syscall.SIGKILL)
	for _, p := range []runstate.Proc{family, child, daemon, ready, echo} {
		if !running(p) {
			t.Fatalf("process %d died with the manager", p.PID)
		}
	}
	// The killed manager's control and notify sockets are left behind.
	for _, name := range []string{"control.sock", "notify"} {
		if !isSocket(filepath.Join(runtime, name)) {
			t.Fatalf("no stale %s", name)
		}
	}
	if err := os.RemoveAll(runstate.Path(runtime) + ".tmp"); err != nil {
		t.Fatal(err)
	}

	second := launchManager(t, units, launchOptions{control: control, stopWait: 10 * time.Second})
	c = on(t, second)
	for _, p := range []runstate.Proc{family, child, daemon, ready, echo} {
		if !waitFor(15*time.Second, func() bool { return !running(p) }) {
			t.Errorf("left-over process %d still running", p.PID)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("The previous manager (pid %d) ended without stopping its units", first.cmd.Process.Pid),
		fmt.Sprintf("family.service: Found left-over process %d (svchelper) of the previous manager (recorded); sending SIGTERM.", family.PID),
		fmt.Sprintf("family.service: Found left-over process %d (svchelper) of the previous manager (session of %d); sending SIGTERM.", child.PID, family.PID),
		fmt.Sprintf("daemon.service: Found left-over process %d (svchelper) of the previous manager (recorded); sending SIGTERM.", daemon.PID),
		fmt.Sprintf("ready.service: Found left-over process %d (svchelper) of the previous manager (recorded); sending SIGTERM.", ready.PID),
		fmt.Sprintf("echo.socket: Found left-over process %d (svchelper) of the previous manager (holds %s); sending SIGTERM.", echo.PID, addr),
		"Stopped 5 left-over processes of the previous manager; 0 left running.",
		"Listening on echo.socket.",
	} {
		second.waitOutput(want)
	}
	if strings.Contains(strings.ToLower(second.out.String()), "address already in use") {
		t.Errorf("the socket's address was in use")
	}
	// The unit's log says it too.
	if lg, _ := c.flint("logs", "-u", "family.service"); !strings.Contains(lg, "Found left-over process") {
		t.Errorf("the log of family.service does not show the left-over message:\n%s", lg)
	}
	c.waitState("echo.socket", "active/listening")
	c.waitState("family.service", "active/running")
	c.waitState("daemon.service", "active/running")
	c.waitState("ready.service", "active/running")
	if pid := connectPid(t, addr); pid == echo.PID {
		t.Errorf("the old service answered")
	}
	c.waitState("echo.service", "active/running")
	if code := second.terminate(); code != 0 {
		t.Errorf("flint run exited %d", code)
	}
	// What is left is the volatile log store (journal/, kept for flint logs -b -1 as
	// /run/log/journal outlives journald), and nothing of the run's state.
	if ents, _ := os.ReadDir(runtime); len(ents) != 0 && !(len(ents) == 1 && ents[0].Name() == "journal") {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("left in the runtime directory after an orderly stop: %v", names)
	}
}

// TestRecoveryPidReused: a state file (written here, as a killed manager would have left it)
// names a pid that a process with another start time has now, and that process holds the
// socket unit's port. It is not signalled; the socket fails loudly (status line, status,
// the start job) because its address is in use.
func TestRecoveryPidReused(t *testing.T) {
	const port = 21601
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	// The unrelated process: a sleep in a session of its own holding the listening socket.
	other := exec.Command("sleep", "1000")
	other.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	other.ExtraFiles = []*os.File{lf}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	ln.Close()
	defer func() { other.Process.Kill(); other.Wait() }()
	op := procOf(t, other.Process.Pid)

	h := svcHelper(t)
	units := writeUnits(t, map[string]string{
		"busy.socket":  unitFile("Socket", fmt.Sprintf("ListenStream=127.0.0.1:%d", port)),
		"busy.service": unitFile("Service", "ExecStart="+h+" serve"),
	})
	wantedBy(t, units, "sockets.target", "busy.socket")
	runtime := t.TempDir()
	self, boot, pidns, err := runstate.Self()
	if err != nil {
		t.Fatal(err)
	}
	// The recorded manager is this test's pid with another start time: not that manager.
	state := &runstate.State{BootID: boot, PIDNS: pidns, Manager: runstate.Proc{PID: self.PID, Start: self.Start + 1}, Written: runstate.NowTicks(),
		Units: []runstate.Unit{{Name: "busy.service", InvocationID: "0123456789abcdef0123456789abcdef", KillMode: "control-group",
			KillSignal: syscall.SIGTERM, SendSIGKILL: true, StopTimeout: 90 * time.Second,
			Procs: []runstate.UnitProc{{Proc: runstate.Proc{PID: op.PID, Start: op.Start - 1}, Role: runstate.RoleMain}}}}}
	if err := runstate.Write(runtime, state); err != nil {
		t.Fatal(err)
	}
	m := launchManager(t, units, launchOptions{control: filepath.Join(runtime, "control.sock"), stopWait: 10 * time.Second})
	c := on(t, m)
	// The control socket appears after the left-overs were dealt with.
	m.waitOutput(fmt.Sprintf("busy.service: Process %d is not the one the previous manager recorded", op.PID))
	if !running(op) {
		t.Fatalf("the unrelated process %d was stopped", op.PID)
	}
	c.waitProps("busy.socket", map[string]string{"ActiveState": "failed", "Result": "resources"})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	m.waitOutput("[FAILED] Failed to listen on busy.socket: listen " + addr + ": bind: address already in use")
	if st, _ := c.flint("status", "busy.socket"); !strings.Contains(st, "address already in use") {
		t.Errorf("status does not say why:\n%s", st)
	}
	out, code := c.flint("start", "busy.socket")
	if code == 0 || !strings.Contains(out, "Job failed.") {
		t.Errorf("flint start busy.socket: exit %d: %s", code, out)
	}
	if !running(op) {
		t.Errorf("the unrelated process %d was stopped", op.PID)
	}
}

// TestRecoverySecondManager: a second flint run on the runtime directory of a running one
// (the same control socket, or another in the same directory) is refused before it touches
// anything: the first one's notify socket, control socket and state file stay, and its
// services still report to it.
func TestRecoverySecondManager(t *testing.T) {
	h := svcHelper(t)
	units := writeUnits(t, map[string]string{
		"ready.service": unitFile("Service", "Type=notify\nExecStart="+h+" notify READY=1"),
	})
	runtime := openRuntimeDir(t)
	control := filepath.Join(runtime, "control.sock")
	first := launchManager(t, units, launchOptions{control: control, stopWait: 10 * time.Second})
	c := on(t, first)
	c.start("ready.service")
	notifyBefore, err := os.Stat(filepath.Join(runtime, "notify"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ctl := range []string{control, filepath.Join(runtime, "other.sock")} {
		cmd := exec.Command(flintBin, "run", "--no-booted", "--no-journal-sockets", "--units", units, "--control", ctl)
		out, err := cmd.CombinedOutput()
		if err == nil || cmd.ProcessState.ExitCode() != 1 {
			t.Errorf("second flint run --control %s: %v: %s", ctl, err, out)
		}
		want := fmt.Sprintf("flint run: runtime directory %s: another manager is running (pid %d)", runtime, first.cmd.Process.Pid)
		if !strings.Contains(string(out), want) {
			t.Errorf("second flint run said %q, want %q", out, want)
		}
		if strings.Contains(string(out), "Starting") || strings.Contains(string(out), "Reached target") {
			t.Errorf("the second manager started units: %s", out)
		}
	}
	notifyAfter, err := os.Stat(filepath.Join(runtime, "notify"))
	if err != nil || !os.SameFile(notifyBefore, notifyAfter) {
		t.Errorf("the notify socket was replaced: %v", err)
	}
	// The first manager still hears its services.
	c.run(0, "restart", "ready.service")
	c.waitState("ready.service", "active/running")
	if s, err := runstate.Read(runtime); err != nil || s == nil || s.Manager.PID != first.cmd.Process.Pid {
		t.Errorf("state file: %+v, %v", s, err)
	}
}

// TestRecoveryPID1: flint run as PID 1 of a PID namespace (a container) killed with SIGKILL
// takes every process of the namespace with it; the next one on the same runtime directory
// ignores the state file of the namespace that is gone and starts normally.
func TestRecoveryPID1(t *testing.T) {
	const addr = "127.0.0.1:21602"
	h := svcHelper(t)
	units := writeUnits(t, map[string]string{
		"echo.socket":  unitFile("Socket", "ListenStream="+addr),
		"echo.service": unitFile("Service", "ExecStart="+h+" serve"),
	})
	wantedBy(t, units, "sockets.target", "echo.socket")
	runtime := t.TempDir()
	control := filepath.Join(runtime, "control.sock")
	container := func() (*exec.Cmd, *syncBuffer) {
		// unshare --kill-child: flint (its child, PID 1 of the new namespace) gets SIGKILL
		// when unshare dies.
		cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "--kill-child", flintBin, "run", "--no-booted", "--no-journal-sockets", "--units", units, "--control", control)
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
		})
		if !waitFor(15*time.Second, func() bool { return listening(control) }) {
			t.Fatalf("no control socket:\n%s", out)
		}
		return cmd, out
	}
	first, out1 := container()
	m := &manager{t: t, control: control}
	c := on(t, m)
	c.waitState("echo.socket", "active/listening")
	// The service's pid in the test's namespace: the one svchelper copy runs as.
	connectPid(t, addr)
	var echo []int
	if !waitFor(15*time.Second, func() bool { echo = pidsOf(h); return len(echo) == 1 }) {
		t.Fatalf("svchelper processes: %v", echo)
	}
	svc := procOf(t, echo[0])
	killProcAtEnd(t, svc)
	if !waitFor(15*time.Second, func() bool { s, _ := runstate.Read(runtime); return s != nil && len(s.Units) > 0 }) {
		t.Fatalf("no state file:\n%s", out1)
	}
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	if !waitFor(15*time.Second, func() bool { return !running(svc) }) {
		t.Fatalf("the container's service %d outlived its PID 1", svc.PID)
	}
	second, out2 := container()
	c.waitState("echo.socket", "active/listening")
	want := "Ignoring the state file of a manager in another PID namespace (pid 1)."
	if !waitFor(15*time.Second, func() bool { return strings.Contains(out2.String(), want) }) {
		t.Errorf("the second manager's output lacks %q:\n%s", want, out2)
	}
	connectPid(t, addr)
	// An orderly stop: SIGTERM to flint itself, the child of unshare.
	kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", second.Process.Pid, second.Process.Pid))
	pid1, err2 := strconv.Atoi(strings.TrimSpace(string(kids)))
	if err != nil || err2 != nil {
		t.Fatalf("flint's pid: %q, %v, %v", kids, err, err2)
	}
	syscall.Kill(pid1, syscall.SIGTERM)
	if err := second.Wait(); err != nil {
		t.Errorf("the second container: %v\n%s", err, out2)
	}
	if _, err := os.Stat(runstate.Path(runtime)); !os.IsNotExist(err) {
		t.Errorf("state file after an orderly stop: %v", err)
	}
}
