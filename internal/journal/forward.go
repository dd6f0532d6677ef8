package journal

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/logs"
)

// forwarder is journald's ForwardToSyslog= (on by default on Debian): every message is also
// sent to a syslog daemon listening on /run/systemd/journal/syslog (its syslog.socket), if one
// is, as an RFC 3164 datagram "<PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE" carrying the
// writer's credentials (SCM_CREDENTIALS), so that the daemon sees the original pid; what came
// through /dev/log goes as it came. Sending never waits: a datagram the daemon has no room for
// is counted, and the count is logged at most every 30 seconds, as journald does.
type forwarder struct {
	path  string
	store *logs.Store

	mu       sync.Mutex
	fd       int // an unbound datagram socket; -1 when none could be made
	missed   int
	lastWarn time.Time
}

const warnMissedEvery = 30 * time.Second

func newForwarder(path string, store *logs.Store) *forwarder {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		fd = -1
	}
	return &forwarder{path: path, store: store, fd: fd}
}

func (f *forwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd >= 0 {
		unix.Close(f.fd)
		f.fd = -1
	}
}

// Facilities as syslog numbers them.
const (
	facilityDaemon = 3
	facilityUser   = 1
)

// forwardLine is the store's tap: every stored line but those that came through /dev/log
// (forwarded as they came, forwardRaw) and the native protocol (forwardEntry), which are
// forwarded as they arrive.
func (f *forwarder) forwardLine(l *logs.Line) {
	if l.Stream == StreamSyslog || l.Stream == StreamNative || l.Text == "" {
		return
	}
	level := l.Priority
	if level < 0 || level > 7 {
		level = logInfo
	}
	// The manager's messages and its services' output are LOG_DAEMON (SyslogFacility='s
	// default); a client's entry has its SYSLOG_FACILITY=, or is LOG_USER.
	facility := facilityUser
	switch l.Stream {
	case "manager", "stdout", "stderr":
		facility = facilityDaemon
	}
	for _, fl := range l.Fields {
		if fl.Name == "SYSLOG_FACILITY" {
			if n, err := strconv.Atoi(fl.Value); err == nil && n >= 0 && n < 128 {
				facility = n
			}
		}
	}
	if facility == 0 {
		facility = facilityUser // syslog_fixup_facility: kern is not for programs
	}
	var ident string
	uid, gid := os.Getuid(), os.Getgid()
	if src := l.Source; src != nil {
		ident = src.Ident
		if ident == "" {
			ident = src.Comm
		}
		if src.UID >= 0 {
			uid, gid = src.UID, src.GID
		}
	}
	var cred *unix.Ucred
	if l.PID > 0 {
		cred = &unix.Ucred{Pid: int32(l.PID), Uid: uint32(uid), Gid: uint32(gid)}
	}
	f.sendFormatted(facility<<3|level, l.Time, ident, l.Text, cred)
}

// forwardEntry forwards a native entry with its sender's credentials: its priority (LOG_USER
// when it names no facility), its identifier, else the sender's command name.
func (f *forwarder) forwardEntry(e *Entry, cred *unix.Ucred) {
	prio := e.Priority
	if prio&logFacMask == 0 {
		prio |= logUser
	}
	ident := e.Identifier
	if ident == "" && cred != nil {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(int(cred.Pid)) + "/comm"); err == nil {
			ident = strings.TrimSuffix(string(b), "\n")
		}
	}
	f.sendFormatted(prio, time.Now(), ident, e.Message, cred)
}

// sendFormatted sends journald's RFC 3164 form: "<PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE"
// (the message up to a NUL).
func (f *forwarder) sendFormatted(prio int, t time.Time, ident, text string, cred *unix.Ucred) {
	msg, _, _ := strings.Cut(text, "\x00")
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>%s", prio, t.Format(time.Stamp+" "))
	if cred != nil {
		fmt.Fprintf(&b, "%s[%d]: ", ident, cred.Pid)
	} else if ident != "" {
		b.WriteString(ident + ": ")
	}
	b.WriteString(msg)
	f.send([]byte(b.String()), cred)
}

// forwardRaw forwards a /dev/log datagram as it came.
func (f *forwarder) forwardRaw(b []byte, cred *unix.Ucred) { f.send(b, cred) }

func (f *forwarder) send(b []byte, cred *unix.Ucred) {
	f.mu.Lock()
	if f.fd < 0 {
		f.mu.Unlock()
		return
	}
	to := &unix.SockaddrUnix{Name: f.path}
	var oob []byte
	if cred != nil {
		oob = unix.UnixCredentials(cred)
	}
	err := unix.Sendmsg(f.fd, b, oob, to, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	if cred != nil && (errors.Is(err, unix.ESRCH) || errors.Is(err, unix.EPERM)) {
		// The sender is gone, or its credentials may not be passed on: as journald, send
		// the message with the manager's pid.
		c := *cred
		c.Pid = int32(os.Getpid())
		if errors.Is(err, unix.EPERM) {
			c.Uid, c.Gid = uint32(os.Getuid()), uint32(os.Getgid())
		}
		err = unix.Sendmsg(f.fd, b, unix.UnixCredentials(&c), to, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	}
	var warn string
	if errors.Is(err, unix.EAGAIN) {
		f.missed++
	}
	if f.missed > 0 && time.Since(f.lastWarn) >= warnMissedEvery {
		warn = fmt.Sprintf("Forwarding to syslog missed %d messages.", f.missed)
		f.missed = 0
		f.lastWarn = time.Now()
	}
	f.mu.Unlock()
	if warn != "" {
		f.store.Append(logs.Line{Stream: "manager", PID: os.Getpid(), Priority: logInfo, Text: warn,
			Source: &logs.Source{Ident: "systemd-journald", Transport: "driver", UID: os.Getuid(), GID: os.Getgid()},
			Fields: []logs.Field{{Name: "MESSAGE_ID", Value: "0027229ca0644181a76c4e92458afa2e"}}})
	}
}
