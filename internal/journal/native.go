// Package journal serves journald's sockets where no journald runs, so that what programs
// send to the journal reaches flint's log store: the native protocol (sd_journal_send(3),
// /run/systemd/journal/socket), the stream protocol (sd_journal_stream_fd(3),
// /run/systemd/journal/stdout) and syslog datagrams (/dev/log, which journald has as
// /run/systemd/journal/dev-log). Each message is parsed as systemd-journald 252 parses it,
// attributed to the unit of the sending process, stored, and forwarded to a syslog daemon
// listening on /run/systemd/journal/syslog (journald's ForwardToSyslog=).
//
// The parsers (ParseNative, ParseSyslog, the stream's header) are pure functions over
// untrusted bytes: every size is bounded, nothing is kept from one message to the next.
package journal

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/flint-init/flint/internal/logs"
)

// Limits on what a client may send. journald accepts entries of up to 768 MiB; flint keeps
// its memory bounded and drops larger entries, as journald drops those above its limit.
const (
	// MaxEntryBytes bounds one entry (the sum of its fields) and a datagram or memfd read.
	MaxEntryBytes = 8 << 20
	// MaxFields is the most fields one entry may have (journald's ENTRY_FIELD_COUNT_MAX).
	MaxFields = 1024
	// maxFieldName is the longest field name (journal_field_valid).
	maxFieldName = 64
)

// Entry is one entry a client sent: its fields in the order sent (names checked, protected
// "_" fields dropped), and what journald reads from them.
type Entry struct {
	// Fields are NAME=value pairs; values may hold any bytes. MESSAGE fields are not in
	// here: the last one is Message.
	Fields []logs.Field
	// Message is the last MESSAGE= value; HasMessage tells whether there was one.
	Message    string
	HasMessage bool
	// Priority is the syslog priority journald derives from PRIORITY= and SYSLOG_FACILITY=
	// (facility << 3 | level; LOG_INFO without them): what forwarding to syslog uses.
	Priority int
	// Level is PRIORITY='s digit, -1 without a one-digit PRIORITY= (the entry then matches no
	// journalctl -p).
	Level int
	// Identifier is the last SYSLOG_IDENTIFIER= value ("" without one).
	Identifier string
}

const logInfo = 6

// FieldNameValid is journald's journal_field_valid for a client's field: 1 to 64 characters
// of A-Z, 0-9 and '_', not starting with a digit or (protected, set only by journald) '_'.
func FieldNameValid(name []byte) bool {
	if len(name) == 0 || len(name) > maxFieldName || name[0] == '_' || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, c := range name {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ParseNative reads the entries of one native-protocol message (a datagram, or the contents
// of a file passed with it), as journald 252's server_process_entry: entries are separated by
// an empty line; a field is "NAME=value\n", or "NAME\n" followed by the value's length as a
// little-endian 64-bit number, the value and "\n" (binary-safe); lines starting with '.' or
// '#' are ignored. Fields with invalid names are skipped. Parsing stops (what was read of the
// current entry is kept) at trailing bytes without '\n' or a truncated binary field; an entry
// with more than MaxFields fields or above MaxEntryBytes is dropped and ends the message.
// emit is called for every entry with at least one field.
func ParseNative(buf []byte, emit func(*Entry)) {
	for len(buf) > 0 {
		e, rest, ok := parseEntry(buf)
		if !ok {
			return
		}
		emit(e)
		if len(rest) == len(buf) {
			return
		}
		buf = rest
	}
}

// parseEntry reads one entry off buf; ok is false when nothing (more) is to be emitted.
func parseEntry(buf []byte) (e *Entry, rest []byte, ok bool) {
	e = &Entry{Priority: logInfo, Level: -1}
	n, size := 0, 0
	p := buf
	for len(p) > 0 {
		nl := bytes.IndexByte(p, '\n')
		if nl < 0 {
			break // trailing noise: keep what the entry has
		}
		if nl == 0 {
			p = p[1:] // the entry's end
			break
		}
		if p[0] == '.' || p[0] == '#' {
			p = p[nl+1:]
			continue
		}
		if n > MaxFields {
			return nil, nil, false
		}
		line := p[:nl]
		if eq := bytes.IndexByte(line, '='); eq >= 0 {
			if FieldNameValid(line[:eq]) {
				if size+len(line)+n+1 > MaxEntryBytes {
					return nil, nil, false
				}
				size += len(line)
				n++
				e.add(string(line[:eq]), string(line[eq+1:]))
			}
			p = p[nl+1:]
			continue
		}
		// NAME\n<le64 length><value>\n
		if len(p) < nl+1+8+1 {
			break
		}
		l := binary.LittleEndian.Uint64(p[nl+1:])
		if l > MaxEntryBytes {
			return nil, nil, false
		}
		total := uint64(nl) + 1 + l
		if uint64(size)+total+uint64(n)+1 > MaxEntryBytes {
			return nil, nil, false
		}
		end := uint64(nl) + 1 + 8 + l
		if uint64(len(p)) < end+1 || p[end] != '\n' {
			break
		}
		if FieldNameValid(line) {
			size += int(total)
			n++
			e.add(string(line), string(p[nl+1+8:end]))
		}
		p = p[end+1:]
	}
	if n == 0 {
		return nil, nil, false
	}
	return e, p, true
}

// add records field name=value and what journald reads from it (server_process_entry_meta).
func (e *Entry) add(name, value string) {
	switch {
	case name == "MESSAGE":
		e.Message, e.HasMessage = value, true
		return
	case name == "PRIORITY" && len(value) == 1 && value[0] >= '0' && value[0] <= '9':
		d := int(value[0] - '0')
		e.Priority = e.Priority&^7 | d
		if d <= 7 {
			e.Level = d
		} else {
			e.Level = -1
		}
	case name == "SYSLOG_FACILITY" && len(value) >= 1 && len(value) <= 2 && allDigits(value):
		f := int(value[0] - '0')
		if len(value) == 2 {
			f = f*10 + int(value[1]-'0')
		}
		e.Priority = e.Priority&7 | f<<3
	case name == "SYSLOG_IDENTIFIER":
		// journald keeps the identifier as a C string: up to a NUL.
		e.Identifier, _, _ = strings.Cut(value, "\x00")
	}
	e.Fields = append(e.Fields, logs.Field{Name: name, Value: value})
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
