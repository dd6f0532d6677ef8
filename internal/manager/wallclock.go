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

// localtimePath is the file whose changes are time zone changes, as systemd watches it.
const localtimePath = "/etc/localtime"

// tzWatch follows changes of /etc/localtime (systemd's manager_setup_timezone_change): an
// inotify watch on the file itself, not following the symlink, or on /etc while it does not
// exist. A goroutine reads it and posts each batch of events to the manager's loop.
type tzWatch struct {
	f     *os.File
	mtime time.Time // of the last look; zero: not there
}

// watch (re)creates the watch; read is called on the manager's loop after events.
func (w *tzWatch) watch(post func(func()), read func()) error {
	w.close()
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return os.NewSyscallError("inotify_init1", err)
	}
	_, err = unix.InotifyAddWatch(fd, localtimePath, unix.IN_ATTRIB|unix.IN_MOVE_SELF|unix.IN_CLOSE_WRITE|unix.IN_DELETE_SELF|unix.IN_DONT_FOLLOW)
	if errors.Is(err, unix.ENOENT) {
		_, err = unix.InotifyAddWatch(fd, "/etc", unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_ONLYDIR)
	}
	if err != nil {
		unix.Close(fd)
		return os.NewSyscallError("inotify_add_watch", err)
	}
	f := os.NewFile(uintptr(fd), "inotify")
	w.f = f
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := f.Read(buf); err != nil {
				return // closed
			}
			post(read)
		}
	}()
	return nil
}

// changed is manager_read_timezone_stat: whether /etc/localtime appeared, went or got a new
// modification time since the last look.
func (w *tzWatch) changed() bool {
	var mtime time.Time
	if st, err := os.Lstat(localtimePath); err == nil {
		mtime = st.ModTime()
	}
	changed := !mtime.Equal(w.mtime)
	w.mtime = mtime
	return changed
}

func (w *tzWatch) close() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// loadLocalZone reads the local time zone as the C library would after a change: $TZ when
// set (Go's time.Local already is that), else /etc/localtime, UTC without it.
func loadLocalZone() *time.Location {
	if _, set := os.LookupEnv("TZ"); set {
		return time.Local
	}
	data, err := os.ReadFile(localtimePath)
	if err != nil {
		return time.UTC
	}
	loc, err := time.LoadLocationFromTZData("Local", data)
	if err != nil {
		return time.Local
	}
	return loc
}
