package main

import (
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/internal/logs"
)

// A log line as the journal holds it: the fields journalctl 252 shows for an entry, named
// as journald names them, built from the manager's line and what this machine says of
// itself (boot id, machine id, host name).

// journalField is one FIELD=value of an entry.
type journalField struct{ name, value string }

// journalEntry is one entry: its data fields in the order journald stores them, its two
// timestamps (µs) and its cursor.
type journalEntry struct {
	fields   []journalField
	realtime int64
	mono     int64
	cursor   string
}

// get returns the first value of field name.
func (e *journalEntry) get(name string) (string, bool) {
	for _, f := range e.fields {
		if f.name == name {
			return f.value, true
		}
	}
	return "", false
}

// journalHost is what every entry says of the machine.
type journalHost struct {
	bootID, machineID, hostname string
	user                        bool // a user manager's lines: USER_UNIT= rather than UNIT=
}

var machineID = sync.OnceValue(func() string {
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil {
			if id := strings.TrimSpace(string(b)); id != "" {
				return id
			}
		}
	}
	return ""
})

func newJournalHost(user bool) *journalHost {
	host, _ := os.Hostname()
	return &journalHost{bootID: logs.BootID(), machineID: machineID(), hostname: host, user: user}
}

// entryOf is the journal entry of line l. A unit's output line gets what journald records
// of a stdout stream (_TRANSPORT=stdout, _SYSTEMD_UNIT=, _SYSTEMD_INVOCATION_ID=,
// _STREAM_ID=); the manager's message what systemd's PID 1 sends (_TRANSPORT=journal,
// UNIT=, its MESSAGE_ID= and other fields, _SOURCE_REALTIME_TIMESTAMP=).
func entryOf(l client.LogLine, h *journalHost) journalEntry {
	e := journalEntry{realtime: l.Time.UnixMicro(), mono: l.Mono, cursor: l.Cursor}
	add := func(n, v string) { e.fields = append(e.fields, journalField{n, v}) }
	addNonEmpty := func(n, v string) {
		if v != "" {
			add(n, v)
		}
	}
	addNonEmpty("_BOOT_ID", h.bootID)
	addNonEmpty("_MACHINE_ID", h.machineID)
	addNonEmpty("_HOSTNAME", h.hostname)
	add("_RUNTIME_SCOPE", "system")
	switch l.Stream {
	case "journal", "syslog", "stream":
		socketEntry(l, add, addNonEmpty)
		return e
	}
	add("PRIORITY", strconv.Itoa(l.Prio))
	// A service's output lines carry their unit's SyslogFacility= (and LogExtraFields=) as
	// fields; without them, LOG_DAEMON, the default. journald leaves kern (0) out.
	facility, extra := "3", l.Fields
	if l.Stream != "manager" && len(l.Fields) > 0 && l.Fields[0].Name == "SYSLOG_FACILITY" {
		facility, extra = l.Fields[0].Value, l.Fields[1:]
	}
	if facility != "0" {
		add("SYSLOG_FACILITY", facility)
	}
	add("_UID", strconv.Itoa(l.UID))
	add("_GID", strconv.Itoa(l.GID))
	transport := l.Transport
	if transport == "" {
		transport = "stdout"
		if l.Stream == "manager" {
			transport = "journal"
		}
	}
	if l.Stream != "manager" {
		add("_TRANSPORT", transport)
		addNonEmpty("SYSLOG_IDENTIFIER", l.Ident)
		addNonEmpty("_COMM", l.Comm)
		addNonEmpty("_SYSTEMD_UNIT", l.Unit)
		add("MESSAGE", l.Text)
		addNonEmpty("_EXE", l.Exe)
		addNonEmpty("_CMDLINE", l.Cmdline)
		addNonEmpty("_SYSTEMD_INVOCATION_ID", l.Invocation)
		addNonEmpty("_STREAM_ID", l.StreamID)
		if l.PID > 0 {
			add("_PID", strconv.Itoa(l.PID))
		}
		for _, f := range extra {
			add(f.Name, f.Value)
		}
		return e
	}
	addNonEmpty("SYSLOG_IDENTIFIER", l.Ident)
	if l.Invocation != "" {
		// a message of a process of the unit (one that could not run its command)
		add("_SYSTEMD_UNIT", l.Unit)
		add("_SYSTEMD_INVOCATION_ID", l.Invocation)
	}
	for _, f := range l.Fields {
		add(f.Name, f.Value)
	}
	if l.Unit != "" {
		if h.user {
			add("USER_UNIT", l.Unit)
		} else {
			add("UNIT", l.Unit)
		}
	}
	add("_TRANSPORT", transport)
	if l.PID > 0 {
		add("_PID", strconv.Itoa(l.PID))
	}
	addNonEmpty("_COMM", l.Comm)
	addNonEmpty("_EXE", l.Exe)
	addNonEmpty("_CMDLINE", l.Cmdline)
	add("MESSAGE", l.Text)
	add("_SOURCE_REALTIME_TIMESTAMP", strconv.FormatInt(e.realtime, 10))
	return e
}

// socketEntry completes the entry of a line that came through journald's sockets (the
// native protocol, /dev/log, the stream protocol): the fields its writer sent, in its order,
// then what journald adds of the writer (its credentials, command, unit).
func socketEntry(l client.LogLine, add, addNonEmpty func(n, v string)) {
	for _, f := range l.Fields {
		add(f.Name, f.Value)
	}
	add("MESSAGE", l.Text)
	if l.PID > 0 {
		add("_PID", strconv.Itoa(l.PID))
	}
	if l.UID >= 0 {
		add("_UID", strconv.Itoa(l.UID))
		add("_GID", strconv.Itoa(l.GID))
	}
	addNonEmpty("_COMM", l.Comm)
	addNonEmpty("_EXE", l.Exe)
	addNonEmpty("_CMDLINE", l.Cmdline)
	add("_TRANSPORT", l.Transport)
	addNonEmpty("_STREAM_ID", l.StreamID)
	addNonEmpty("_SYSTEMD_UNIT", l.Unit)
}
