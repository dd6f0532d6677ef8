package bpf

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/flint-init/flint/internal/cgroup"
	"golang.org/x/sys/unix"
)

// The test binary plays the process in the cgroup: FLINT_BPF_CHILD says what to try, and its
// exit status says what happened (0 done, 1 EPERM, 2 another error, 3 a connection timed out).
func TestMain(m *testing.M) {
	if what := os.Getenv("FLINT_BPF_CHILD"); what != "" {
		os.Exit(child(what))
	}
	os.Exit(m.Run())
}

func child(what string) int {
	verb, arg, _ := strings.Cut(what, " ")
	var err error
	switch verb {
	case "bind": // "bind tcp4 PORT" or "bind udp6 PORT"
		netw, port, _ := strings.Cut(arg, " ")
		host := "127.0.0.1"
		if strings.HasSuffix(netw, "6") {
			host = "::1"
		}
		addr := net.JoinHostPort(host, port)
		if strings.HasPrefix(netw, "udp") {
			var c net.PacketConn
			if c, err = net.ListenPacket(netw, addr); err == nil {
				c.Close()
			}
		} else {
			var l net.Listener
			if l, err = net.Listen(netw, addr); err == nil {
				l.Close()
			}
		}
	case "open": // "open PATH"
		var f *os.File
		if f, err = os.Open(arg); err == nil {
			f.Close()
		}
	case "write":
		var f *os.File
		if f, err = os.OpenFile(arg, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
	case "connect": // "connect HOST:PORT": one SYN retry, so that a dropped SYN fails soon
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_SYNCNT, 1) })
		}}
		var c net.Conn
		if c, err = d.Dial("tcp", arg); err == nil {
			c.Close()
		} else if errors.Is(err, syscall.ETIMEDOUT) {
			return 3
		}
	case "send": // "send HOST:PORT": one UDP datagram
		var c net.Conn
		if c, err = net.Dial("udp", arg); err == nil {
			_, err = c.Write([]byte("x"))
			c.Close()
		}
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, syscall.EPERM):
		return 1
	}
	fmt.Fprintln(os.Stderr, err)
	return 2
}

// testCgroup makes a cgroup2 directory for the test, removed after it.
func testCgroup(t *testing.T) string {
	t.Helper()
	needBPF(t)
	l := cgroup.Detect()
	if l.Kind == cgroup.None || !l.Tracking.V2 {
		t.Skip("no writable cgroup2 hierarchy")
	}
	dir := filepath.Join(l.Tracking.Dir(""), fmt.Sprintf("flint-bpf-%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Rmdir(dir) })
	return dir
}

// runIn runs the test binary as a child in the cgroup dir and returns its exit status.
func runIn(t *testing.T, dir, what string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLINT_BPF_CHILD="+what)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func attach(t *testing.T, dir string, s *Spec) *Set {
	t.Helper()
	set, err := Attach(dir, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := set.Close(); err != nil {
			t.Error(err)
		}
	})
	return set
}

func TestBindPrograms(t *testing.T) {
	dir := testCgroup(t)
	// Ports from this test's range; bind only, nothing listens for long.
	attach(t, dir, &Spec{
		BindAllow: []BindRule{{Family: unix.AF_INET6, PortMin: 20410, PortMax: 20419}, {Protocol: unix.IPPROTO_UDP, PortMin: 20420, PortMax: 20420}},
		BindDeny:  []BindRule{{}},
	})
	for _, tc := range []struct {
		what string
		want int
	}{
		{"bind tcp4 20401", 1},
		{"bind tcp4 0", 1}, // "any" covers port 0 too, as in systemd
		{"bind tcp6 20401", 1},
		{"bind tcp6 20411", 0},
		{"bind tcp4 20411", 1}, // the allow rule is IPv6's
		{"bind udp4 20420", 0},
		{"bind tcp4 20420", 1}, // udp's
		{"bind udp6 20419", 0},
		{"bind udp6 20421", 1},
	} {
		if got := runIn(t, dir, tc.what); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.what, got, tc.want)
		}
	}
}

