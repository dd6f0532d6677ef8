package listen

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Conn is one accepted connection of an Accept=yes socket.
type Conn struct {
	// File is the connection, close-on-exec and non-blocking (as systemd's accept4 flags);
	// the caller owns it. Whoever hands it to a service sets its blocking mode per
	// NonBlocking=.
	File *os.File
	// Local and Remote are the pieces of systemd's instance name: "127.0.0.1:22" and
	// "127.0.0.1:40000" for IPv4 (and IPv4-mapped IPv6), "::1:22" (no brackets, as systemd
	// prints them) for IPv6, "CID:PORT" for vsock; for unix sockets Local is the peer's
	// pid and Remote its uid ("unknown" and "" when the peer is in another namespace).
	Local, Remote string
	// RemoteAddr and RemotePort are the values of REMOTE_ADDR and REMOTE_PORT; empty for
	// unix sockets.
	RemoteAddr, RemotePort string
	// Peer is the remote address as systemd prints it in the instance's Description=:
	// "127.0.0.1:40000", "[::1]:40000", "vsock:3:5000"; empty for unix sockets (systemd
	// then uses the unit name).
	Peer string
	// PeerUID and PeerPID come from SO_PEERCRED for unix sockets; -1 otherwise.
	PeerUID, PeerPID int
	// SourceKey groups connections for MaxConnectionsPerSource=: the remote IP address or
	// the vsock CID; empty for unix sockets, whose peers systemd 252 does not limit
	// (socket_acquire_peer looks at IP and vsock peers only).
	SourceKey string
}

// Accept takes one pending connection without blocking (the socket is non-blocking when
// opened with Accept=yes). With none pending it returns an error wrapping unix.EAGAIN.
func (s *Socket) Accept() (*Conn, error) {
	nfd, _, err := unix.Accept4(s.fd, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("accept %s: %w", s.Name(), os.NewSyscallError("accept4", err))
	}
	c, err := describe(nfd)
	if err != nil {
		unix.Close(nfd)
		return nil, fmt.Errorf("accept %s: %w", s.Name(), err)
	}
	c.File = os.NewFile(uintptr(nfd), "conn:"+s.Name())
	return c, nil
}

// describe fills the addresses of a connected socket as systemd's instance_from_socket
// and service_set_socket_fd see them.
func describe(fd int) (*Conn, error) {
	c := &Conn{PeerUID: -1, PeerPID: -1}
	local, err := unix.Getsockname(fd)
	if err != nil {
		return nil, os.NewSyscallError("getsockname", err)
	}
	remote, err := unix.Getpeername(fd)
	if err != nil {
		return nil, os.NewSyscallError("getpeername", err)
	}
	switch l := local.(type) {
	case *unix.SockaddrInet4:
		r, ok := remote.(*unix.SockaddrInet4)
		if !ok {
			return nil, errors.New("peer address of another family")
		}
		c.setIP(netip.AddrFrom4(l.Addr), l.Port, netip.AddrFrom4(r.Addr), r.Port)
	case *unix.SockaddrInet6:
		r, ok := remote.(*unix.SockaddrInet6)
		if !ok {
			return nil, errors.New("peer address of another family")
		}
		c.setIP(netip.AddrFrom16(l.Addr), l.Port, netip.AddrFrom16(r.Addr), r.Port)
	case *unix.SockaddrVM:
		r, ok := remote.(*unix.SockaddrVM)
		if !ok {
			return nil, errors.New("peer address of another family")
		}
		c.Local = fmt.Sprintf("%d:%d", l.CID, l.Port)
		c.Remote = fmt.Sprintf("%d:%d", r.CID, r.Port)
		c.RemoteAddr = fmt.Sprintf("vsock:%d", r.CID)
		c.Peer = fmt.Sprintf("vsock:%d:%d", r.CID, r.Port)
		c.RemotePort = strconv.FormatUint(uint64(r.Port), 10)
		c.SourceKey = strconv.FormatUint(uint64(r.CID), 10)
	case *unix.SockaddrUnix:
		cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
		if err != nil {
			return nil, os.NewSyscallError("getsockopt SO_PEERCRED", err)
		}
		if cred.Pid <= 0 {
			// The peer lives in another pid namespace.
			c.Local = "unknown"
		} else {
			c.PeerPID, c.PeerUID = int(cred.Pid), int(cred.Uid)
			c.Local = strconv.Itoa(c.PeerPID)
			c.Remote = strconv.Itoa(c.PeerUID)
		}
	default:
		return nil, fmt.Errorf("unsupported address family %T", local)
	}
	return c, nil
}

// setIP fills the fields of an IP connection. Both ends IPv4-mapped print as IPv4, as in
// systemd; REMOTE_ADDR shows a mapped peer as IPv4 too.
func (c *Conn) setIP(l netip.Addr, lport int, r netip.Addr, rport int) {
	if l.Is4In6() && r.Is4In6() {
		l, r = l.Unmap(), r.Unmap()
	}
	c.Local = ntop(l) + ":" + strconv.Itoa(lport)
	c.Remote = ntop(r) + ":" + strconv.Itoa(rport)
	c.RemoteAddr = r.Unmap().String()
	c.RemotePort = strconv.Itoa(rport)
	if r.Unmap().Is4() {
		c.Peer = c.RemoteAddr + ":" + c.RemotePort
	} else {
		c.Peer = "[" + ntop(r) + "]:" + c.RemotePort
	}
	c.SourceKey = c.RemoteAddr
}

// InstanceName is the instance part systemd 252 gives the service of the n-th accepted
// connection (src/core/socket.c instance_from_socket): "3-127.0.0.1:22-127.0.0.1:40000",
// "3-::1:22-::1:40000", "3-1234-1000" (unix: peer pid and uid), "3-unknown" (unix peer
// in another namespace), "3-2:1024-3:5000" (vsock CID:port).
func InstanceName(n uint64, c *Conn) string {
	if c.Remote == "" {
		return strconv.FormatUint(n, 10) + "-" + c.Local
	}
	return strconv.FormatUint(n, 10) + "-" + c.Local + "-" + c.Remote
}

// ntop prints an address as glibc's inet_ntop does (systemd's IN6_ADDR_TO_STRING). It
// differs from netip's RFC 5952 form only for the deprecated IPv4-compatible addresses
// ::a.b.c.d (first 96 bits zero, word 6 not zero).
func ntop(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		b := a.As16()
		zero := true
		for _, x := range b[:12] {
			zero = zero && x == 0
		}
		if zero && (b[12] != 0 || b[13] != 0) {
			return "::" + netip.AddrFrom4([4]byte(b[12:])).String()
		}
	}
	return a.String()
}
