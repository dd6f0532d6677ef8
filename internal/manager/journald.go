package manager

import (
	"github.com/flint-init/flint/internal/journal"
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
		Dir:       m.opt.JournalDir,
		DevLog:    m.opt.DevLog,
		Store:     m.logs,
		Attribute: m.journalSender,
		Logf:      m.consolef,
	})
	if err != nil {
		m.consolef("Failed to serve the journal sockets: %v", err)
		return
	}
	m.journalSrv = s
}

// stopJournal stops serving them and removes them (once the manager's loop has ended: the
// receivers may be waiting for it until then).
func (m *Manager) stopJournal() {
	m.journalSrv.Close()
	m.journalSrv = nil
}

// journalSender is the unit of process pid, which just sent a message ("" when none). Its
// /proc/PID/stat is read at once, before asking the manager's goroutine: a short-lived
// sender (logger(1)) is often gone by then, and its parent and session still place it.
func (m *Manager) journalSender(pid int) string {
	pi, ok := readProcInfo(pid)
	var name string
	m.call(func() {
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
			name = u.Name
		}
	})
	return name
}