func TestBindProgramRules(t *testing.T) {
	dir := testCgroup(t)
	// Deny one TCP range of IPv4 only; everything else binds.
	attach(t, dir, &Spec{BindDeny: []BindRule{{Family: unix.AF_INET, Protocol: unix.IPPROTO_TCP, PortMin: 20430, PortMax: 20439}}})
	for _, tc := range []struct {
		what string
		want int
	}{
		{"bind tcp4 20430", 1},
		{"bind tcp4 20439", 1},
		{"bind tcp4 20440", 0},
		{"bind tcp4 20429", 0},
		{"bind udp4 20435", 0},
		{"bind tcp6 20435", 0},
		{"bind tcp4 0", 0},
	} {
		if got := runIn(t, dir, tc.what); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.what, got, tc.want)
		}
	}
}

func devRule(t *testing.T, path string, access int) DeviceRule {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Skip(err)
	}
	return DeviceRule{Type: DevChar, Major: unix.Major(st.Rdev), Minor: unix.Minor(st.Rdev), Access: access}
}

func TestDeviceProgram(t *testing.T) {
	dir := testCgroup(t)
	zero := devRule(t, "/dev/zero", DevRead)
	full := devRule(t, "/dev/full", DevRead|DevWrite)
	attach(t, dir, &Spec{DeviceFilter: true, Devices: []DeviceRule{zero, full}})
	for _, tc := range []struct {
		what string
		want int
	}{
		{"open /dev/null", 1},
		{"open /dev/zero", 0},
		{"write /dev/zero", 1},
		{"write /dev/full", 0},
		{"open /etc/hostname", 0}, // no device
	} {
		if got := runIn(t, dir, tc.what); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.what, got, tc.want)
		}
	}
}

func TestDeviceMajorOnly(t *testing.T) {
	dir := testCgroup(t)
	null := devRule(t, "/dev/null", DevRead|DevWrite|DevMknod)
	null.AnyMinor = true // major 1: null, zero, full, random, urandom, ...
	attach(t, dir, &Spec{DeviceFilter: true, Devices: []DeviceRule{null}})
	for _, p := range []string{"/dev/null", "/dev/zero", "/dev/urandom"} {
		if got := runIn(t, dir, "open "+p); got != 0 {
			t.Errorf("open %s: exit %d", p, got)
		}
	}
	if got := runIn(t, dir, "open /dev/tty"); got != 1 && got != 2 {
		t.Errorf("open /dev/tty: exit %d", got)
	}
}

func TestFirewallAttached(t *testing.T) {
	dir := testCgroup(t)
	l, err := net.Listen("tcp", "127.0.0.1:20450")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan bool, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- true
			c.Close()
		}
	}()
	set := attach(t, dir, &Spec{IP: IPFilter{Deny: prefixes("0.0.0.0/0", "::/0")}, IPAccounting: true})
	// The dropped SYN is sent again until the connection times out: no connection.
	if got := runIn(t, dir, "connect 127.0.0.1:20450"); got != 3 {
		t.Errorf("connect under IPAddressDeny=any: exit %d, want 3 (timed out)", got)
	}
	if got := runIn(t, dir, "send 127.0.0.1:20450"); got != 1 {
		t.Errorf("UDP send under IPAddressDeny=any: exit %d, want 1 (EPERM)", got)
	}
	if len(accepted) > 0 {
		t.Errorf("a connection got through IPAddressDeny=any")
	}
	if ip, _, op, _, ok := set.IPCounters(); !ok || ip != 0 || op != 0 {
		t.Errorf("dropped packets counted: in %d, out %d (ok %v)", ip, op, ok)
	}
	set.Close()
	set = attach(t, dir, &Spec{IP: IPFilter{Allow: prefixes("127.0.0.0/8", "::1/128"), Deny: prefixes("0.0.0.0/0", "::/0")}, IPAccounting: true})
	if got := runIn(t, dir, "connect 127.0.0.1:20450"); got != 0 {
		t.Errorf("connect under IPAddressAllow=localhost: exit %d, want 0", got)
	}
	<-accepted
	ip, ib, op, ob, ok := set.IPCounters()
	if !ok || ip == 0 || op == 0 || ib == 0 || ob == 0 {
		t.Errorf("IP accounting: in %d packets %d bytes, out %d packets %d bytes (ok %v)", ip, ib, op, ob, ok)
	}
	if got := runIn(t, dir, "bind tcp4 "+strconv.Itoa(20451)); got != 0 {
		t.Errorf("bind without a bind filter: exit %d", got)
	}
}
