package manager

import (
	"errors"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// wallClock is the manager's one CLOCK_REALTIME timerfd: armed for an absolute wall-clock
// time with TFD_TIMER_CANCEL_ON_SET, it fires at that time whatever the machine did
// meanwhile (a suspend, which CLOCK_MONOTONIC and so Go's timers do not count) and tells
// when the clock is set. A goroutine reads it through Go's poller and posts due or changed
// to the manager's loop. Created on first use.
type wallClock struct {
	mu sync.Mutex
	f  *os.File
	fd int
}

// arm sets the timer for at; post, due and changed are used when the reader is started.
func (w *wallClock) arm(at time.Time, post func(func()), due, changed func()) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		fd, err := unix.TimerfdCreate(unix.CLOCK_REALTIME, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
		if err != nil {
			return os.NewSyscallError("timerfd_create", err)
		}
		w.fd, w.f = fd, os.NewFile(uintptr(fd), "timerfd")
		go wallClockReader(w.f, post, due, changed)
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(at.UnixNano(), 1))}
	err := unix.TimerfdSettime(w.fd, unix.TFD_TIMER_ABSTIME|unix.TFD_TIMER_CANCEL_ON_SET, &spec, nil)
	return os.NewSyscallError("timerfd_settime", err)
}

// disarm stops the timer (and with it the news of clock changes).
func (w *wallClock) disarm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		unix.TimerfdSettime(w.fd, 0, &unix.ItimerSpec{}, nil)
	}
}

// close ends the reader.
func (w *wallClock) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

func wallClockReader(f *os.File, post func(func()), due, changed func()) {
	var buf [8]byte
	for {
		_, err := f.Read(buf[:])
		switch {
		case err == nil:
			post(due)
		case errors.Is(err, unix.ECANCELED):
			post(changed)
		default:
			return // closed
		}
	}
}
