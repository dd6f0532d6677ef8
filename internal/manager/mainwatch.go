package manager

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// pidfdOpen is pidfd_open(2) (a variable: tests make it fail to check the fallback).
var pidfdOpen = unix.PidfdOpen

// watchForeignMain arranges to learn of the exit of a main process that is not flint's child
// (MAINPID= from a daemon, a PIDFile= naming a process of another parent): its pidfd becomes
// readable when it exits, which a goroutine waits for in Go's netpoller (no thread of its
// own) and posts to the loop. Where pidfd_open fails (a kernel before 5.3, a seccomp filter
// that refuses it) the process is polled every 100 ms instead. A watch ends when the
// process exits or u's main process changes (adoptMain), and when the manager ends.
func (m *Manager) watchForeignMain(u *Unit, pid int) {
	s := u.service()
	m.dropMainWatch(s)
	fd, err := pidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		// Gone already (reaped between adoption and now): its exit is an event of its own.
		m.later(func() { m.foreignMainExited(u, pid, nil) })
		return
	}
	if err != nil {
		m.pollForeignMain(u, pid)
		return
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		m.pollForeignMain(u, pid)
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		m.pollForeignMain(u, pid)
		return
	}
	s.mainWatch = f
	go func() {
		// Read calls the function again each time the pidfd becomes readable, until it
		// returns true; it fails when the watch is dropped (f closed) or when the pidfd could
		// not join the netpoller.
		err := rc.Read(func(fd uintptr) bool {
			p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(p, 0)
			return err == nil && n > 0
		})
		if err == nil {
			m.post(func() { m.foreignMainExited(u, pid, f) })
			return
		}
		m.post(func() {
			if s.mainWatch == f { // not dropped: the pidfd could not be waited for
				m.dropMainWatch(s)
				m.pollForeignMain(u, pid)
			}
		})
	}()
}

// foreignMainExited is the exit of u's foreign main process pid, seen through the watch f
// (nil when pidfd_open found it gone, or when polled): the service's main process exited,
// status unknown. A process that became flint's child meanwhile (reparented to flint, the
// child subreaper, when its parent exited) is left to the reaper, which has its real status
// (orphanExited).
func (m *Manager) foreignMainExited(u *Unit, pid int, f *os.File) {
	s := u.service()
	if f != nil {
		f.Close()
		if s.mainWatch == f {
			s.mainWatch = nil
		}
	}
	if s.mainPID != pid {
		return
	}
	if pi, ok := readProcInfo(pid); ok && pi.zombie && pi.ppid == os.Getpid() {
		return
	}
	serviceMachine{m}.mainExited(u, pid, 0)
}

// pollForeignMain looks every 100 ms whether pid, u's main process, still runs: the fallback
// where no pidfd can be had.
func (m *Manager) pollForeignMain(u *Unit, pid int) {
	var tick func()
	tick = func() {
		time.AfterFunc(100*time.Millisecond, func() {
			m.post(func() {
				if u.svcState().mainPID != pid {
					return
				}
				if procAlive(pid) {
					tick()
					return
				}
				m.foreignMainExited(u, pid, nil)
			})
		})
	}
	tick()
}

// dropMainWatch ends the pidfd watch of s's main process, if any: its goroutine returns.
func (m *Manager) dropMainWatch(s *serviceRT) {
	if s.mainWatch != nil {
		s.mainWatch.Close()
		s.mainWatch = nil
	}
}

// dropMainWatches ends every pidfd watch, as the manager ends.
func (m *Manager) dropMainWatches() {
	for _, u := range m.order {
		if u.svc != nil {
			m.dropMainWatch(u.svc)
		}
	}
}
