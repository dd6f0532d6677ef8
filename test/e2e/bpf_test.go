package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/cgroup/bpf"
	"golang.org/x/sys/unix"
)

// cgroup BPF: IPAddressAllow=/IPAddressDeny=, IPAccounting=, SocketBindAllow=/SocketBindDeny=
// and DeviceAllow=/DevicePolicy= enforced on real processes of units in a flint with cgroups.

// probe is a Python program a service runs: each argument is a check ("tcp:PORT",
// "udp:PORT", "bind:tcp4:PORT", "bind:udp6:PORT", "read:PATH", "write:PATH"), and it writes
// "check=ok" or "check=ERRNO" lines to the file named first. A TCP connection tries its SYN
// twice (TCP_SYNCNT=1): a filtered SYN times out within seconds.
const probe = `
import errno, socket, sys
out = []
for c in sys.argv[2:]:
    kind, _, arg = c.partition(":")
    try:
        if kind == "tcp":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 1)
            s.connect(("127.0.0.1", int(arg)))
        elif kind == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(b"x", ("127.0.0.1", int(arg)))
        elif kind == "bind":
            proto, _, port = arg.partition(":")
            fam = socket.AF_INET6 if proto.endswith("6") else socket.AF_INET
            typ = socket.SOCK_DGRAM if proto.startswith("udp") else socket.SOCK_STREAM
            s = socket.socket(fam, typ)
            s.bind(("::1" if fam == socket.AF_INET6 else "127.0.0.1", int(port)))
        elif kind == "read":
            open(arg, "rb").close()
        elif kind == "write":
            open(arg, "wb").close()
        out.append(c + "=ok")
    except OSError as e:
        out.append(c + "=" + errno.errorcode.get(e.errno, str(e.errno)))
open(sys.argv[1], "w").write("\n".join(out) + "\n")
`

func needCgroupBPF(t *testing.T) {
	t.Helper()
	if err := bpf.Supported(); err != nil {
		t.Skipf("no cgroup BPF here: %v", err)
	}
}

// probeUnit is a oneshot service running the probe with checks, its results in dir/name.out.
func probeUnit(dir, name, settings string, checks ...string) string {
	script := filepath.Join(dir, "probe.py")
	os.WriteFile(script, []byte(probe), 0o644)
	return unitFile("Service", "Type=oneshot\nRemainAfterExit=yes\nExecStart=/usr/bin/python3 "+script+" "+
		filepath.Join(dir, name+".out")+" "+strings.Join(checks, " ")+"\n"+settings)
}

// results reads a probe's lines into check -> result.
func results(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(readWait(t, path)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		out[k] = v
	}
	return out
}

func TestBPFIPAddressFilter(t *testing.T) {
	needCgroupBPF(t)
	ln, err := net.Listen("tcp", "127.0.0.1:20460")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			c.Close()
		}
	}()
	pc, err := net.ListenPacket("udp", "127.0.0.1:20460")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"deny.service":  probeUnit(dir, "deny", "IPAddressDeny=any", "tcp:20460", "udp:20460"),
		"allow.service": probeUnit(dir, "allow", "IPAddressDeny=any\nIPAddressAllow=localhost\nIPAccounting=yes", "tcp:20460", "udp:20460"),
		"other.service": probeUnit(dir, "other", "IPAddressDeny=any\nIPAddressAllow=10.0.0.0/8 ::1", "tcp:20460", "udp:20460"),
	})
	m, _ := cgroupManager(t, units)
	c := on(t, m)
	c.start("deny.service")
	if r := results(t, filepath.Join(dir, "deny.out")); r["tcp:20460"] != "ETIMEDOUT" || r["udp:20460"] != "EPERM" {
		t.Errorf("IPAddressDeny=any: %v, want the SYN dropped (ETIMEDOUT) and the datagram refused (EPERM)", r)
	}
	c.start("other.service")
	if r := results(t, filepath.Join(dir, "other.out")); r["tcp:20460"] != "ETIMEDOUT" || r["udp:20460"] != "EPERM" {
		t.Errorf("IPAddressDeny=any with an allow list without 127.0.0.1: %v", r)
	}
	if len(accepted) != 0 {
		t.Fatalf("a connection got through IPAddressDeny=any")
	}
	c.start("allow.service")
	if r := results(t, filepath.Join(dir, "allow.out")); r["tcp:20460"] != "ok" || r["udp:20460"] != "ok" {
		t.Errorf("IPAddressAllow=localhost: %v, want both ok", r)
	}
	<-accepted
	buf := make([]byte, 16)
	if n, _, err := pc.ReadFrom(buf); err != nil || string(buf[:n]) != "x" {
		t.Errorf("datagram %q, %v", buf[:n], err)
	}
	p := c.props("allow.service", "IPIngressBytes", "IPIngressPackets", "IPEgressBytes", "IPEgressPackets")
	for k, v := range p {
		if n, err := strconv.ParseUint(v, 10, 64); err != nil || n == 0 {
			t.Errorf("%s=%s, want a count", k, v)
		}
	}
	st, _ := c.flint("status", "allow.service")
	if !strings.Contains(st, "\n         IP: ") || !strings.Contains(st, " in, ") {
		t.Errorf("status lacks the IP: line:\n%s", st)
	}
	if v := c.prop("deny.service", "IPIngressBytes"); v != "[no data]" {
		t.Errorf("IPIngressBytes=%s without IPAccounting=", v)
	}
}

