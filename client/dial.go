package client

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// dial connects to the control socket at path. The connection is a plain blocking socket in an
// *os.File rather than a net.Conn: reading a reply blocks the calling thread, which a client
// can afford, and Go's netpoller is never set up (an epoll set, an eventfd, a registration
// per connection and a second thread woken for every reply) — a measurable part of a short
// command's run on a virtual machine. A unix stream connect waits only while the listener's
// backlog is full; timeout bounds that wait (SO_SNDTIMEO, cleared once connected).
func dial(path string, timeout time.Duration) (*os.File, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dial unix %s: %w", path, os.NewSyscallError("socket", err))
	}
	tv := syscall.NsecToTimeval(timeout.Nanoseconds())
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("dial unix %s: %w", path, os.NewSyscallError("setsockopt", err))
	}
	for {
		err = syscall.Connect(fd, &syscall.SockaddrUnix{Name: path})
		// A signal (the Go runtime's preemption) interrupts a connect waiting for room in the
		// backlog; a unix socket's connect then starts over.
		if err != syscall.EINTR {
			break
		}
	}
	if errors.Is(err, syscall.EISCONN) {
		err = nil
	}
	if errors.Is(err, syscall.EAGAIN) {
		err = fmt.Errorf("%w (backlog full for %v)", os.ErrDeadlineExceeded, timeout)
	}
	if err != nil {
		syscall.Close(fd)
		if _, ok := err.(syscall.Errno); ok {
			err = os.NewSyscallError("connect", err)
		}
		return nil, fmt.Errorf("dial unix %s: %w", path, err)
	}
	var none syscall.Timeval
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &none)
	return os.NewFile(uintptr(fd), path), nil
}
