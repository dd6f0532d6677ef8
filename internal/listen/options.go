package listen

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

// sctpNoDelay is SCTP_NODELAY (linux/sctp.h), at level SOL_SCTP (= IPPROTO_SCTP).
const sctpNoDelay = 3

// applyPreBind sets the IP options that must precede bind (systemd's
// socket_address_listen): SO_REUSEPORT, IP(V6)_FREEBIND, IP(V6)_TRANSPARENT. Failures are
// warnings.
func (s *Socket) applyPreBind(cfg *unit.SocketSection, family int) {
	fd := s.fd
	if cfg.ReusePort {
		s.setInt("SO_REUSEPORT", fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}
	if cfg.FreeBind {
		if family == unix.AF_INET6 {
			s.setInt("IPV6_FREEBIND", fd, unix.IPPROTO_IPV6, unix.IPV6_FREEBIND, 1)
		} else {
			s.setInt("IP_FREEBIND", fd, unix.IPPROTO_IP, unix.IP_FREEBIND, 1)
		}
	}
	if cfg.Transparent {
		if family == unix.AF_INET6 {
			s.setInt("IPV6_TRANSPARENT", fd, unix.IPPROTO_IPV6, unix.IPV6_TRANSPARENT, 1)
		} else {
			s.setInt("IP_TRANSPARENT", fd, unix.IPPROTO_IP, unix.IP_TRANSPARENT, 1)
		}
	}
}

// applyOptions sets the options systemd applies after listen (socket_apply_socket_options).
// Like systemd it tries every configured option whatever the family and records failures as
// warnings. Zero values of the -1-means-unset fields (Priority, IPTOS, IPTTL, Mark) are the
// kernel defaults and are not set.
func (s *Socket) applyOptions(cfg *unit.SocketSection, family, typ int) {
	fd := s.fd
	if cfg.KeepAlive {
		s.setInt("SO_KEEPALIVE", fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	}
	if cfg.KeepAliveTime > 0 {
		s.setInt("TCP_KEEPIDLE", fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, seconds(cfg.KeepAliveTime))
	}
	if cfg.KeepAliveInterval > 0 {
		s.setInt("TCP_KEEPINTVL", fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, seconds(cfg.KeepAliveInterval))
	}
	if cfg.KeepAliveProbes > 0 {
		s.setInt("TCP_KEEPCNT", fd, unix.IPPROTO_TCP, unix.TCP_KEEPCNT, cfg.KeepAliveProbes)
	}
	if cfg.DeferAcceptSec > 0 {
		s.setInt("TCP_DEFER_ACCEPT", fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, seconds(cfg.DeferAcceptSec))
	}
	if cfg.NoDelay {
		if cfg.SocketProtocol == "sctp" {
			s.setInt("SCTP_NODELAY", fd, unix.IPPROTO_SCTP, sctpNoDelay, 1)
		} else {
			s.setInt("TCP_NODELAY", fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		}
	}
	if cfg.Broadcast {
		s.setInt("SO_BROADCAST", fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
	}
	if cfg.PassCredentials {
		s.setInt("SO_PASSCRED", fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}
	if cfg.PassSecurity {
		s.setInt("SO_PASSSEC", fd, unix.SOL_SOCKET, unix.SO_PASSSEC, 1)
	}
	if cfg.PassPacketInfo {
		switch family {
		case unix.AF_INET:
			s.setInt("IP_PKTINFO", fd, unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		case unix.AF_INET6:
			s.setInt("IPV6_RECVPKTINFO", fd, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
		case unix.AF_NETLINK:
			s.setInt("NETLINK_PKTINFO", fd, unix.SOL_NETLINK, unix.NETLINK_PKTINFO, 1)
		default:
			s.warn("packet info is not available for this address family, ignoring")
		}
	}
	switch cfg.Timestamping {
	case "us", "usec", "µs":
		s.setInt("SO_TIMESTAMP", fd, unix.SOL_SOCKET, unix.SO_TIMESTAMP, 1)
	case "ns", "nsec":
		s.setInt("SO_TIMESTAMPNS", fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}
	if cfg.Priority > 0 {
		s.setInt("SO_PRIORITY", fd, unix.SOL_SOCKET, unix.SO_PRIORITY, cfg.Priority)
	}
	if cfg.ReceiveBuffer > 0 {
		s.setBuffer("SO_RCVBUF", fd, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, cfg.ReceiveBuffer)
	}
	if cfg.SendBuffer > 0 {
		s.setBuffer("SO_SNDBUF", fd, unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, cfg.SendBuffer)
	}
	if cfg.Mark > 0 {
		s.setInt("SO_MARK", fd, unix.SOL_SOCKET, unix.SO_MARK, cfg.Mark)
	}
	if cfg.IPTOS > 0 {
		s.setInt("IP_TOS", fd, unix.IPPROTO_IP, unix.IP_TOS, cfg.IPTOS)
	}
	if cfg.IPTTL > 0 {
		if family == unix.AF_INET6 {
			s.setInt("IPV6_UNICAST_HOPS", fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, cfg.IPTTL)
		} else {
			s.setInt("IP_TTL", fd, unix.IPPROTO_IP, unix.IP_TTL, cfg.IPTTL)
		}
	}
	if cfg.TCPCongestion != "" {
		if err := unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION, cfg.TCPCongestion); err != nil {
			s.warn("TCP_CONGESTION %s failed: %v", cfg.TCPCongestion, err)
		}
	}
}

func (s *Socket) setInt(name string, fd, level, opt, value int) {
	if err := unix.SetsockoptInt(fd, level, opt, value); err != nil {
		s.warn("%s failed: %v", name, err)
	}
}

// setBuffer sets a socket buffer size: the FORCE variant (beyond the sysctl maximum) when
// privileged, else the plain one, as systemd's fd_set_rcvbuf/fd_set_sndbuf.
func (s *Socket) setBuffer(name string, fd, force, plain int, n uint64) {
	v := int(min(n, 1<<30))
	err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, v)
	if errors.Is(err, unix.EPERM) {
		err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, plain, v)
	}
	if err != nil {
		s.warn("%s/%sFORCE failed: %v", name, name, err)
	}
}

// seconds converts a duration to the whole seconds the TCP options take.
func seconds(d time.Duration) int {
	return int(d / time.Second)
}
