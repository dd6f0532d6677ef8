package journal

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/flint-init/flint/internal/logs"
)

// Syslog is one syslog datagram as journald 252 reads it (server_process_syslog_message):
// "<PRI>" (facility*8 + level), an RFC 3164 timestamp that is skipped ("Dec  7 12:00:00 "),
// "IDENTIFIER[PID]: " and the message. journald 252 knows no RFC 5424: such a datagram's
// priority is read, and the rest ("1 2026-12-07T12:00:00Z host tag 42 - - text") is its
// message, without an identifier.
type Syslog struct {
	Priority      int // facility << 3 | level; LOG_USER|LOG_INFO without "<PRI>"
	Identifier    string
	HasIdentifier bool
	PID           string
	HasPID        bool
	Timestamp     string // the RFC 3164 timestamp skipped, with its trailing space; "" if none
	Message       string
	// Raw is the datagram as received, kept (SYSLOG_RAW=) when the message is not the
	// datagram itself: whitespace was stripped, it held a NUL, or it had no timestamp.
	Raw      string
	StoreRaw bool
}

const (
	logUser    = 1 << 3
	logFacMask = 0x3f8
	whitespace = " \t\n\r"
)

// ParseSyslog reads one datagram; ok is false for an empty one (journald ignores it).
func ParseSyslog(buf []byte) (s Syslog, ok bool) {
	if len(buf) == 0 {
		return s, false
	}
	s.Priority = logUser | logInfo
	// journald reads the datagram as a C string (up to a NUL), but strips trailing
	// whitespace (and NULs) over the whole datagram.
	i := len(buf)
	for i > 0 && (buf[i-1] == 0 || strings.IndexByte(whitespace, buf[i-1]) >= 0) {
		i--
	}
	lead := 0
	for lead < len(buf) && buf[lead] != 0 && strings.IndexByte(whitespace, buf[lead]) >= 0 {
		lead++
	}
	var msg []byte
	if i > 0 {
		msg = cString(buf[lead:i])
	}
	s.StoreRaw = i == 0 || lead > 0 || i != len(buf) || len(msg) != len(buf)
	msg = parsePriority(msg, &s.Priority, true)
	if ts, ok := skipTimestamp(msg); ok {
		s.Timestamp = string(msg[:ts])
		msg = msg[ts:]
	} else {
		s.StoreRaw = true
	}
	msg = s.parseIdentifier(msg)
	s.Message = string(msg)
	if s.StoreRaw {
		s.Raw = string(buf)
	}
	return s, true
}

// cString is b up to its first NUL.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// parsePriority is syslog_parse_priority: "<N>", "<NN>" or "<NNN>" is taken off p. With the
// facility, its value (any up to 999) is *prio; without, it must be a level (0-7 after
// zeros) and replaces the level of *prio.
func parsePriority[T string | []byte](p T, prio *int, withFacility bool) T {
	if len(p) == 0 || p[0] != '<' {
		return p
	}
	end := -1
	for i := 1; i < len(p) && i <= 4; i++ {
		if p[i] == '>' {
			end = i
			break
		}
	}
	if end < 2 {
		return p
	}
	v := 0
	for i := 1; i < end; i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return p
		}
		v = v*10 + int(c-'0')
	}
	switch {
	case withFacility:
		*prio = v
	case v > 7:
		return p
	default:
		*prio = *prio&^7 | v
	}
	return p[end+1:]
}

// skipTimestamp is syslog_skip_timestamp: the length of an RFC 3164 timestamp ("Mmm dd
// hh:mm:ss ", days and hours may have a space for a leading zero) at the start of p.
func skipTimestamp(p []byte) (int, bool) {
	const pattern = "AAA S# S#:S#:S# " // A letter, S space or digit, # digit
	if len(p) < len(pattern) {
		return 0, false
	}
	for i := 0; i < len(pattern); i++ {
		c := p[i]
		switch pattern[i] {
		case 'A':
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return 0, false
			}
		case 'S':
			if c != ' ' && !(c >= '0' && c <= '9') {
				return 0, false
			}
		case '#':
			if !(c >= '0' && c <= '9') {
				return 0, false
			}
		default:
			if c != pattern[i] {
				return 0, false
			}
		}
	}
	return len(pattern), true
}

// parseIdentifier is syslog_parse_identifier: a first word ending in ':' is "IDENT:" or
// "IDENT[PID]:", taken off with one whitespace character after it.
func (s *Syslog) parseIdentifier(buf []byte) []byte {
	p := buf
	for len(p) > 0 && strings.IndexByte(whitespace, p[0]) >= 0 {
		p = p[1:]
	}
	l := 0
	for l < len(p) && strings.IndexByte(whitespace, p[l]) < 0 {
		l++
	}
	if l == 0 || p[l-1] != ':' {
		return buf
	}
	e := l
	l--
	if l > 0 && p[l-1] == ']' {
		for k := l - 1; ; k-- {
			if p[k] == '[' {
				s.PID, s.HasPID = string(p[k+1:l-1]), true
				l = k
				break
			}
			if k == 0 {
				break
			}
		}
	}
	s.Identifier, s.HasIdentifier = string(p[:l]), true
	if e < len(p) && strings.IndexByte(whitespace, p[e]) >= 0 {
		e++
	}
	return p[e:]
}

// Fields are the journal fields journald stores for the datagram (MESSAGE aside), in its
// order.
func (s *Syslog) Fields() []logs.Field {
	fs := []logs.Field{{Name: "PRIORITY", Value: strconv.Itoa(s.Priority & 7)}}
	if s.Priority&logFacMask != 0 {
		fs = append(fs, logs.Field{Name: "SYSLOG_FACILITY", Value: strconv.Itoa(s.Priority & logFacMask >> 3)})
	}
	if s.HasIdentifier {
		fs = append(fs, logs.Field{Name: "SYSLOG_IDENTIFIER", Value: s.Identifier})
	}
	if s.HasPID {
		fs = append(fs, logs.Field{Name: "SYSLOG_PID", Value: s.PID})
	}
	if s.Timestamp != "" {
		fs = append(fs, logs.Field{Name: "SYSLOG_TIMESTAMP", Value: s.Timestamp})
	}
	if s.StoreRaw {
		fs = append(fs, logs.Field{Name: "SYSLOG_RAW", Value: s.Raw})
	}
	return fs
}
