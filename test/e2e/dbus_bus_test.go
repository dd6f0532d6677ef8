package e2e

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// systemBusConfig is a system bus daemon's configuration for the test: its socket comes from
// the manager (systemd:), every client may call every name, root alone may own one.
const systemBusConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>systemd:</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*"/>
    <allow eavesdrop="true"/>
    <allow user="*"/>
  </policy>
  <policy user="root">
    <allow own="*"/>
  </policy>
</busconfig>
`

// systemBus is a system bus daemon that flint runs as dbus.socket and dbus.service (Type=notify,
// configured by systemBusConfig).
type systemBus struct {
	m    *manager
	addr string   // the bus's address
	env  []string // the environment that names the bus (DBUS_SYSTEM_BUS_ADDRESS)
}

// startSystemBus starts a flint with the bus's units and extra, starts dbus.service and waits
// until flint owns org.freedesktop.systemd1 on the bus. It skips unless root with
// dbus-daemon and the tools named (paths).
func startSystemBus(t *testing.T, extra map[string]string, tools ...string) *systemBus {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, p := range append([]string{"/usr/bin/dbus-daemon"}, tools...) {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("no %s", p)
		}
	}
	dir := t.TempDir()
	openUp(filepath.Join(dir, "x"))
	os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "system_bus_socket")
	conf := filepath.Join(dir, "system.conf")
	if err := os.WriteFile(conf, []byte(systemBusConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"dbus.socket":  "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=" + sock + "\n",
		"dbus.service": "[Unit]\nDefaultDependencies=no\nRequires=dbus.socket\n[Service]\nType=notify\nNotifyAccess=main\nExecStart=/usr/bin/dbus-daemon --config-file=" + conf + " --nofork --nopidfile\n",
	}
	maps.Copy(files, extra)
	b := &systemBus{addr: "unix:path=" + sock}
	b.env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+b.addr)
	b.m = launchManager(t, writeUnits(t, files), launchOptions{env: b.env, stopWait: 10 * time.Second})
	if out, code := b.m.flint("start", "dbus.service"); code != 0 {
		t.Fatalf("start dbus.service: %s", out)
	}
	if !waitFor(30*time.Second, b.owned) {
		t.Fatal("flint does not own org.freedesktop.systemd1 on the bus it started")
	}
	return b
}

// owned reports whether flint answers as org.freedesktop.systemd1 on the bus.
func (b *systemBus) owned() bool {
	c, err := dbus.Connect(b.addr)
	if err != nil {
		return false
	}
	defer c.Close()
	var v dbus.Variant
	err = c.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").Call("org.freedesktop.DBus.Properties.Get", 0,
		"org.freedesktop.systemd1.Manager", "Version").Store(&v)
	return err == nil && v.Value() == "252 (flint)"
}

// TestDBusSystemBus: a system bus daemon that flint itself runs (dbus.socket, dbus.service of
// Type=notify): once dbus.service is active flint owns org.freedesktop.systemd1 on the bus, and
// the bus's clients drive it there: busctl, gdbus, python's dbus, go-systemd's
// NewSystemConnection, systemd-run --wait (root's systemd-run, finding no
// /run/systemd/private, uses the bus). A caller other than root may read but not start. When
// dbus.service restarts, flint owns the name on the new bus.
func TestDBusSystemBus(t *testing.T) {
	if _, err := os.Stat("/run/systemd/private"); err == nil {
		t.Skip("/run/systemd/private exists: systemd-run would use it")
	}
	b := startSystemBus(t, map[string]string{
		"sleeper.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n",
	}, "/usr/bin/busctl")
	m, env := b.m, b.env
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", b.addr)
	run := func(cred *syscall.Credential, name string, args ...string) (string, int) {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Run()
		return out.String(), cmd.ProcessState.ExitCode()
	}
	if out, code := run(nil, "busctl", "--system", "tree", "org.freedesktop.systemd1"); code != 0 ||
		!strings.Contains(out, "/org/freedesktop/systemd1/unit/dbus_2eservice") {
		t.Errorf("busctl --system tree: exit %d\n%s", code, out)
	}
	if out, code := run(nil, "busctl", "--system", "introspect", "org.freedesktop.systemd1", "/org/freedesktop/systemd1"); code != 0 ||
		!strings.Contains(out, ".StartTransientUnit") || !strings.Contains(out, ".JobRemoved") {
		t.Errorf("busctl --system introspect: exit %d\n%s", code, out)
	}
	if _, err := exec.LookPath("gdbus"); err == nil {
		if out, code := run(nil, "gdbus", "call", "--system", "--dest", "org.freedesktop.systemd1", "--object-path", "/org/freedesktop/systemd1",
			"--method", "org.freedesktop.systemd1.Manager.GetUnit", "dbus.service"); code != 0 || out != "(objectpath '/org/freedesktop/systemd1/unit/dbus_2eservice',)\n" {
			t.Errorf("gdbus call GetUnit: exit %d\n%s", code, out)
		}
	}
	if _, err := os.Stat("/usr/lib/python3/dist-packages/dbus"); err == nil {
		py := `import dbus
