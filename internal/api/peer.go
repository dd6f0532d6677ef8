package api

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// Peer is the client at the other end of a control connection, as the kernel reports it
// (SO_PEERCRED: the credentials it had when it connected; a client cannot forge them).
type Peer struct {
	PID, UID, GID int
	// Privileged: root or the uid the manager runs as; may use every verb.
	Privileged bool
}

// peerCred reads the peer's pid, uid and gid (SO_PEERCRED).
func peerCred(c *net.UnixConn) (*Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, serr
	}
	return &Peer{PID: int(cred.Pid), UID: int(cred.Uid), GID: int(cred.Gid)}, nil
}

// watchHangup returns once the peer has hung up (closed its socket, or shut both directions
// down: the kernel then reports POLLHUP) or c is closed here. Whatever the peer sends after
// its request is read and ignored; a half-close (shutdown of its writing side once the
// request is sent, as socat does) is not a hangup, and is waited past without spinning: the
// next wake-up of the socket is the hangup itself.
func watchHangup(c *net.UnixConn) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	var buf [512]byte
	raw.Read(func(fd uintptr) bool {
		for {
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLRDHUP}}
			n, err := unix.Poll(pfd, 0)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil || pfd[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
				return true
			}
			if n == 0 {
				return false // nothing yet: wait for the socket's next wake-up
			}
			m, err := unix.Read(int(fd), buf[:])
			switch {
			case errors.Is(err, syscall.EINTR):
				continue
			case errors.Is(err, syscall.EAGAIN):
				return false
			case err != nil:
				return true
			case m == 0:
				return false // half-closed: wait for the hangup
			}
		}
	})
}
