package listen

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

func TestAccept(t *testing.T) {
	uid := strconv.Itoa(os.Getuid())
	pid := strconv.Itoa(os.Getpid())
	sockPath := filepath.Join(t.TempDir(), "a.sock")
	tests := []struct {
		name       string
		spec       unit.Listen
		bind6      string
		dialNet    string
		dialAddr   string
		wantLocal  string
		wantRemote func(client net.Addr) string // from the client's local address
		wantAddr   string
		wantSource string
	}{
		{"ipv4", tcp("127.0.0.1", 20260), "", "tcp4", "127.0.0.1:20260", "127.0.0.1:20260",
			func(a net.Addr) string { return a.String() }, "127.0.0.1", "127.0.0.1"},
		{"ipv6", tcp("::1", 20261), "", "tcp6", "[::1]:20261", "::1:20261",
			func(a net.Addr) string { return "::1:" + strconv.Itoa(a.(*net.TCPAddr).Port) }, "::1", "::1"},
		{"dual-stack mapped ipv4", tcp("", 20262), "both", "tcp4", "127.0.0.1:20262", "127.0.0.1:20262",
			func(a net.Addr) string { return a.String() }, "127.0.0.1", "127.0.0.1"},
		{"unix", unixPath(unit.ListenStream, sockPath), "", "unix", sockPath, pid,
			func(net.Addr) string { return uid }, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpen(t, tc.spec, section(func(c *unit.SocketSection) {
				c.Accept = true
				if tc.bind6 != "" {
					c.BindIPv6Only = tc.bind6
				}
			}))
			if _, err := s.Accept(); !errors.Is(err, unix.EAGAIN) {
				t.Fatalf("Accept with nothing pending: %v, want EAGAIN", err)
			}
			client, err := net.Dial(tc.dialNet, tc.dialAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			waitReadable(t, s.Fd())
			c, err := s.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.File.Close()
			checkFdFlags(t, int(c.File.Fd()), true)
			wantRemote := tc.wantRemote(client.LocalAddr())
			if c.Local != tc.wantLocal || c.Remote != wantRemote {
				t.Errorf("Local, Remote = %q, %q; want %q, %q", c.Local, c.Remote, tc.wantLocal, wantRemote)
			}
			if c.RemoteAddr != tc.wantAddr || c.SourceKey != tc.wantSource {
				t.Errorf("RemoteAddr %q SourceKey %q; want %q %q", c.RemoteAddr, c.SourceKey, tc.wantAddr, tc.wantSource)
			}
			if tc.dialNet != "unix" {
				if want := client.LocalAddr().String(); c.Peer != want {
					t.Errorf("Peer = %q, want %q", c.Peer, want)
				}
				if want := strconv.Itoa(client.LocalAddr().(*net.TCPAddr).Port); c.RemotePort != want {
					t.Errorf("RemotePort = %q, want %q", c.RemotePort, want)
				}
			} else if c.PeerPID != os.Getpid() || c.PeerUID != os.Getuid() || c.RemotePort != "" {
				t.Errorf("unix peer: pid %d uid %d port %q", c.PeerPID, c.PeerUID, c.RemotePort)
			}
			if got, want := InstanceName(3, c), "3-"+tc.wantLocal+"-"+wantRemote; got != want {
				t.Errorf("InstanceName = %q, want %q", got, want)
			}
			// The connection works.
			client.Write([]byte("ping"))
			buf := make([]byte, 4)
			waitReadable(t, int(c.File.Fd()))
			if n, err := c.File.Read(buf); n != 4 || err != nil {
				t.Errorf("read %d %v", n, err)
			}
		})
	}
}

