package listen

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

// Dup returns a close-on-exec duplicate of the socket's descriptor, for handing to a
// service; the caller owns it. The Socket keeps its own descriptor.
func (s *Socket) Dup() (*os.File, error) {
	fd, err := unix.FcntlInt(uintptr(s.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dup %s: %w", s.Name(), os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", err))
	}
	return os.NewFile(uintptr(fd), s.Name()), nil
}

// Flush discards what is pending on the socket, for FlushPending=yes after the service
// exited (systemd's flush_ports): listening sockets accept and close every pending
// connection; datagram sockets, FIFOs and the like are read until empty. It never blocks,
// even when the descriptor was put in blocking mode for a service: each step first polls
// with a zero timeout.
func (s *Socket) Flush() error {
	listening := s.listening()
	buf := make([]byte, 64*1024)
	for {
		pfd := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("flush %s: %w", s.Name(), os.NewSyscallError("poll", err))
		}
		if n == 0 || pfd[0].Revents&unix.POLLIN == 0 {
			return nil
		}
		if listening {
			nfd, _, err := unix.Accept4(s.fd, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
			switch {
			case err == nil:
				unix.Close(nfd)
			case errors.Is(err, unix.EAGAIN):
				return nil
			case errors.Is(err, unix.EINTR), errors.Is(err, unix.ECONNABORTED):
			default:
				return fmt.Errorf("flush %s: %w", s.Name(), os.NewSyscallError("accept4", err))
			}
			continue
		}
		r, err := unix.Read(s.fd, buf)
		switch {
		case err == nil && r == 0 && s.Spec.Kind != unit.ListenDatagram && s.Spec.Kind != unit.ListenNetlink:
			return nil // end of file (special files)
		case err == nil, errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.EAGAIN):
			return nil
		default:
			return fmt.Errorf("flush %s: %w", s.Name(), os.NewSyscallError("read", err))
		}
	}
}

// listening reports whether the socket is a listening (connection-oriented) socket.
func (s *Socket) listening() bool {
	switch s.Spec.Kind {
	case unit.ListenStream, unit.ListenSequentialPacket:
		v, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
		return err == nil && v == 1
	}
	return false
}
