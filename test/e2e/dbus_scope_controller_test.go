package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// scopeProc is a process a scope is made of: pid is its pid as the manager sees it (for
// PIDs=), host its pid here; ended receives how it ended.
type scopeProc struct {
	pid, host int
	ended     chan string
}

// TestDBusScopeControllerMatchesSystemd: a scope made over the bus with Controller= (the
// caller's unique name) is stopped by asking: its controller gets Scope.RequestStop and its
// process no signal; when the process ends the stop is done. A controller that does not
// stop it sees it killed after TimeoutStopSec= (SIGKILL, Result=timeout). A controller that
// leaves the bus leaves the scope without one (Controller= empty), and a stop then signals
// the process. Abandon drops the controller too. Each step is done by one client, once
// against flint and once against systemd 252 (booted with a bus of its own), and what it
// saw must be the same.
func TestDBusScopeControllerMatchesSystemd(t *testing.T) {
	b := startSystemBus(t, nil)
	m, flintAddr := b.m, b.addr
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sd := bootWithBus(ctx, t, work)
	defer sd.Stop()
	sdAddr := fmt.Sprintf("unix:path=/proc/%d/root/run/dbus/system_bus_socket", sd.Pid)

	// hostProc runs a sleeper here (flint's pid namespace).
	hostProc := func(t *testing.T) *scopeProc {
		cmd := exec.Command("/bin/sleep", "1000")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p := &scopeProc{pid: cmd.Process.Pid, host: cmd.Process.Pid, ended: make(chan string, 1)}
		go func() { cmd.Wait(); p.ended <- endedBy(cmd.ProcessState) }()
		t.Cleanup(func() { cmd.Process.Kill() })
		return p
	}
	nsProc := func(t *testing.T) *scopeProc { return nsScopeProc(t, sd.Pid) }
	sdCtl := func(args ...string) string {
		out, errb, err := sd.SystemctlOutput(ctx, args...)
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return fmt.Sprintf("%s%s(exit %d)", out, errb, code)
	}
	flCtl := func(args ...string) string {
		out, code := m.flint(args...)
		return fmt.Sprintf("%s(exit %d)", out, code)
	}
	for _, sc := range []struct {
		name string
		run  func(t *testing.T, e scopeEnv) []string
	}{
		{"asked, then gone", scopeAskedThenGone},
		{"asked, times out", scopeAskedTimesOut},
		{"controller leaves", scopeControllerLeaves},
		{"abandoned", scopeControllerAbandoned},
		{"show", scopeShow},
	} {
		t.Run(sc.name, func(t *testing.T) {
			want := sc.run(t, scopeEnv{sdAddr, nsProc, sdCtl})
			got := sc.run(t, scopeEnv{flintAddr, hostProc, flCtl})
			t.Logf("systemd 252 and flint:\n\t%s", strings.Join(want, "\n\t"))
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("systemd 252:\n\t%s\nflint:\n\t%s", strings.Join(want, "\n\t"), strings.Join(got, "\n\t"))
			}
		})
	}
}

// scopeEnv is one manager for a scenario: its bus, how to run a process it can take into a
// scope, and its command line (systemctl, flint: output and exit code).
type scopeEnv struct {
	addr    string
	newProc func(*testing.T) *scopeProc
	ctl     func(args ...string) string
}

// nsScopeProc runs a sleeper in the pid namespace of the systemd whose pid is sdPid:
// nsenter's child, whose way of ending nsenter passes on.
func nsScopeProc(t *testing.T, sdPid int) *scopeProc {
	cmd := exec.Command("nsenter", "-t", strconv.Itoa(sdPid), "-p", "-m", "/bin/sh", "-c", "echo $$; exec /bin/sleep 1000")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid == 0 {
		t.Fatalf("process in systemd's namespace: %q %v", line, err)
	}
	host := 0
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
	host, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	if host == 0 {
		t.Fatalf("no child of nsenter %d", cmd.Process.Pid)
	}
	p := &scopeProc{pid: pid, host: host, ended: make(chan string, 1)}
	go func() { cmd.Wait(); p.ended <- endedBy(cmd.ProcessState) }()
	t.Cleanup(func() { syscall.Kill(host, syscall.SIGKILL) })
	return p
}

// endedBy says how a process ended: the signal that killed it, or its exit status.
func endedBy(ps *os.ProcessState) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return fmt.Sprintf("exit %d", ps.ExitCode())
}

// scopeClient is a connection to a bus with the manager on it.
type scopeClient struct {
	t    *testing.T
	conn *dbus.Conn
	mgr  dbus.BusObject
	sigs chan *dbus.Signal
}

