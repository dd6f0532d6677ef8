package e2e

import (
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// TestBPFSliceFilters: a slice's DevicePolicy=/DeviceAllow=, SocketBindDeny= and
// IPAccounting= hold for the real processes of the units below it, a nested slice's too, and
// a unit's own more open settings do not undo them (the kernel runs the slice's programs
// after the unit's, and either refuses); a unit outside the slice is not concerned. The
// slice counts the IP traffic of its units.
func TestBPFSliceFilters(t *testing.T) {
	needCgroupBPF(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:24321")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	dir := t.TempDir()
	checks := []string{"read:/dev/null", "read:/dev/zero", "bind:tcp4:24311", "bind:tcp4:24312", "udp:24321"}
	units := writeUnits(t, map[string]string{
		"guarded.slice":       "[Slice]\nDevicePolicy=strict\nDeviceAllow=/dev/null rw\nSocketBindDeny=ipv4:tcp:24311\nIPAccounting=yes\n",
		"guarded-inner.slice": "[Slice]\nMemoryAccounting=yes\n",
		"in.service":          probeUnit(dir, "in", "Slice=guarded.slice", checks...),
		"own.service":         probeUnit(dir, "own", "Slice=guarded.slice\nDeviceAllow=/dev/zero r\nSocketBindAllow=tcp:24311\nSocketBindDeny=any", checks...),
		"nested.service":      probeUnit(dir, "nested", "Slice=guarded-inner.slice", checks...),
		"outside.service":     probeUnit(dir, "outside", "", checks...),
	})
	m, _ := cgroupManager(t, units)
	c := on(t, m)
	guarded := map[string]string{"read:/dev/null": "ok", "read:/dev/zero": "EPERM", "bind:tcp4:24311": "EPERM", "bind:tcp4:24312": "ok", "udp:24321": "ok"}
	for _, tc := range []struct {
		unit string
		want map[string]string
	}{
		{"in", guarded},
		// Its own list opens /dev/zero and port 24311, the slice's does not; its own
		// SocketBindDeny=any closes 24312.
		{"own", map[string]string{"read:/dev/null": "ok", "read:/dev/zero": "EPERM", "bind:tcp4:24311": "EPERM", "bind:tcp4:24312": "EPERM", "udp:24321": "ok"}},
		{"nested", guarded},
		{"outside", map[string]string{"read:/dev/null": "ok", "read:/dev/zero": "ok", "bind:tcp4:24311": "ok", "bind:tcp4:24312": "ok", "udp:24321": "ok"}},
	} {
		c.start(tc.unit + ".service")
		got := results(t, filepath.Join(dir, tc.unit+".out"))
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %s=%s, want %s", tc.unit, k, got[k], v)
			}
		}
	}
	// in, own and nested each sent one datagram from below the slice; outside's is not
	// counted.
	out, _ := m.flint("show", "guarded.slice", "-p", "IPEgressPackets", "--value")
	if n, err := strconv.Atoi(strings.TrimSpace(out)); err != nil || n < 3 {
		t.Errorf("guarded.slice IPEgressPackets=%q, want at least 3", out)
	}
	if out, _ := m.flint("show", "guarded-inner.slice", "-p", "IPEgressPackets", "--value"); strings.TrimSpace(out) != "[no data]" {
		t.Errorf("guarded-inner.slice (no IPAccounting=) IPEgressPackets=%q", out)
	}
	// Started again, the slice counts from zero (systemd's slice_start resets it).
	c.run(0, "stop", "guarded.slice")
	c.start("guarded.slice")
	if out, _ := m.flint("show", "guarded.slice", "-p", "IPEgressPackets", "--value"); strings.TrimSpace(out) != "0" {
		t.Errorf("guarded.slice started again: IPEgressPackets=%q, want 0", out)
	}
	// Its settings gone (a reload), its programs go at the next start of a unit below.
	if err := os.WriteFile(filepath.Join(units, "guarded.slice"), []byte("[Slice]\nMemoryAccounting=yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.run(0, "daemon-reload")
	os.Remove(filepath.Join(dir, "in.out"))
	c.start("in.service")
	if got := results(t, filepath.Join(dir, "in.out")); got["read:/dev/zero"] != "ok" || got["bind:tcp4:24311"] != "ok" {
		t.Errorf("in.service after guarded.slice lost its settings: %v", got)
	}
}

// TestBPFSliceScope: a scope made over D-Bus (flint's private socket) in a slice with a
// device policy: once its process is in the scope, the slice's policy holds for it.
func TestBPFSliceScope(t *testing.T) {
	needCgroupBPF(t)
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"guarded.slice": "[Slice]\nDevicePolicy=strict\nDeviceAllow=/dev/null rw\n",
	})
	m, _ := cgroupManager(t, units)
	out := filepath.Join(dir, "out")
	// The process tries /dev/zero once told (a line on its stdin), after it joined the scope.
	cmd := exec.Command("/bin/sh", "-c", `read x; if head -c1 /dev/zero >/dev/null 2>&1; then echo open; else echo refused; fi >`+out)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	conn, err := dbus.Dial("unix:path=" + filepath.Join(filepath.Dir(m.control), "systemd", "private"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Auth(nil); err != nil {
		t.Fatal(err)
	}
	mgr := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	props := []dbusProp{{"PIDs", dbus.MakeVariant([]uint32{uint32(cmd.Process.Pid)})}, {"Slice", dbus.MakeVariant("guarded.slice")}}
	aux := []struct {
		Name  string
		Props []dbusProp
	}{}
	if err := mgr.Call("org.freedesktop.systemd1.Manager.StartTransientUnit", 0, "guarded-run.scope", "fail", props, aux).Err; err != nil {
		t.Fatalf("StartTransientUnit: %v", err)
	}
	if !waitFor(30*time.Second, func() bool { out, _ := m.flint("is-active", "guarded-run.scope"); return out == "active\n" }) {
		t.Fatal("guarded-run.scope is not active")
	}
	io.WriteString(in, "go\n")
	if got := strings.TrimSpace(readWait(t, out)); got != "refused" {
		t.Errorf("/dev/zero from the scope's process: %s, want refused", got)
	}
}
