package manager

import (
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

// notifySync orders a service's sd_notify messages before its exit, as systemd does by giving
// the notify socket a higher event priority than SIGCHLD: a daemon that sends READY=1 (or
// MAINPID=, STATUS=) and exits at once must be seen ready first. When a main process is
// reaped, flint sends a marker datagram to its own notify socket and handles the exit when
// the marker comes back: datagrams are delivered in order, so everything the service sent
// before exiting has been handled by then.
type notifySync struct {
	conn    *net.UnixConn // client socket to our own NOTIFY_SOCKET; nil if it cannot be opened
	next    uint64
	pending []syncWaiter // in marker order
}

type syncWaiter struct {
	id uint64
	fn func()
}

// syncKey is the marker's key; no service can forge it, as markers are accepted only from
// flint's own pid.
const syncKey = "X_FLINT_SYNC"

// syncFallback bounds the wait for a marker (a full socket buffer could drop it).
const syncFallback = 500 * time.Millisecond

// afterNotifyDrain runs fn on the manager goroutine once every notification already queued
// on the notify socket has been handled.
func (m *Manager) afterNotifyDrain(fn func()) {
	ns := m.nsync
	if ns == nil {
		ns = &notifySync{}
		if c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: m.notify.Addr(), Net: "unixgram"}); err == nil {
			ns.conn = c
		}
		m.nsync = ns
	}
	if ns.conn == nil {
		fn()
		return
	}
	ns.next++
	id := ns.next
	ns.pending = append(ns.pending, syncWaiter{id, fn})
	if _, err := ns.conn.Write([]byte(syncKey + "=" + strconv.FormatUint(id, 10))); err != nil {
		m.notifySynced(id)
		return
	}
	time.AfterFunc(syncFallback, func() { m.post(func() { m.notifySynced(id) }) })
}

// notifySynced runs the callbacks waiting for markers up to id.
func (m *Manager) notifySynced(id uint64) {
	ns := m.nsync
	if ns == nil {
		return
	}
	for len(ns.pending) > 0 && ns.pending[0].id <= id {
		w := ns.pending[0]
		ns.pending = ns.pending[1:]
		w.fn()
	}
}

// handleSyncMarker consumes a marker sent by afterNotifyDrain; it reports whether msg was one.
func (m *Manager) handleSyncMarker(pid int, get func(string) (string, bool)) bool {
	if pid != os.Getpid() {
		return false
	}
	if v, ok := get(syncKey); ok {
		if id, err := strconv.ParseUint(v, 10, 64); err == nil {
			m.notifySynced(id)
		}
	}
	return true
}

// mainExitHandler is the reaper callback of u's main process pid: for a service that may
// send notifications, the exit is handled after the notifications it sent before exiting.
func (m *Manager) mainExitHandler(u *Unit, pid int) func(ws syscall.WaitStatus) {
	return func(ws syscall.WaitStatus) {
		if !u.isService() || notifyAccess(u) == "none" {
			serviceMachine{m}.mainExited(u, pid, ws)
			return
		}
		m.afterNotifyDrain(func() { serviceMachine{m}.mainExited(u, pid, ws) })
	}
}
