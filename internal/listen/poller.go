package listen

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// wakeKey is the epoll data of the Poller's own eventfd; callers must not use it as a key.
const wakeKey = ^uint64(0)

// ErrPollerClosed is returned by Poller methods after Close.
var ErrPollerClosed = errors.New("poller closed")

// Poller watches descriptors for readability with one-shot epoll: after an fd has been
// reported it is disarmed until Rearm, so a socket whose service is starting does not
// report the same pending connection again. Run is meant for one goroutine; Add, Rearm,
// Remove and Close may be called from any goroutine.
type Poller struct {
	epfd, wakefd int
	file         *os.File // epfd, registered with Go's netpoller (see Run)

	mu      sync.Mutex
	closed  bool
	running bool
	done    chan struct{} // closed when Run returns (only after Run started)
	stop    chan struct{} // closed by Close
}

// NewPoller creates an epoll set (close-on-exec).
func NewPoller() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	p := &Poller{epfd: epfd, wakefd: wakefd, done: make(chan struct{}), stop: make(chan struct{})}
	if err := p.ctl(unix.EPOLL_CTL_ADD, wakefd, wakeKey, unix.EPOLLIN); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, err
	}
	// An epoll set is readable while it has events: as a non-blocking file it joins Go's
	// own netpoller (os.NewFile registers it), so that Run waits without a thread of its own.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	p.file = os.NewFile(uintptr(epfd), "epoll")
	return p, nil
}

func (p *Poller) ctl(op, fd int, key uint64, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(uint32(key)), Pad: int32(uint32(key >> 32))}
	if err := unix.EpollCtl(p.epfd, op, fd, &ev); err != nil {
		return fmt.Errorf("poll fd %d: %w", fd, os.NewSyscallError("epoll_ctl", err))
	}
	return nil
}

func (p *Poller) ctlOpen(op, fd int, key uint64) error {
	if key == wakeKey {
		return fmt.Errorf("poll fd %d: key %#x is reserved", fd, key)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrPollerClosed
	}
	return p.ctl(op, fd, key, unix.EPOLLIN|unix.EPOLLONESHOT)
}

// Add watches fd for EPOLLIN, one-shot: after one event the fd is disarmed until Rearm.
// key is what Run reports for it (any value but ^uint64(0)).
func (p *Poller) Add(fd int, key uint64) error { return p.ctlOpen(unix.EPOLL_CTL_ADD, fd, key) }

// Rearm watches fd again after it was reported (and may change its key).
func (p *Poller) Rearm(fd int, key uint64) error { return p.ctlOpen(unix.EPOLL_CTL_MOD, fd, key) }

// Remove stops watching fd. Call it before closing fd.
func (p *Poller) Remove(fd int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrPollerClosed
	}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil); err != nil {
		return fmt.Errorf("poll fd %d: %w", fd, os.NewSyscallError("epoll_ctl", err))
	}
	return nil
}

// Run waits for events and sends the key of each ready fd on out (errors and hang-ups
// count as ready). It blocks until Close and does not close out. It must be called at
// most once.
//
// It waits in Go's netpoller, not in a blocking epoll_wait of its own: when a connection
// arrives, the runtime thread that wakes from the netpoller runs Run, and then the goroutine
// receiving from out, without waking a second thread (on a virtual machine each cross-CPU
// wake-up of an idle thread costs tens of microseconds on the activation path).
func (p *Poller) Run(out chan<- uint64) {
	p.mu.Lock()
	if p.closed || p.running {
		p.mu.Unlock()
		return
	}
	p.running = true
	p.mu.Unlock()
	defer close(p.done)

	events := make([]unix.EpollEvent, 64)
	stop := false // Close was called
	// drain reports every event epoll_wait(timeout) returns, until none is ready or Close.
	drain := func(timeout int) {
		for !stop {
			n, err := unix.EpollWait(p.epfd, events, timeout)
			if err != nil {
				if errors.Is(err, unix.EINTR) {
					continue
				}
				stop = true // EBADF cannot happen: fds are closed only after Run returns
				return
			}
			if n == 0 {
				return
			}
			for _, ev := range events[:n] {
				key := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
				if key == wakeKey {
					stop = true
					return
				}
				select {
				case out <- key:
				case <-p.stop:
					stop = true
					return
				}
			}
		}
	}
	if rc, err := p.file.SyscallConn(); err == nil {
		// Read calls the function again each time the set becomes readable, until it
		// returns true (Close); it fails only if the set could not join the netpoller.
		if err := rc.Read(func(uintptr) bool { drain(0); return stop }); err == nil || stop {
			return
		}
	}
	for !stop { // no netpoller for the set: a blocking wait of our own
		drain(-1)
	}
}

// Close stops Run (waiting for it to return) and releases the epoll set. The watched
// descriptors are not closed.
func (p *Poller) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrPollerClosed
	}
	p.closed = true
	running := p.running
	close(p.stop)
	p.mu.Unlock()

	if running {
		var one [8]byte
		one[0] = 1
		unix.Write(p.wakefd, one[:])
		<-p.done
	}
	unix.Close(p.wakefd)
	return p.file.Close()
}