func TestBPFSocketBind(t *testing.T) {
	needCgroupBPF(t)
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"nobind.service": probeUnit(dir, "nobind", "SocketBindDeny=any", "bind:tcp4:20461", "bind:udp6:20461", "bind:tcp4:0"),
		"some.service": probeUnit(dir, "some", "SocketBindAllow=tcp:20462-20463\nSocketBindAllow=ipv6:udp:20464\nSocketBindDeny=any",
			"bind:tcp4:20462", "bind:tcp6:20463", "bind:udp4:20462", "bind:udp6:20464", "bind:udp4:20464", "bind:tcp4:20465"),
		"free.service": probeUnit(dir, "free", "SocketBindDeny=ipv4:udp:20466", "bind:tcp4:20466", "bind:udp4:20466", "bind:udp6:20466"),
	})
	m, _ := cgroupManager(t, units)
	c := on(t, m)
	for _, tc := range []struct {
		unit string
		want map[string]string
	}{
		{"nobind", map[string]string{"bind:tcp4:20461": "EPERM", "bind:udp6:20461": "EPERM", "bind:tcp4:0": "EPERM"}},
		{"some", map[string]string{"bind:tcp4:20462": "ok", "bind:tcp6:20463": "ok", "bind:udp4:20462": "EPERM",
			"bind:udp6:20464": "ok", "bind:udp4:20464": "EPERM", "bind:tcp4:20465": "EPERM"}},
		{"free", map[string]string{"bind:tcp4:20466": "ok", "bind:udp4:20466": "EPERM", "bind:udp6:20466": "ok"}},
	} {
		c.start(tc.unit + ".service")
		got := results(t, filepath.Join(dir, tc.unit+".out"))
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %s=%s, want %s", tc.unit, k, got[k], v)
			}
		}
	}
}

func TestBPFDevicePolicy(t *testing.T) {
	needCgroupBPF(t)
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"closed.service": probeUnit(dir, "closed", "DevicePolicy=closed", "read:/dev/null", "write:/dev/zero", "read:/dev/full"),
		"strict.service": probeUnit(dir, "strict", "DevicePolicy=strict\nDeviceAllow=/dev/zero r", "read:/dev/null", "read:/dev/zero", "write:/dev/zero"),
		"auto.service":   probeUnit(dir, "auto", "DeviceAllow=/dev/full w", "read:/dev/null", "write:/dev/full", "read:/dev/full"),
		"open.service":   probeUnit(dir, "open", "", "read:/dev/null", "read:/dev/full"),
		"clock.service":  probeUnit(dir, "clock", "ProtectClock=yes", "read:/dev/null", "read:/dev/full"),
	})
	m, _ := cgroupManager(t, units)
	c := on(t, m)
	for _, tc := range []struct {
		unit string
		want map[string]string
	}{
		{"closed", map[string]string{"read:/dev/null": "ok", "write:/dev/zero": "ok", "read:/dev/full": "ok"}},
		{"strict", map[string]string{"read:/dev/null": "EPERM", "read:/dev/zero": "ok", "write:/dev/zero": "EPERM"}},
		// auto with a list: the list and the standard pseudo devices.
		{"auto", map[string]string{"read:/dev/null": "ok", "write:/dev/full": "ok", "read:/dev/full": "ok"}},
		{"open", map[string]string{"read:/dev/null": "ok", "read:/dev/full": "ok"}},
		// ProtectClock= alone sets no device policy (systemd adds char-rtc r only to one in force).
		{"clock", map[string]string{"read:/dev/null": "ok", "read:/dev/full": "ok"}},
	} {
		c.start(tc.unit + ".service")
		got := results(t, filepath.Join(dir, tc.unit+".out"))
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %s=%s, want %s", tc.unit, k, got[k], v)
			}
		}
	}
}

