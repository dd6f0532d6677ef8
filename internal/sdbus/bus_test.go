package sdbus

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// busConfig is a bus daemon's configuration that lets every client own and call every name.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%SOCK%</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// startBusDaemon runs a dbus-daemon of its own on a socket in a temporary directory and
// returns its address and what stops it.
func startBusDaemon(t *testing.T) (addr string, stop func()) {
	t.Helper()
	bin, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("no dbus-daemon")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "bus")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(busConfig, "%SOCK%", sock)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config-file="+conf, "--nofork", "--print-address")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	}
	t.Cleanup(stop)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	return strings.TrimSpace(line), stop
}

// TestBus: the server owns org.freedesktop.systemd1 on a real bus daemon; a client of the
// bus calls it through the bus (introspection, properties, a method with its signal after
// Subscribe), and the connection ends when the bus goes.
func TestBus(t *testing.T) {
	addr, stopBus := startBusDaemon(t)
	srv, _, fb := startFake(t)
	if p, err := BusPath(addr); err != nil || !strings.HasPrefix(p, "/") {
		t.Fatalf("BusPath(%q) = %q, %v", addr, p, err)
	}
	b, err := srv.ConnectBus(addr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.Name(), ":") {
		t.Errorf("unique name %q", b.Name())
	}
	// A second server cannot take the name.
	srv2, _ := startServer(t)
	if _, err := srv2.ConnectBus(addr); err == nil || !strings.Contains(err.Error(), "another owner") {
		t.Errorf("second owner: %v", err)
	}

	c, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var owner string
	if err := c.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&owner); err != nil || owner != b.Name() {
		t.Fatalf("owner of %s: %q %v, want %q", busName, owner, err, b.Name())
	}
	mgr := c.Object(busName, ManagerPath)
	v, err := mgr.GetProperty(IfaceManager + ".Version")
	if err != nil || v.Value() != "252" {
		t.Errorf("Version: %v %v", v, err)
	}
	var xml string
	if err := mgr.Call(ifaceIntro+".Introspect", 0).Store(&xml); err != nil || !strings.Contains(xml, `<method name="StartUnit">`) {
		t.Errorf("Introspect: %v\n%s", err, xml)
	}
	if err := c.AddMatchSignal(dbus.WithMatchInterface(IfaceManager)); err != nil {
		t.Fatal(err)
	}
	sigs := make(chan *dbus.Signal, 10)
	c.Signal(sigs)
	var job dbus.ObjectPath
	if err := mgr.Call(IfaceManager+".StartUnit", 0, "a.service", "replace").Store(&job); err != nil || job != JobPath(7) {
		t.Fatalf("StartUnit: %v %v", job, err)
	}
	if p, _ := fb.lastPeer.Load().(Peer); p.UID != os.Getuid() || p.PID != os.Getpid() || !p.Privileged {
		t.Errorf("caller through the bus: %+v", p)
	}
	select {
	case s := <-sigs:
		if s.Name != IfaceManager+".JobRemoved" || s.Body[2] != "a.service" || s.Sender != b.Name() {
			t.Errorf("signal %+v", s)
		}
	case <-time.After(time.Minute):
		t.Fatal("no JobRemoved through the bus")
	}
	err = mgr.Call(IfaceManager+".StopUnit", 0, "a.service", "replace").Err
	if e, ok := err.(dbus.Error); !ok || e.Name != ErrUnknownMethod {
		t.Errorf("StopUnit: %v", err)
	}
	err = c.Object(busName, UnitPath("b.service")).Call(ifacePeer+".Ping", 0).Err
	if e, ok := err.(dbus.Error); !ok || e.Name != ErrUnknownObject {
		t.Errorf("unknown object: %v", err)
	}

	if b.Subscribed() {
		t.Error("subscribed before Subscribe")
	}
	stopBus()
	select {
	case <-b.Done():
	case <-time.After(time.Minute):
		t.Fatal("the bus connection outlives the bus")
	}
}

func TestBusPath(t *testing.T) {
	for in, want := range map[string]string{
		"unix:path=/run/dbus/system_bus_socket":          "/run/dbus/system_bus_socket",
		"unix:abstract=/tmp/dbus-x,guid=0123":            "@/tmp/dbus-x",
		"tcp:host=x,port=1;unix:path=/run/user/1000/bus": "/run/user/1000/bus",
		"unix:path=/run/a%20b":                           "/run/a b",
		"unix:guid=1,path=/p":                            "/p",
	} {
		if got, err := BusPath(in); err != nil || got != want {
			t.Errorf("BusPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"tcp:host=x", "unix:path=/a%2", "unix:tmpdir=/tmp"} {
		if _, err := BusPath(bad); err == nil {
			t.Errorf("BusPath(%q): no error", bad)
		}
	}
}

// TestBusUnicastAndNameGone: SendSignal reaches the client it names and no other;
// OnNameGone reports a client that hangs up.
func TestBusUnicastAndNameGone(t *testing.T) {
	addr, stopBus := startBusDaemon(t)
	defer stopBus()
	srv, _, _ := startFake(t)
	b, err := srv.ConnectBus(addr)
	if err != nil {
		t.Fatal(err)
	}
	gone := make(chan string, 16)
	b.OnNameGone(func(name string) { gone <- name })
	var clients [2]*dbus.Conn
	var sigs [2]chan *dbus.Signal
	for i := range clients {
		c, err := dbus.Connect(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Both listen to every Scope signal: only the one addressed may get it.
		if err := c.AddMatchSignal(dbus.WithMatchInterface(IfaceScope)); err != nil {
			t.Fatal(err)
		}
		sigs[i] = make(chan *dbus.Signal, 4)
		c.Signal(sigs[i])
		clients[i] = c
	}
	if !b.SendSignal(clients[0].Names()[0], UnitPath("x.scope"), IfaceScope, "RequestStop") {
		t.Fatal("SendSignal: false")
	}
	select {
	case s := <-sigs[0]:
		if s.Name != IfaceScope+".RequestStop" || s.Path != UnitPath("x.scope") || s.Sender != b.Name() {
			t.Errorf("signal %+v", s)
		}
	case <-time.After(time.Minute):
		t.Fatal("no RequestStop at the client it was sent to")
	}
	// The bus delivers one sender's messages in order: the other client's first signal is
	// the one sent to it after.
	b.SendSignal(clients[1].Names()[0], UnitPath("y.scope"), IfaceScope, "RequestStop")
	select {
	case s := <-sigs[1]:
		if s.Path != UnitPath("y.scope") {
			t.Errorf("the other client got %+v", s)
		}
	case <-time.After(time.Minute):
		t.Fatal("no RequestStop at the second client")
	}
	name := clients[1].Names()[0]
	clients[1].Close()
	for {
		select {
		case n := <-gone:
			if n == name {
				return
			}
		case <-time.After(time.Minute):
			t.Fatalf("no OnNameGone for %s", name)
		}
	}
}