func TestInstanceName(t *testing.T) {
	tests := []struct {
		name string
		n    uint64
		c    Conn
		want string
	}{
		{"ipv4", 3, Conn{Local: "127.0.0.1:22", Remote: "127.0.0.1:40000"}, "3-127.0.0.1:22-127.0.0.1:40000"},
		{"ipv6", 12, Conn{Local: "::1:22", Remote: "fe80::1:40000"}, "12-::1:22-fe80::1:40000"},
		{"unix", 0, Conn{Local: "1234", Remote: "1000"}, "0-1234-1000"},
		{"unix other namespace", 7, Conn{Local: "unknown"}, "7-unknown"},
		{"vsock", 5, Conn{Local: "2:1024", Remote: "3:5000"}, "5-2:1024-3:5000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := InstanceName(tc.n, &tc.c); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSetIP checks the address formatting against glibc's inet_ntop, which systemd uses.
func TestSetIP(t *testing.T) {
	tests := []struct {
		name              string
		local, remote     string
		wantLocal, wantRe string
		wantAddr          string
	}{
		{"ipv4", "10.0.0.1", "192.168.1.2", "10.0.0.1:80", "192.168.1.2:9", "192.168.1.2"},
		{"both mapped", "::ffff:10.0.0.1", "::ffff:1.2.3.4", "10.0.0.1:80", "1.2.3.4:9", "1.2.3.4"},
		{"only remote mapped", "::1", "::ffff:1.2.3.4", "::1:80", "::ffff:1.2.3.4:9", "1.2.3.4"},
		{"compressed", "2001:db8:0:0:1:0:0:1", "fe80::abcd", "2001:db8::1:0:0:1:80", "fe80::abcd:9", "fe80::abcd"},
		{"single zero group", "2001:db8:0:1:1:1:1:1", "::", "2001:db8:0:1:1:1:1:1:80", ":::9", "::"},
		{"ipv4-compatible", "::1.2.3.4", "::102", "::1.2.3.4:80", "::102:9", "::102"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Conn
			c.setIP(netip.MustParseAddr(tc.local), 80, netip.MustParseAddr(tc.remote), 9)
			if c.Local != tc.wantLocal || c.Remote != tc.wantRe || c.RemoteAddr != tc.wantAddr {
				t.Errorf("got %q %q %q; want %q %q %q", c.Local, c.Remote, c.RemoteAddr, tc.wantLocal, tc.wantRe, tc.wantAddr)
			}
		})
	}
}

// TestInstanceNamesGolden replays what systemd 252 itself named real connections.
func TestInstanceNamesGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/instance_names.golden")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 7 {
			t.Fatalf("bad golden line %q", line)
		}
		t.Run(f[3], func(t *testing.T) {
			n, _ := strconv.ParseUint(f[0], 10, 64)
			c := Conn{Local: f[1], Remote: f[2]}
			if f[4] != "" {
				// Rebuild the Conn from addresses as Accept does.
				local := netip.MustParseAddrPort(hostPort(f[1]))
				remote := netip.MustParseAddrPort(hostPort(f[2]))
				c = Conn{}
				c.setIP(local.Addr(), int(local.Port()), remote.Addr(), int(remote.Port()))
			}
			if got := InstanceName(n, &c); got != f[3] {
				t.Errorf("InstanceName = %q, want %q", got, f[3])
			}
			if c.RemoteAddr != f[4] || c.RemotePort != f[5] || c.Peer != f[6] {
				t.Errorf("REMOTE_ADDR %q REMOTE_PORT %q Peer %q; want %q %q %q", c.RemoteAddr, c.RemotePort, c.Peer, f[4], f[5], f[6])
			}
		})
	}
}

// hostPort turns systemd's unbracketed "addr:port" into a parseable "[addr]:port".
func hostPort(s string) string {
	i := strings.LastIndexByte(s, ':')
	if !strings.Contains(s[:i], ":") {
		return s
	}
	return "[" + s[:i] + "]" + s[i:]
}

func TestAcceptVsock(t *testing.T) {
	if _, err := os.Stat("/sys/module/vsock_loopback"); err != nil {
		t.Skip("no vsock loopback transport (module vsock_loopback) to connect through")
	}
	spec := unit.Listen{Kind: unit.ListenStream, Family: unit.FamilyVsock, VsockCID: unix.VMADDR_CID_ANY, Port: 20275}
	s, err := Open(spec, nil)
	if err != nil {
		t.Skipf("no vsock: %v", err)
	}
	defer s.Close(nil)
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_LOCAL, Port: 20275}); err != nil {
		t.Skipf("no vsock loopback (vsock_loopback module): %v", err)
	}
	cl, _ := unix.Getsockname(fd)
	cport := cl.(*unix.SockaddrVM).Port
	waitReadable(t, s.Fd())
	c, err := s.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.File.Close()
	wantRemote := fmt.Sprintf("1:%d", cport)
	if c.Local != "1:20275" || c.Remote != wantRemote || c.RemoteAddr != "vsock:1" || c.SourceKey != "1" {
		t.Errorf("got %+v", c)
	}
	if got := InstanceName(4, c); got != "4-1:20275-"+wantRemote {
		t.Errorf("InstanceName = %q", got)
	}
}