// TestBPFRefusedWithoutCgroups: a flint without cgroups refuses to start a unit that asks
// for an IP filter, rather than run it unfiltered; the device policy PrivateDevices= implies
// is left out with a note (its own sandbox stands).
func TestBPFRefusedWithoutCgroups(t *testing.T) {
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"deny.service":  probeUnit(dir, "deny", "IPAddressDeny=any", "udp:20467"),
		"clock.service": probeUnit(dir, "clock", "ProtectClock=yes\nPrivateDevices=yes", "read:/dev/null"),
	})
	m := startManager(t, units) // in the test's shared cgroup: no cgroups
	c := on(t, m)
	if _, code := c.flint("start", "deny.service"); code == 0 {
		t.Fatalf("deny.service started without its IP filter")
	}
	if r := c.prop("deny.service", "Result"); r != "resources" {
		t.Errorf("Result=%s, want resources", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "deny.out")); err == nil {
		t.Errorf("the probe ran")
	}
	st, _ := c.flint("status", "deny.service")
	if !strings.Contains(st, "IPAddressDeny= cannot be enforced") {
		t.Errorf("status lacks the reason:\n%s", st)
	}
	c.start("clock.service")
	if r := results(t, filepath.Join(dir, "clock.out")); r["read:/dev/null"] != "ok" {
		t.Errorf("clock.service: %v", r)
	}
	if st, _ := c.flint("status", "clock.service"); !strings.Contains(st, "device access not restricted by cgroup BPF") {
		t.Errorf("status lacks the note:\n%s", st)
	}
}

// TestBPFSocketUnit: a socket unit's IP filter applies to its listening socket (made in the
// unit's cgroup): a connection from 127.0.0.1 is dropped under IPAddressDeny=any and goes
// through with IPAddressAllow=localhost; SocketBindDeny=any fails the socket's own bind.
func TestBPFSocketUnit(t *testing.T) {
	needCgroupBPF(t)
	serve := unitFile("Service", `ExecStart=/usr/bin/python3 -c 'import socket; s = socket.socket(fileno=3); c, _ = s.accept(); c.sendall(b"hi"); c.close()'`)
	units := writeUnits(t, map[string]string{
		"deny.socket":    unitFile("Socket", "ListenStream=127.0.0.1:20471\nIPAddressDeny=any"),
		"deny.service":   serve,
		"allow.socket":   unitFile("Socket", "ListenStream=127.0.0.1:20472\nIPAddressDeny=any\nIPAddressAllow=127.0.0.0/8\nIPAccounting=yes"),
		"allow.service":  serve,
		"nobind.socket":  unitFile("Socket", "ListenStream=127.0.0.1:20473\nSocketBindDeny=ipv4:tcp:20473"),
		"nobind.service": serve,
	})
	m, _ := cgroupManager(t, units)
	c := on(t, m)
	c.start("deny.socket")
	c.start("allow.socket")
	dial := func(addr string) (string, error) {
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, unix.TCP_SYNCNT, 1) })
		}}
		conn, err := d.Dial("tcp", addr)
		if err != nil {
			return "", err
		}
		defer conn.Close()
		b, err := io.ReadAll(conn)
		return string(b), err
	}
	if got, err := dial("127.0.0.1:20472"); err != nil || got != "hi" {
		t.Errorf("allow.socket: %q, %v", got, err)
	}
	if _, err := dial("127.0.0.1:20471"); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("deny.socket: %v, want the SYN dropped (timed out)", err)
	}
	if st := c.prop("deny.service", "ActiveState"); st != "inactive" {
		t.Errorf("deny.service %s: triggered through IPAddressDeny=any", st)
	}
	if n, err := strconv.Atoi(c.prop("allow.socket", "IPIngressPackets")); err != nil || n == 0 {
		t.Errorf("allow.socket IPIngressPackets=%d (%v)", n, err)
	}
	if _, code := c.flint("start", "nobind.socket"); code == 0 {
		t.Errorf("nobind.socket started: its bind was not filtered")
	}
	if r := c.prop("nobind.socket", "Result"); r != "resources" {
		t.Errorf("nobind.socket Result=%s, want resources", r)
	}
	// The manager is back in its own cgroup.
	if cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", m.cmd.Process.Pid)); strings.Contains(string(cg), ".socket") {
		t.Errorf("the manager stayed in a socket unit's cgroup:\n%s", cg)
	}
}

