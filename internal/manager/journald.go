package manager

import (
	"sync"
	"time"

	"github.com/flint-init/flint/internal/journal"
	"github.com/flint-init/flint/internal/logs"
)

// Where no journald runs, the system manager serves journald's sockets (internal/journal),
// so that what programs send to the journal — sd_journal_send(3), sd_journal_stream_fd(3),
// syslog(3) through /dev/log — lands in the units' logs, attributed to the unit of the
// sending process as tracking.go places it.

// startJournal serves the journal sockets of Options.JournalDir (and the /dev/log link of
// Options.DevLog), unless the options leave them out.
func (m *Manager) startJournal() {
	if m.opt.JournalDir == "" {
		return
	}
	s, err := journal.Start(journal.Config{
		Dir:          m.opt.JournalDir,
		DevLog:       m.opt.DevLog,
		Store:        m.logs,
		AttributeLog: m.journalSender,
		Comm:         m.reapedNotes.comm,
		Logf:         m.consolef,
	})
	if err != nil {
		m.consolef("Failed to serve the journal sockets: %v", err)
		return
	}
	m.journalSrv, m.journalStop = s, make(chan struct{})
}

// stopJournal stops serving them and removes them (once the manager's loop has ended: the
// receivers may be waiting for it until then).
func (m *Manager) stopJournal() {
	if m.journalSrv == nil {
		return
	}
	close(m.journalStop)
	m.journalSrv.Close()
	m.journalSrv = nil
}

// journalSender is the unit of process pid, which just sent a message ("" when none), and
// how that unit's messages are logged (logOutput; nil: as they come). Its
// /proc/PID/stat is read at once, before asking the manager's goroutine: a short-lived
// sender (logger(1)) is often gone by then, and its parent and session still place it.
func (m *Manager) journalSender(pid int) (string, *logs.Output) {
	pi, ok := readProcInfo(pid)
	type result struct {
		name string
		out  *logs.Output
	}
	res := make(chan result, 1)
	fn := func() {
		var name string
		var owner *Unit
		a := m.attributor(nil)
		if ok {
			stat := a.stat
			a.stat = func(p int) (procInfo, bool) {
				if p == pid {
					return pi, true
				}
				return stat(p)
			}
		}
		if u := a.owner(pid).u; u != nil {
			owner = u
		} else if u := m.reapedNotes.unit(pid); u != nil {
			owner = u
		} else if u := m.reapedNotes.unit(pi.ppid); ok && u != nil {
			owner = u // its parent, reaped since: a unit's shell that ran logger last
		} else if u := m.reapedNotes.unit(pi.sid); ok && u != nil {
			owner = u // its session's leader, reaped since
		}
		var out *logs.Output
		if owner != nil {
			name = owner.Name
			if ec := owner.execContext(); ec != nil {
				out = logOutput(ec) // LogLevelMax=, LogExtraFields=
			}
		}
		res <- result{name, out}
	}
	// As m.call, but also given up when the sockets close: Run may end without its loop
	// having run (a control socket it could not make).
	select {
	case m.loop <- fn:
	case <-m.quit:
		return "", nil
	case <-m.journalStop:
		return "", nil
	}
	select {
	case r := <-res:
		return r.name, r.out
	case <-m.quit:
	case <-m.journalStop:
	}
	return "", nil
}

// reapedNotes remember the units of the last processes flint reaped: a message a process
// sent just before it exited often arrives after flint reaped it (logger(1) as a unit's main
// process) or its parent or session leader (the unit's shell that ran logger last), when no
// other rule places it any more. A pid is not used again that soon (the
// kernel hands out pids in turn), and a note counts for reapedNoteAge only.
type reapedNotes struct {
	// mu guards the notes against comm, asked from the journal's goroutines; the manager's
	// loop, the only writer, reads them without it.
	mu    sync.Mutex
	notes [256]reapedNote
	next  int
}

type reapedNote struct {
	pid  int
	u    *Unit
	at   time.Time
	comm string // its command name, read while it was a zombie
}

const reapedNoteAge = 5 * time.Second

func (m *Manager) noteReaped(pid int, u *Unit, comm string) {
	if m.journalSrv == nil {
		return
	}
	r := &m.reapedNotes
	r.mu.Lock()
	r.notes[r.next] = reapedNote{pid, u, time.Now(), comm}
	r.next = (r.next + 1) % len(r.notes)
	r.mu.Unlock()
}

// comm is the command name of pid if flint reaped it within reapedNoteAge ("" if not): a
// short-lived sender (logger(1) as a unit's main process) is often reaped before its message
// is read, and journald would have read its name from /proc.
func (r *reapedNotes) comm(pid int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := r.find(pid, time.Now()); n != nil {
		return n.comm
	}
	return ""
}

// unit is the unit of pid if flint reaped it within reapedNoteAge, else nil. The newest
// note wins: a pid the kernel handed out again within the age belongs to its last process.
func (r *reapedNotes) unit(pid int) *Unit {
	return r.unitAt(pid, time.Now())
}

func (r *reapedNotes) unitAt(pid int, now time.Time) *Unit {
	if n := r.find(pid, now); n != nil {
		return n.u
	}
	return nil
}

// find is the newest note of pid younger than reapedNoteAge at now, nil if none.
func (r *reapedNotes) find(pid int, now time.Time) *reapedNote {
	for k := 1; k <= len(r.notes); k++ {
		n := &r.notes[(r.next-k+len(r.notes))%len(r.notes)]
		if n.pid == pid && n.u != nil && now.Sub(n.at) < reapedNoteAge {
			return n
		}
	}
	return nil
}