func dialScopeClient(t *testing.T, addr string) *scopeClient {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &scopeClient{t: t, conn: conn, mgr: conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1"), sigs: make(chan *dbus.Signal, 16)}
	if err := conn.AddMatchSignal(dbus.WithMatchInterface("org.freedesktop.systemd1.Scope"), dbus.WithMatchMember("RequestStop")); err != nil {
		t.Fatal(err)
	}
	conn.Signal(c.sigs)
	return c
}

func (c *scopeClient) name() string { return c.conn.Names()[0] }

type dbusProp struct {
	Name  string
	Value dbus.Variant
}

// start makes scope name of pid, with the properties extra, and waits until it is active.
func (c *scopeClient) start(name string, pid int, extra ...dbusProp) {
	c.t.Helper()
	props := append([]dbusProp{{"Description", dbus.MakeVariant("controller test")},
		{"PIDs", dbus.MakeVariant([]uint32{uint32(pid)})}, {"DefaultDependencies", dbus.MakeVariant(false)}}, extra...)
	aux := []struct {
		Name  string
		Props []dbusProp
	}{}
	if err := c.mgr.Call("org.freedesktop.systemd1.Manager.StartTransientUnit", 0, name, "fail", props, aux).Err; err != nil {
		c.t.Fatalf("StartTransientUnit %s: %v", name, err)
	}
	if !waitFor(30*time.Second, func() bool { return c.prop(name, "Unit", "ActiveState") == "active" }) {
		c.t.Fatalf("%s is not active: %s", name, c.prop(name, "Unit", "ActiveState"))
	}
}

// prop is a property of unit name as text; "gone" once the unit is no more.
func (c *scopeClient) prop(name, iface, prop string) string {
	var path dbus.ObjectPath
	if err := c.mgr.Call("org.freedesktop.systemd1.Manager.GetUnit", 0, name).Store(&path); err != nil {
		return "gone"
	}
	v, err := c.conn.Object("org.freedesktop.systemd1", path).GetProperty("org.freedesktop.systemd1." + iface + "." + prop)
	if err != nil {
		return "error " + err.Error()
	}
	s, ok := v.Value().(string)
	if !ok {
		return v.String()
	}
	return s
}

func (c *scopeClient) stop(name string) {
	c.t.Helper()
	if err := c.mgr.Call("org.freedesktop.systemd1.Manager.StopUnit", 0, name, "replace").Err; err != nil {
		c.t.Fatalf("StopUnit %s: %v", name, err)
	}
}

// requestStop waits for a RequestStop signal and says what it was.
func (c *scopeClient) requestStop() string {
	select {
	case s := <-c.sigs:
		return fmt.Sprintf("%s on %s", s.Name, s.Path)
	case <-time.After(30 * time.Second):
		return "no RequestStop"
	}
}

// state is the unit's ActiveState/SubState, waiting until it is no longer from.
func (c *scopeClient) state(name, from string) string {
	st := ""
	waitFor(30*time.Second, func() bool {
		st = c.prop(name, "Unit", "ActiveState") + "/" + c.prop(name, "Unit", "SubState")
		if strings.Contains(st, "gone") || st == "inactive/dead" {
			st = "ended" // systemd unloads an inactive scope at once; flint may keep it
		}
		return st != from
	})
	return st
}

// final is the unit's state once its stop is over: ended, or failed.
func (c *scopeClient) final(name string) string {
	st := ""
	waitFor(30*time.Second, func() bool {
		st = c.state(name, "")
		return st == "ended" || strings.HasPrefix(st, "failed/")
	})
	return st
}

func ended(p *scopeProc) string {
	select {
	case how := <-p.ended:
		return "process " + how
	case <-time.After(time.Minute):
		return "process still running"
	}
}

// procAlive reports whether the process has not ended: nothing signalled it.
func procAlive(p *scopeProc) string {
	if syscall.Kill(p.host, 0) == nil {
		return "process alive"
	}
	return "process gone"
}

func scopeAskedThenGone(t *testing.T, e scopeEnv) []string {
	addr, newProc := e.addr, e.newProc
	c := dialScopeClient(t, addr)
	p := newProc(t)
	c.start("ctla.scope", p.pid, dbusProp{"Controller", dbus.MakeVariant(c.name())})
	var out []string
	ctl := c.prop("ctla.scope", "Scope", "Controller")
	out = append(out, "Controller is the caller: "+strconv.FormatBool(ctl == c.name()))
	c.stop("ctla.scope")
	out = append(out, c.requestStop())
	out = append(out, c.state("ctla.scope", "active/running"), procAlive(p))
	syscall.Kill(p.host, syscall.SIGUSR1) // the controller's own way of ending it
	out = append(out, ended(p), c.final("ctla.scope"))
	return out
}

func scopeAskedTimesOut(t *testing.T, e scopeEnv) []string {
	addr, newProc := e.addr, e.newProc
	c := dialScopeClient(t, addr)
	p := newProc(t)
	c.start("ctlb.scope", p.pid, dbusProp{"Controller", dbus.MakeVariant(c.name())},
		dbusProp{"TimeoutStopUSec", dbus.MakeVariant(uint64(2_000_000))})
	c.stop("ctlb.scope")
	out := []string{c.requestStop(), c.state("ctlb.scope", "active/running"), procAlive(p)}
	out = append(out, ended(p), c.final("ctlb.scope"), "Result="+c.prop("ctlb.scope", "Scope", "Result"))
	// A scope is started once only.
	out = append(out, "CanStart="+c.prop("ctlb.scope", "Unit", "CanStart"), e.ctl("start", "ctlb.scope"))
	c.mgr.Call("org.freedesktop.systemd1.Manager.ResetFailedUnit", 0, "ctlb.scope")
	return out
}

func scopeControllerLeaves(t *testing.T, e scopeEnv) []string {
	addr, newProc := e.addr, e.newProc
	c := dialScopeClient(t, addr)
	ctl, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	p := newProc(t)
	c.start("ctlc.scope", p.pid, dbusProp{"Controller", dbus.MakeVariant(ctl.Names()[0])})
	var out []string
	out = append(out, "Controller is the other client: "+strconv.FormatBool(c.prop("ctlc.scope", "Scope", "Controller") == ctl.Names()[0]))
	ctl.Close()
	if !waitFor(30*time.Second, func() bool { return c.prop("ctlc.scope", "Scope", "Controller") == "" }) {
		out = append(out, "Controller still "+c.prop("ctlc.scope", "Scope", "Controller"))
	} else {
		out = append(out, "Controller empty")
	}
	c.stop("ctlc.scope")
	out = append(out, ended(p), c.final("ctlc.scope"))
	return out
}

func scopeControllerAbandoned(t *testing.T, e scopeEnv) []string {
	addr, newProc := e.addr, e.newProc
	c := dialScopeClient(t, addr)
	p := newProc(t)
	c.start("ctld.scope", p.pid, dbusProp{"Controller", dbus.MakeVariant(c.name())})
	var path dbus.ObjectPath
	if err := c.mgr.Call("org.freedesktop.systemd1.Manager.GetUnit", 0, "ctld.scope").Store(&path); err != nil {
		t.Fatal(err)
	}
	var out []string
	if err := c.conn.Object("org.freedesktop.systemd1", path).Call("org.freedesktop.systemd1.Scope.Abandon", 0).Err; err != nil {
		out = append(out, "Abandon: "+err.Error())
	}
	out = append(out, c.state("ctld.scope", "active/running"), "Controller="+c.prop("ctld.scope", "Scope", "Controller"))
	c.stop("ctld.scope")
	out = append(out, ended(p), c.final("ctld.scope"))
	return out
}

// scopeShow: show of a running scope with a controller and settings, line by line. Values
// that differ from run to run or from one machine's manager to the other's are left out
// (times, ids, the controller's name, the cgroup's path and figures: the flint of this test
// runs without cgroups; TasksMax=, DefaultTasksMax= computed in systemd's pid namespace), and
// so are the lines of known differences: the implicit dependencies on the slice (flint does
// not list them), UnitFileState=/UnitFilePreset= (systemd 252 says bad and enabled for a
// transient scope), CanFreeze= (flint has no freezer).
func scopeShow(t *testing.T, e scopeEnv) []string {
	c := dialScopeClient(t, e.addr)
	p := e.newProc(t)
	c.start("ctle.scope", p.pid, dbusProp{"Controller", dbus.MakeVariant(c.name())},
		dbusProp{"TimeoutStopUSec", dbus.MakeVariant(uint64(7_000_000))}, dbusProp{"KillMode", dbus.MakeVariant("mixed")},
		dbusProp{"SendSIGHUP", dbus.MakeVariant(true)})
	defer func() {
		c.mgr.Call("org.freedesktop.systemd1.Manager.KillUnit", 0, "ctle.scope", "all", int32(9))
		ended(p)
		c.final("ctle.scope")
	}()
	skip := map[string]bool{"Requires": true, "After": true, "UnitFileState": true, "UnitFilePreset": true, "CanFreeze": true,
		"ControlGroup": true, "ControlGroupId": true, "MemoryCurrent": true, "TasksMax": true}
	volatile := regexp.MustCompile(`Timestamp|^InvocationID$|^FragmentPath$|^Controller$`)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(strings.TrimSuffix(e.ctl("show", "ctle.scope"), "(exit 0)")), "\n") {
		name, _, _ := strings.Cut(l, "=")
		switch {
		case skip[name]:
		case volatile.MatchString(name):
			out = append(out, name+"=…")
		default:
			out = append(out, l)
		}
	}
	return out
}
