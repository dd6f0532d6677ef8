package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// privateSocket is where a manager that is not the booted one serves systemd's D-Bus API:
// systemd/private in its runtime directory (the control socket's).
func (m *manager) privateSocket() string {
	return filepath.Join(filepath.Dir(m.control), "systemd", "private")
}

// TestDBusGoSystemd: go-systemd's dbus package, as container runtimes use it, on flint's
// private socket: it lists the units, starts and stops one and gets each job's result
// from the JobRemoved signal, and reads a unit's properties.
func TestDBusGoSystemd(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"sleeper.service": "[Unit]\nDescription=Sleeper\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n",
		"fails.service":   "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\nExecStart=/bin/false\n",
	})
	m := startManager(t, units)
	path := m.privateSocket()
	if !waitFor(10*time.Second, func() bool { return isSocket(path) }) {
		t.Fatalf("no %s", path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := sddbus.NewConnection(func() (*dbus.Conn, error) {
		c, err := dbus.Dial("unix:path=" + path)
		if err != nil {
			return nil, err
		}
		if err := c.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	list, err := conn.ListUnitsContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, u := range list {
		if u.Name == "default.target" && u.ActiveState == "active" && u.Path == "/org/freedesktop/systemd1/unit/default_2etarget" {
			found = true
		}
	}
	if !found {
		t.Errorf("ListUnits: no active default.target in %+v", list)
	}

	job := func(what string, start func(chan<- string) (int, error)) string {
		t.Helper()
		ch := make(chan string, 1)
		if _, err := start(ch); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		select {
		case r := <-ch:
			return r
		case <-ctx.Done():
			t.Fatalf("%s: no JobRemoved", what)
		}
		return ""
	}
	if r := job("start", func(ch chan<- string) (int, error) {
		return conn.StartUnitContext(ctx, "sleeper.service", "replace", ch)
	}); r != "done" {
		t.Errorf("start sleeper.service: %s", r)
	}
	if out, _ := m.flint("is-active", "sleeper.service"); out != "active\n" {
		t.Errorf("after the start: %s", out)
	}
	props, err := conn.GetUnitPropertiesContext(ctx, "sleeper.service")
	if err != nil {
		t.Fatal(err)
	}
	if props["ActiveState"] != "active" || props["Description"] != "Sleeper" || props["Id"] != "sleeper.service" {
		t.Errorf("properties: ActiveState %v Description %v Id %v", props["ActiveState"], props["Description"], props["Id"])
	}
	pid, err := conn.GetServicePropertyContext(ctx, "sleeper.service", "MainPID")
	if err != nil || pid.Value.Value().(uint32) == 0 {
		t.Errorf("MainPID: %v %v", pid, err)
	}
	if r := job("start fails", func(ch chan<- string) (int, error) {
		return conn.StartUnitContext(ctx, "fails.service", "replace", ch)
	}); r != "failed" {
		t.Errorf("start fails.service: %s", r)
	}
	if r := job("stop", func(ch chan<- string) (int, error) {
		return conn.StopUnitContext(ctx, "sleeper.service", "replace", ch)
	}); r != "done" {
		t.Errorf("stop sleeper.service: %s", r)
	}
	if out, _ := m.flint("is-active", "sleeper.service"); out != "inactive\n" {
		t.Errorf("after the stop: %s", out)
	}
	if _, err := conn.StartUnitContext(ctx, "nope.service", "replace", nil); err == nil || !strings.Contains(err.Error(), "Unit nope.service not found.") {
		t.Errorf("start nope.service: %v", err)
	}

	// A daemon-reload is announced with Reloading(true), then Reloading(false); a unit's
	// state changes with PropertiesChanged.
	raw, err := dbus.Dial("unix:path=" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		t.Fatal(err)
	}
	sigs := make(chan *dbus.Signal, 256)
	raw.Signal(sigs)
	// A call answered: the server has the connection (signals go to those it has).
	if err := raw.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").Call("org.freedesktop.DBus.Peer.Ping", 0).Err; err != nil {
		t.Fatal(err)
	}
	if err := conn.ReloadContext(ctx); err != nil {
		t.Fatal(err)
	}
	var reloading []bool
	for len(reloading) < 2 {
		select {
		case s := <-sigs:
			if s.Name == "org.freedesktop.systemd1.Manager.Reloading" {
				reloading = append(reloading, s.Body[0].(bool))
			}
		case <-ctx.Done():
			t.Fatalf("Reloading signals: %v", reloading)
		}
	}
	if reloading[0] != true || reloading[1] != false {
		t.Errorf("Reloading signals: %v", reloading)
	}
	if out, code := m.flint("start", "sleeper.service"); code != 0 {
		t.Fatalf("start: %s", out)
	}
	for {
		select {
		case s := <-sigs:
			if s.Name != "org.freedesktop.DBus.Properties.PropertiesChanged" || s.Path != "/org/freedesktop/systemd1/unit/sleeper_2eservice" ||
				s.Body[0] != "org.freedesktop.systemd1.Unit" {
				continue
			}
			if st, _ := s.Body[1].(map[string]dbus.Variant)["ActiveState"].Value().(string); st == "active" {
				return
			}
		case <-ctx.Done():
			t.Fatal("no PropertiesChanged with ActiveState active")
		}
	}
}

// TestDBusBusctl: busctl introspects flint's object tree over the private socket.
func TestDBusBusctl(t *testing.T) {
	busctl, err := exec.LookPath("busctl")
	if err != nil {
		t.Skip("no busctl")
	}
	units := writeUnits(t, map[string]string{
		"sleeper.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n",
	})
	m := startManager(t, units)
	path := m.privateSocket()
	if !waitFor(10*time.Second, func() bool { return isSocket(path) }) {
		t.Fatalf("no %s", path)
	}
	addr := "--address=unix:path=" + path
	out, err := exec.Command(busctl, addr, "introspect", "org.freedesktop.systemd1", "/org/freedesktop/systemd1").CombinedOutput()
	if err != nil {
		t.Fatalf("busctl introspect: %v\n%s", err, out)
	}
	for _, want := range []string{"org.freedesktop.systemd1.Manager", ".StartUnit", ".JobRemoved", ".Version", "org.freedesktop.DBus.Properties"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("busctl introspect lacks %s:\n%s", want, out)
		}
	}
	out, err = exec.Command(busctl, addr, "get-property", "org.freedesktop.systemd1", "/org/freedesktop/systemd1/unit/sleeper_2eservice",
		"org.freedesktop.systemd1.Unit", "ActiveState").CombinedOutput()
	if err != nil || string(out) != "s \"inactive\"\n" {
		t.Errorf("busctl get-property: %v\n%s", err, out)
	}
	// An active unit stays loaded (an inactive one nothing refers to is collected).
	if out, code := m.flint("start", "sleeper.service"); code != 0 {
		t.Fatalf("start: %s", out)
	}
	out, err = exec.Command(busctl, addr, "tree", "org.freedesktop.systemd1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "/org/freedesktop/systemd1/unit/sleeper_2eservice") {
		t.Errorf("busctl tree: %v\n%s", err, out)
	}
}
