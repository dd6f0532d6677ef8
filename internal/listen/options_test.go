package listen

import (
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

type optCheck struct {
	name       string
	level, opt int
	want       int
	atLeast    bool // the kernel rounds the value up (TCP_DEFER_ACCEPT)
}

func TestOptions(t *testing.T) {
	root := os.Geteuid() == 0
	tests := []struct {
		name   string
		spec   unit.Listen
		cfg    func(*unit.SocketSection)
		checks []optCheck
		root   bool
	}{
		{"tcp keepalive", tcp("127.0.0.1", 20250), func(c *unit.SocketSection) {
			c.KeepAlive, c.KeepAliveTime, c.KeepAliveInterval, c.KeepAliveProbes = true, 600*time.Second, 30*time.Second, 4
		}, []optCheck{
			{"SO_KEEPALIVE", unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1, false},
			{"TCP_KEEPIDLE", unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 600, false},
			{"TCP_KEEPINTVL", unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 30, false},
			{"TCP_KEEPCNT", unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 4, false},
		}, false},
		{"tcp misc", tcp("127.0.0.1", 20251), func(c *unit.SocketSection) {
			c.NoDelay, c.DeferAcceptSec, c.ReusePort, c.Priority, c.IPTOS, c.IPTTL = true, 5*time.Second, true, 6, 0x10, 42
			c.Timestamping = "us"
		}, []optCheck{
			{"TCP_NODELAY", unix.IPPROTO_TCP, unix.TCP_NODELAY, 1, false},
			{"TCP_DEFER_ACCEPT", unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 5, true},
			{"SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, false},
			{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, false},
			{"SO_PRIORITY", unix.SOL_SOCKET, unix.SO_PRIORITY, 6, false},
			{"IP_TOS", unix.IPPROTO_IP, unix.IP_TOS, 0x10, false},
			{"IP_TTL", unix.IPPROTO_IP, unix.IP_TTL, 42, false},
			{"SO_TIMESTAMP", unix.SOL_SOCKET, unix.SO_TIMESTAMP, 1, false},
		}, false},
		{"tcp buffers", tcp("127.0.0.1", 20252), func(c *unit.SocketSection) {
			c.ReceiveBuffer, c.SendBuffer = 300000, 200000
		}, []optCheck{
			// The kernel doubles the value it stores.
			{"SO_RCVBUF", unix.SOL_SOCKET, unix.SO_RCVBUF, 600000, false},
			{"SO_SNDBUF", unix.SOL_SOCKET, unix.SO_SNDBUF, 400000, false},
		}, false},
		{"tcp buffers beyond rmem_max (FORCE)", tcp("127.0.0.1", 20253), func(c *unit.SocketSection) {
			c.ReceiveBuffer, c.SendBuffer = 16<<20, 12<<20
		}, []optCheck{
			{"SO_RCVBUF", unix.SOL_SOCKET, unix.SO_RCVBUF, 32 << 20, false},
			{"SO_SNDBUF", unix.SOL_SOCKET, unix.SO_SNDBUF, 24 << 20, false},
		}, true},
		{"privileged", tcp("127.0.0.1", 20254), func(c *unit.SocketSection) {
			c.Mark, c.Transparent, c.FreeBind = 77, true, true
		}, []optCheck{
			{"SO_MARK", unix.SOL_SOCKET, unix.SO_MARK, 77, false},
			{"IP_TRANSPARENT", unix.IPPROTO_IP, unix.IP_TRANSPARENT, 1, false},
			{"IP_FREEBIND", unix.IPPROTO_IP, unix.IP_FREEBIND, 1, false},
		}, true},
		{"ipv6", tcp("::1", 20255), func(c *unit.SocketSection) {
			c.IPTTL, c.FreeBind, c.Transparent, c.PassPacketInfo = 9, true, true, true
		}, []optCheck{
			{"IPV6_UNICAST_HOPS", unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 9, false},
			{"IPV6_FREEBIND", unix.IPPROTO_IPV6, unix.IPV6_FREEBIND, 1, false},
			{"IPV6_TRANSPARENT", unix.IPPROTO_IPV6, unix.IPV6_TRANSPARENT, 1, false},
			{"IPV6_RECVPKTINFO", unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1, false},
		}, true},
		{"udp", udp("127.0.0.1", 20256), func(c *unit.SocketSection) {
			c.Broadcast, c.PassPacketInfo, c.Timestamping = true, true, "ns"
		}, []optCheck{
			{"SO_BROADCAST", unix.SOL_SOCKET, unix.SO_BROADCAST, 1, false},
			{"IP_PKTINFO", unix.IPPROTO_IP, unix.IP_PKTINFO, 1, false},
			{"SO_TIMESTAMPNS", unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1, false},
		}, false},
		{"unix", unixPath(unit.ListenDatagram, "@flint-opt-test"), func(c *unit.SocketSection) {
			c.PassCredentials, c.PassSecurity = true, true
		}, []optCheck{
			{"SO_PASSCRED", unix.SOL_SOCKET, unix.SO_PASSCRED, 1, false},
			{"SO_PASSSEC", unix.SOL_SOCKET, unix.SO_PASSSEC, 1, false},
		}, false},
		{"defaults set nothing", tcp("127.0.0.1", 20257), nil, []optCheck{
			{"SO_KEEPALIVE", unix.SOL_SOCKET, unix.SO_KEEPALIVE, 0, false},
			{"SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, 0, false},
			{"TCP_NODELAY", unix.IPPROTO_TCP, unix.TCP_NODELAY, 0, false},
			{"SO_PRIORITY", unix.SOL_SOCKET, unix.SO_PRIORITY, 0, false},
			{"SO_MARK", unix.SOL_SOCKET, unix.SO_MARK, 0, false},
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && !root {
				t.Skip("needs root")
			}
			s := mustOpen(t, tc.spec, section(tc.cfg))
			if len(s.Warnings) != 0 {
				t.Errorf("warnings: %q", s.Warnings)
			}
			for _, c := range tc.checks {
				got := getInt(t, s.Fd(), c.level, c.opt)
				if got != c.want && !(c.atLeast && got >= c.want) {
					t.Errorf("%s = %d, want %d", c.name, got, c.want)
				}
			}
		})
	}
}

func TestTCPCongestion(t *testing.T) {
	s := mustOpen(t, tcp("127.0.0.1", 20258), section(func(c *unit.SocketSection) { c.TCPCongestion = "reno" }))
	got, err := unix.GetsockoptString(s.Fd(), unix.IPPROTO_TCP, unix.TCP_CONGESTION)
	if err != nil || got != "reno" {
		t.Fatalf("TCP_CONGESTION = %q, %v", got, err)
	}
	s = mustOpen(t, tcp("127.0.0.1", 20259), section(func(c *unit.SocketSection) { c.TCPCongestion = "no-such-algo" }))
	if len(s.Warnings) != 1 || !strings.HasPrefix(s.Warnings[0], "TCP_CONGESTION no-such-algo failed") {
		t.Errorf("warnings = %q", s.Warnings)
	}
}

// TestOptionFailuresAreWarnings checks that, as in systemd, an option the socket does not
// support is logged, not fatal.
func TestOptionFailuresAreWarnings(t *testing.T) {
	s := mustOpen(t, unixPath(unit.ListenStream, "@flint-warn-test"), section(func(c *unit.SocketSection) {
		c.KeepAliveTime, c.NoDelay = time.Minute, true
	}))
	joined := strings.Join(s.Warnings, "\n")
	if !strings.Contains(joined, "TCP_KEEPIDLE failed") || !strings.Contains(joined, "TCP_NODELAY failed") {
		t.Errorf("warnings = %q", s.Warnings)
	}
}