o = dbus.SystemBus().get_object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
print(o.Get("org.freedesktop.systemd1.Manager", "Version", dbus_interface="org.freedesktop.DBus.Properties"))`
		if out, code := run(nil, "/usr/bin/python3", "-c", py); code != 0 || out != "252 (flint)\n" {
			t.Errorf("python dbus: exit %d\n%s", code, out)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := sddbus.NewSystemConnectionContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	list, err := conn.ListUnitsByNamesContext(ctx, []string{"dbus.service"})
	if err != nil || len(list) != 1 || list[0].ActiveState != "active" {
		t.Errorf("ListUnitsByNames: %+v %v", list, err)
	}
	for _, step := range []struct {
		what string
		fn   func(chan<- string) (int, error)
	}{
		{"start", func(ch chan<- string) (int, error) {
			return conn.StartUnitContext(ctx, "sleeper.service", "replace", ch)
		}},
		{"stop", func(ch chan<- string) (int, error) {
			return conn.StopUnitContext(ctx, "sleeper.service", "replace", ch)
		}},
	} {
		ch := make(chan string, 1)
		if _, err := step.fn(ch); err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
		select {
		case r := <-ch:
			if r != "done" {
				t.Errorf("%s sleeper.service: %s", step.what, r)
			}
		case <-ctx.Done():
			t.Fatalf("%s: no JobRemoved through the bus", step.what)
		}
	}

	// systemd-run wants a booted systemd (/run/systemd/system): a /run of its own has that
	// and no /run/systemd/private.
	waited := bootedRun("systemd-run", "--wait", "--unit=waited", "/bin/sh", "-c", "exit 3")
	if out, code := run(nil, waited[0], waited[1:]...); code != 3 ||
		!strings.Contains(out, "Running as unit: waited.service\n") || !strings.Contains(out, "Finished with result: exit-code\n") {
		t.Errorf("systemd-run --wait: exit %d\n%s", code, out)
	}

	nobody := &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}
	if out, code := run(nobody, "busctl", "--system", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
		"org.freedesktop.systemd1.Manager", "GetUnit", "s", "dbus.service"); code != 0 || !strings.Contains(out, "dbus_2eservice") {
		t.Errorf("GetUnit by nobody: exit %d\n%s", code, out)
	}
	if out, code := run(nobody, "busctl", "--system", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
		"org.freedesktop.systemd1.Manager", "StartUnit", "ss", "sleeper.service", "replace"); code == 0 || !strings.Contains(out, "Access denied") {
		t.Errorf("StartUnit by nobody: exit %d\n%s", code, out)
	}

	// The bus daemon restarts: flint owns the name on the new one.
	if out, code := m.flint("restart", "dbus.service"); code != 0 {
		t.Fatalf("restart dbus.service: %s", out)
	}
	if !waitFor(30*time.Second, b.owned) {
		t.Fatal("flint does not own org.freedesktop.systemd1 on the restarted bus")
	}
}
