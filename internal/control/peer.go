package control

import (
	"errors"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Peer is the client at the other end of a control connection, as the kernel reports it
// (SO_PEERCRED, SO_PEERGROUPS: the credentials it had when it connected; a client cannot
// forge them).
type Peer struct {
	PID, UID, GID int
	// Groups are its supplementary groups (SO_PEERGROUPS, Linux 4.13); nil when the kernel
	// cannot say, which then grants nothing through a group.
	Groups []int
	// Privileged: root or the uid the manager runs as; may use every verb.
	Privileged bool
	// ReadsLogs: may read the units' log lines (logs, the lines of status): privileged, or
	// a member (primary or supplementary) of one of the server's LogGroups.
	ReadsLogs bool
}

// InGroup reports whether gid is the peer's primary group or one of its supplementary groups.
func (p *Peer) InGroup(gid int) bool {
	if p.GID == gid {
		return true
	}
	for _, g := range p.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// MayReadLogs is the rule for log lines: root and the owner may, and on a manager that names
// log groups (the system manager: adm and systemd-journal, as journalctl grants them) any
// member of one of them. Anyone else sees no lines.
func MayReadLogs(p *Peer, logGroups []int) bool {
	if p.Privileged {
		return true
	}
	for _, g := range logGroups {
		if p.InGroup(g) {
			return true
		}
	}
	return false
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

// peerGroups reads the peer's supplementary groups (SO_PEERGROUPS). The kernel answers
// ERANGE with the size it needs when the buffer is too small.
func peerGroups(c *net.UnixConn) ([]int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var out []int
	var serr error
	err = raw.Control(func(fd uintptr) {
		buf := make([]uint32, 64)
		for {
			n := uint32(len(buf) * 4)
			_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_PEERGROUPS,
				uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
			if e == unix.ERANGE && int(n/4) > len(buf) {
				buf = make([]uint32, n/4)
				continue
			}
			if e != 0 {
				serr = e
				return
			}
			out = make([]int, n/4)
			for i := range out {
				out[i] = int(buf[i])
			}
			return
		}
	})
	if err != nil {
		return nil, err
	}
	return out, serr
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