// TestBPFRestrictNetworkInterfaces: traffic through lo passes with RestrictNetworkInterfaces=lo
// and is refused with ~lo (or a list without lo).
func TestBPFRestrictNetworkInterfaces(t *testing.T) {
	needCgroupBPF(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:20475")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"lo.service":    probeUnit(dir, "lo", "RestrictNetworkInterfaces=lo", "udp:20475"),
		"notlo.service": probeUnit(dir, "notlo", "RestrictNetworkInterfaces=~lo", "udp:20475"),
		"other.service": probeUnit(dir, "other", "RestrictNetworkInterfaces=flint-none0", "udp:20475"),
	})
	m, _ := cgroupManager(t, units)
	c := on(t, m)
	for _, tc := range []struct{ unit, want string }{{"lo", "ok"}, {"notlo", "EPERM"}, {"other", "EPERM"}} {
		c.start(tc.unit + ".service")
		if r := results(t, filepath.Join(dir, tc.unit+".out")); r["udp:20475"] != tc.want {
			t.Errorf("%s: %v, want %s", tc.unit, r, tc.want)
		}
	}
	buf := make([]byte, 16)
	if n, _, err := pc.ReadFrom(buf); err != nil || string(buf[:n]) != "x" {
		t.Errorf("datagram %q, %v", buf[:n], err)
	}
}

// TestBPFSetProperty: set-property IPAddressDeny=any on a running service filters its next
// datagram; IPAddressDeny= (empty) lifts it again.
func TestBPFSetProperty(t *testing.T) {
	needCgroupBPF(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:20476")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	// For each line on the FIFO: one datagram, its result appended to out.
	units := writeUnits(t, map[string]string{
		"s.service": unitFile("Service", `ExecStart=/usr/bin/python3 -c '`+
			`import errno, socket\nf = open("`+fifo+`")\nfor line in f:\n  s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n`+
			`  try:\n    s.sendto(b"x", ("127.0.0.1", 20476)); r = "ok"\n  except OSError as e:\n    r = errno.errorcode[e.errno]\n`+
			`  open("`+out+`", "a").write(r + "\\n")'`),
	})
	m, _ := cgroupManager(t, units)
	c := on(t, m)
	c.start("s.service")
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	send := func(n int) string {
		t.Helper()
		w.Write([]byte("go\n"))
		var lines []string
		if !waitFor(15*time.Second, func() bool {
			b, _ := os.ReadFile(out)
			lines = strings.Fields(string(b))
			return len(lines) >= n
		}) {
			t.Fatalf("no result %d", n)
		}
		return lines[n-1]
	}
	if r := send(1); r != "ok" {
		t.Fatalf("before set-property: %s", r)
	}
	c.run(0, "set-property", "s.service", "IPAddressDeny=any")
	if r := send(2); r != "EPERM" {
		t.Errorf("after set-property IPAddressDeny=any: %s, want EPERM", r)
	}
	if v := c.prop("s.service", "IPAddressDeny"); v != "0.0.0.0/0 ::/0" {
		t.Errorf("IPAddressDeny=%s", v)
	}
	c.run(0, "set-property", "s.service", "IPAddressDeny=")
	if r := send(3); r != "ok" {
		t.Errorf("after IPAddressDeny= (reset): %s, want ok", r)
	}
}

// TestBPFSliceInherited: a slice's IPAddressDeny= holds for the services in it, and a
// service's own IPAddressAllow= opens what the slice denies (the lists merge, as in systemd).
func TestBPFSliceInherited(t *testing.T) {
	needCgroupBPF(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:20477")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"locked.slice":    "[Slice]\nIPAddressDeny=any\n",
		"inside.service":  probeUnit(dir, "inside", "Slice=locked.slice", "udp:20477"),
		"opened.service":  probeUnit(dir, "opened", "Slice=locked.slice\nIPAddressAllow=localhost", "udp:20477"),
		"outside.service": probeUnit(dir, "outside", "", "udp:20477"),
	})
	m, _ := cgroupManager(t, units)
	c := on(t, m)
	for _, tc := range []struct{ unit, want string }{{"inside", "EPERM"}, {"opened", "ok"}, {"outside", "ok"}} {
		c.start(tc.unit + ".service")
		if r := results(t, filepath.Join(dir, tc.unit+".out")); r["udp:20477"] != tc.want {
			t.Errorf("%s: %v, want %s", tc.unit, r, tc.want)
		}
	}
}
