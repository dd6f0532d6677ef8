package listen

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

func TestOpenUnixPath(t *testing.T) {
	tests := []struct {
		name     string
		kind     unit.ListenKind
		typ      int
		listens  bool
		mode     os.FileMode
		dirMode  os.FileMode
		user     string
		group    string
		wantUID  int
		wantGID  int
		wantDirs int
	}{
		{"stream", unit.ListenStream, unix.SOCK_STREAM, true, 0o666, 0o755, "", "", 0, 0, 0},
		{"datagram", unit.ListenDatagram, unix.SOCK_DGRAM, false, 0o600, 0o755, "", "", 0, 0, 0},
		{"seqpacket", unit.ListenSequentialPacket, unix.SOCK_SEQPACKET, true, 0o660, 0o755, "", "", 0, 0, 0},
		{"missing parents", unit.ListenStream, unix.SOCK_STREAM, true, 0o640, 0o750, "", "", 0, 0, 2},
		{"owner by name", unit.ListenStream, unix.SOCK_STREAM, true, 0o660, 0o755, "nobody", "nogroup", 65534, 65534, 0},
		{"owner by number", unit.ListenStream, unix.SOCK_STREAM, true, 0o660, 0o755, "1234", "4321", 1234, 4321, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "s.sock")
			if tc.wantDirs > 0 {
				path = filepath.Join(dir, "a", "b", "s.sock")
			}
			cfg := section(func(c *unit.SocketSection) {
				c.SocketMode, c.DirectoryMode, c.SocketUser, c.SocketGroup = tc.mode, tc.dirMode, tc.user, tc.group
			})
			s := mustOpen(t, unixPath(tc.kind, path), cfg)
			if got := getInt(t, s.Fd(), unix.SOL_SOCKET, unix.SO_TYPE); got != tc.typ {
				t.Errorf("SO_TYPE = %d, want %d", got, tc.typ)
			}
			if got := getInt(t, s.Fd(), unix.SOL_SOCKET, unix.SO_ACCEPTCONN) == 1; got != tc.listens {
				t.Errorf("listening = %v, want %v", got, tc.listens)
			}
			sa, err := unix.Getsockname(s.Fd())
			if err != nil || sa.(*unix.SockaddrUnix).Name != path {
				t.Errorf("getsockname = %v, %v; want %s", sa, err, path)
			}
			var st unix.Stat_t
			if err := unix.Stat(path, &st); err != nil {
				t.Fatal(err)
			}
			if st.Mode&unix.S_IFMT != unix.S_IFSOCK || os.FileMode(st.Mode&0o777) != tc.mode {
				t.Errorf("mode = %o, want socket %o", st.Mode, tc.mode)
			}
			if int(st.Uid) != tc.wantUID || int(st.Gid) != tc.wantGID {
				t.Errorf("owner = %d:%d, want %d:%d", st.Uid, st.Gid, tc.wantUID, tc.wantGID)
			}
			for d, i := filepath.Dir(path), 0; i < tc.wantDirs; d, i = filepath.Dir(d), i+1 {
				fi, err := os.Stat(d)
				if err != nil || fi.Mode().Perm() != tc.dirMode {
					t.Errorf("parent %s: %v, %v; want mode %o", d, fi.Mode(), err, tc.dirMode)
				}
			}
		})
	}
}

func TestUnixStaleAndLiveSocketReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	// A file left behind by a socket that is gone.
	old, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	old.(*net.UnixListener).SetUnlinkOnClose(false)
	old.Close()
	s := mustOpen(t, unixPath(unit.ListenStream, path), nil)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("connect to the new socket: %v", err)
	}
	c.Close()
	// systemd replaces even a live socket file (bind, EADDRINUSE, unlink, bind).
	s2 := mustOpen(t, unixPath(unit.ListenStream, path), nil)
	sa, _ := unix.Getsockname(s2.Fd())
	if sa.(*unix.SockaddrUnix).Name != path {
		t.Errorf("second socket bound to %v", sa)
	}
	_ = s
}

func TestUnixPathErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	tests := []struct {
		name, path, want string
		cfg              func(*unit.SocketSection)
	}{
		{"parent is a file", filepath.Join(file, "s.sock"), "listen " + filepath.Join(file, "s.sock") + ": bind: not a directory", nil},
		{"unknown user", filepath.Join(dir, "u.sock"), "SocketUser=no-such-user-flint", func(c *unit.SocketSection) { c.SocketUser = "no-such-user-flint" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := section(tc.cfg)
			_, err := Open(unixPath(unit.ListenStream, tc.path), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestAbstract(t *testing.T) {
	name := fmt.Sprintf("@flint-listen-test-%d", os.Getpid())
	s := mustOpen(t, unixPath(unit.ListenStream, name), nil)
	sa, err := unix.Getsockname(s.Fd())
	if err != nil || sa.(*unix.SockaddrUnix).Name != name {
		t.Fatalf("getsockname = %#v, %v", sa, err)
	}
	c, err := net.Dial("unix", name)
	if err != nil {
		t.Fatalf("connect %s: %v", name, err)
	}
	c.Close()
	_, err = Open(unixPath(unit.ListenStream, name), nil)
	want := "listen " + name + ": bind: address already in use"
	if err == nil || err.Error() != want {
		t.Fatalf("second Open: %v, want %q", err, want)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("error does not wrap EADDRINUSE")
	}
}

func TestAddressInUse(t *testing.T) {
	spec := tcp("127.0.0.1", 20200)
	spec.Raw = "127.0.0.1:20200"
	mustOpen(t, spec, nil)
	_, err := Open(spec, nil)
	want := "listen 127.0.0.1:20200: bind: address already in use"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	// Without Raw the name is built from the spec.
	_, err = Open(tcp("127.0.0.1", 20200), nil)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestInet(t *testing.T) {
	bindv6only := readProcInt("/proc/sys/net/ipv6/bindv6only", 0)
	tests := []struct {
		name       string
		spec       unit.Listen
		bindIPv6   string
		wantFamily int
		wantV6Only int // -1: not checked
		dial       string
	}{
		{"ipv4 stream", tcp("127.0.0.1", 20201), "default", unix.AF_INET, -1, "tcp4:127.0.0.1:20201"},
		{"ipv4 datagram", udp("127.0.0.1", 20202), "default", unix.AF_INET, -1, "udp4:127.0.0.1:20202"},
		// The kernel marks a socket bound to a specific IPv6 address IPv6-only.
		{"ipv6 stream", tcp("::1", 20203), "default", unix.AF_INET6, 1, "tcp6:[::1]:20203"},
		{"ipv6 datagram", udp("::1", 20204), "default", unix.AF_INET6, 1, "udp6:[::1]:20204"},
		{"port only both", tcp("", 20205), "both", unix.AF_INET6, 0, "tcp4:127.0.0.1:20205"},
		{"port only ipv6-only", tcp("", 20206), "ipv6-only", unix.AF_INET6, 1, "tcp6:[::1]:20206"},
		{"port only default", tcp("", 20207), "default", unix.AF_INET6, bindv6only, "tcp6:[::1]:20207"},
		{"port only datagram both", udp("", 20208), "both", unix.AF_INET6, 0, "udp4:127.0.0.1:20208"},
		{"ipv6 with interface scope", unit.Listen{Kind: unit.ListenStream, Family: unit.FamilyInet6, Host: "::1", Port: 20209, Interface: "lo"}, "default", unix.AF_INET6, -1, "tcp6:[::1]:20209"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpen(t, tc.spec, section(func(c *unit.SocketSection) { c.BindIPv6Only = tc.bindIPv6 }))
			if got := getInt(t, s.Fd(), unix.SOL_SOCKET, unix.SO_DOMAIN); got != tc.wantFamily {
				t.Errorf("family = %d, want %d", got, tc.wantFamily)
			}
			if tc.wantV6Only >= 0 {
				if got := getInt(t, s.Fd(), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); got != tc.wantV6Only {
					t.Errorf("IPV6_V6ONLY = %d, want %d", got, tc.wantV6Only)
				}
			}
			netw, addr, _ := strings.Cut(tc.dial, ":")
			c, err := net.Dial(netw, addr)
			if err != nil {
				t.Fatalf("dial %s: %v", tc.dial, err)
			}
			defer c.Close()
			if strings.HasPrefix(netw, "udp") {
				c.Write([]byte("x"))
			}
			waitReadable(t, s.Fd())
		})
	}
}

func TestInetErrors(t *testing.T) {
	tests := []struct {
		name string
		spec unit.Listen
		want string
	}{
		{"unknown interface scope", unit.Listen{Kind: unit.ListenStream, Family: unit.FamilyInet6, Host: "::1", Port: 20210, Interface: "nosuchif0", Raw: "[::1]:20210%nosuchif0"}, "listen [::1]:20210%nosuchif0: interface nosuchif0: route ip+net: no such network interface"},
		{"bad ipv4", unit.Listen{Kind: unit.ListenStream, Family: unit.FamilyInet, Host: "::1", Port: 20210}, `listen [::1]:20210: invalid IPv4 address "::1"`},
		{"seqpacket over ip", unit.Listen{Kind: unit.ListenSequentialPacket, Family: unit.FamilyInet, Host: "127.0.0.1", Port: 20210}, "listen 127.0.0.1:20210: sequential packet sockets are only available for AF_UNIX and AF_VSOCK"},
		{"address not local", tcp("192.0.2.1", 20210), "listen 192.0.2.1:20210: bind: cannot assign requested address"},
		{"usb function", unit.Listen{Kind: unit.ListenUSBFunction, Path: "/dev/usb-ffs/x"}, "listen /dev/usb-ffs/x: ListenUSBFunction is not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.spec, nil)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant  %s", err, tc.want)
			}
		})
	}
}

func TestFreeBindAllowsForeignAddress(t *testing.T) {
	s := mustOpen(t, tcp("192.0.2.1", 20211), section(func(c *unit.SocketSection) { c.FreeBind = true }))
	if getInt(t, s.Fd(), unix.IPPROTO_IP, unix.IP_FREEBIND) != 1 {
		t.Error("IP_FREEBIND not set")
	}
}

func TestBindToDevice(t *testing.T) {
	s := mustOpen(t, tcp("127.0.0.1", 20212), section(func(c *unit.SocketSection) { c.BindToDevice = "lo" }))
	dev, err := unix.GetsockoptString(s.Fd(), unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
	if err != nil || dev != "lo" {
		t.Fatalf("SO_BINDTODEVICE = %q, %v", dev, err)
	}
	_, err = Open(tcp("127.0.0.1", 20213), section(func(c *unit.SocketSection) { c.BindToDevice = "nosuchif0" }))
	if err == nil || !strings.Contains(err.Error(), "listen 127.0.0.1:20213: setsockopt SO_BINDTODEVICE nosuchif0: no such device") {
		t.Fatalf("err = %v", err)
	}
}

func TestBacklog(t *testing.T) {
	max := somaxconn()
	tests := []struct {
		name    string
		backlog uint32
		want    int
		unix    bool
	}{
		{"tcp explicit", 7, 7, false},
		{"tcp default capped by somaxconn", unit.DefaultBacklog, max, false},
		{"tcp 4294967295 (systemd.socket(5)'s default) capped", 4294967295, max, false},
		{"tcp above somaxconn", uint32(max) + 10, max, false},
		{"unix explicit", 9, 9, true},
		{"unix default", unit.DefaultBacklog, max, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := section(func(c *unit.SocketSection) { c.Backlog = tc.backlog })
			if tc.unix {
				path := filepath.Join(t.TempDir(), "b.sock")
				mustOpen(t, unixPath(unit.ListenStream, path), cfg)
				if got := ssSendQ(t, "-x", "src", path); got != tc.want {
					t.Errorf("backlog = %d, want %d", got, tc.want)
				}
				return
			}
			port := 20220 + i
			mustOpen(t, tcp("127.0.0.1", port), cfg)
			if got := ssSendQ(t, "-tn", "sport = :"+strconv.Itoa(port)); got != tc.want {
				t.Errorf("backlog = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestVsock(t *testing.T) {
	spec := unit.Listen{Kind: unit.ListenStream, Family: unit.FamilyVsock, VsockCID: unix.VMADDR_CID_ANY, Port: 20230}
	s, err := Open(spec, nil)
	if errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.ENODEV) {
		t.Skipf("no vsock in this kernel: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(nil)
	checkFdFlags(t, s.Fd(), false)
	if got := getInt(t, s.Fd(), unix.SOL_SOCKET, unix.SO_DOMAIN); got != unix.AF_VSOCK {
		t.Errorf("family = %d", got)
	}
	sa, err := unix.Getsockname(s.Fd())
	if vm, ok := sa.(*unix.SockaddrVM); err != nil || !ok || vm.Port != 20230 {
		t.Errorf("getsockname = %#v, %v", sa, err)
	}
}

func TestNetlink(t *testing.T) {
	spec := unit.Listen{Kind: unit.ListenNetlink, Family: unit.FamilyNetlink, NetlinkFamily: "kobject-uevent", NetlinkGroup: 1}
	s := mustOpen(t, spec, section(func(c *unit.SocketSection) { c.PassPacketInfo = true }))
	if got := getInt(t, s.Fd(), unix.SOL_SOCKET, unix.SO_PROTOCOL); got != unix.NETLINK_KOBJECT_UEVENT {
		t.Errorf("protocol = %d", got)
	}
	sa, err := unix.Getsockname(s.Fd())
	if nl, ok := sa.(*unix.SockaddrNetlink); err != nil || !ok || nl.Groups != 1 {
		t.Errorf("getsockname = %#v, %v", sa, err)
	}
	if got := getInt(t, s.Fd(), unix.SOL_NETLINK, unix.NETLINK_PKTINFO); got != 1 {
		t.Errorf("NETLINK_PKTINFO = %d", got)
	}
	_, err = Open(unit.Listen{Kind: unit.ListenNetlink, Family: unit.FamilyNetlink, NetlinkFamily: "bogus", Raw: "bogus 0"}, nil)
	if err == nil || err.Error() != `listen bogus 0: unknown netlink family "bogus"` {
		t.Errorf("err = %v", err)
	}
}

func TestSocketProtocol(t *testing.T) {
	tests := []struct {
		name, proto string
		spec        unit.Listen
		want        int
	}{
		{"udplite", "udplite", udp("127.0.0.1", 20231), unix.IPPROTO_UDPLITE},
		{"sctp", "sctp", tcp("127.0.0.1", 20232), unix.IPPROTO_SCTP},
		{"udplite ignored for stream", "udplite", tcp("127.0.0.1", 20233), unix.IPPROTO_TCP},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := section(func(c *unit.SocketSection) { c.SocketProtocol = tc.proto })
			s, err := Open(tc.spec, cfg)
			if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.ESOCKTNOSUPPORT) {
				t.Skipf("protocol not in this kernel: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(cfg)
			if got := getInt(t, s.Fd(), unix.SOL_SOCKET, unix.SO_PROTOCOL); got != tc.want {
				t.Errorf("SO_PROTOCOL = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestSetNonblock: SetNonblock switches the descriptor's O_NONBLOCK both ways (NonBlocking=).
func TestSetNonblock(t *testing.T) {
	s := mustOpen(t, unixPath(unit.ListenStream, filepath.Join(t.TempDir(), "nb.sock")), nil)
	for _, on := range []bool{true, true, false, true} {
		if err := s.SetNonblock(on); err != nil {
			t.Fatal(err)
		}
		checkFdFlags(t, s.Fd(), on)
	}
}
