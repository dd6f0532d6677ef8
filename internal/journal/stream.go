package journal

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/flint-init/flint/unit"
)

// The stream protocol (sd_journal_stream_fd(3), systemd's StandardOutput=journal): a
// connection to /run/systemd/journal/stdout starts with a header of seven lines — the
// identifier, the unit id (honoured from root only), the priority (facility*8 + level), whether
// lines carry "<N>" prefixes, and whether to forward to syslog, kmsg and the console — then
// carries the program's output, one entry per line, as journald 252's journald-stream.c reads
// it.

// LineMax is the longest line of a stream kept whole (journald's LineMax= default, 48K);
// longer lines are split.
const LineMax = 48 << 10

// lineBreak is what ended a stream line, as journald records it (_LINE_BREAK=).
type lineBreak int

const (
	breakNewline lineBreak = iota
	breakNUL
	breakLineMax
	breakEOF
)

func (b lineBreak) field() string {
	switch b {
	case breakNUL:
		return "nul"
	case breakLineMax:
		return "line-max"
	case breakEOF:
		return "eof"
	}
	return ""
}

// streamHeader is what the header of one stream said.
type streamHeader struct {
	state           int // the header lines read so far; 7 when running
	Identifier      string
	UnitID          string
	Priority        int
	LevelPrefix     bool
	ForwardToSyslog bool
}

const headerLines = 7

func (h *streamHeader) running() bool { return h.state >= headerLines }

// header reads header line number h.state (trimmed of whitespace, as journald strstrips it);
// root tells whether the peer is root (only root may name the unit).
func (h *streamHeader) header(line string, root bool) error {
	p := strings.Trim(line, whitespace)
	var err error
	switch h.state {
	case 0:
		h.Identifier = p
	case 1:
		if root && unit.ValidUnitName(p) && !strings.Contains(p, "@.") {
			h.UnitID = p
		}
	case 2:
		n, perr := strconv.Atoi(p)
		if perr != nil || n < 0 || n > 999 {
			return fmt.Errorf("Failed to parse log priority line: %q", p)
		}
		h.Priority = n
	case 3:
		h.LevelPrefix, err = unit.ParseBool(p)
		if err != nil {
			return fmt.Errorf("Failed to parse level prefix line: %q", p)
		}
	case 4:
		h.ForwardToSyslog, err = unit.ParseBool(p)
		if err != nil {
			return fmt.Errorf("Failed to parse forward to syslog line: %q", p)
		}
	case 5, 6: // kmsg, console: flint forwards to neither
		if _, err := unit.ParseBool(p); err != nil {
			return fmt.Errorf("Failed to parse copy to kmsg/console line: %q", p)
		}
	}
	h.state++
	return nil
}

// streamLine is one line of a running stream as stored: its level and message; ok false for
// a line journald drops (empty once its prefix and trailing whitespace are gone).
func (h *streamHeader) line(b []byte) (prio int, msg string, ok bool) {
	s := strings.TrimRight(string(b), whitespace)
	prio = h.Priority
	if h.LevelPrefix {
		s = parsePriority(s, &prio, false)
	}
	return prio, s, s != ""
}

// errHeader is a header line that did not end with '\n'.
var errHeader = errors.New("Control protocol line not properly terminated.")

// streamReader splits a stream into lines as journald does: at '\n', at NUL, after LineMax
// bytes without either, and at the end. Its buffer is LineMax bytes at most.
type streamReader struct {
	r          io.Reader
	buf        []byte
	start, end int
	err        error
}

// next returns the next line (without its terminator) and what ended it; err once the stream
// has ended and everything is returned.
func (sr *streamReader) next() ([]byte, lineBreak, error) {
	scanned := 0
	for {
		data := sr.buf[sr.start+scanned : sr.end]
		for i, c := range data {
			if c == '\n' || c == 0 {
				line := sr.buf[sr.start : sr.start+scanned+i]
				sr.start += scanned + i + 1
				if c == 0 {
					return line, breakNUL, nil
				}
				return line, breakNewline, nil
			}
		}
		scanned = sr.end - sr.start
		if scanned >= LineMax {
			line := sr.buf[sr.start : sr.start+LineMax]
			sr.start += LineMax
			return line, breakLineMax, nil
		}
		if sr.err != nil {
			if scanned > 0 {
				line := sr.buf[sr.start:sr.end]
				sr.start = sr.end
				return line, breakEOF, nil
			}
			return nil, breakEOF, sr.err
		}
		if sr.start > 0 {
			copy(sr.buf, sr.buf[sr.start:sr.end])
			sr.end -= sr.start
			sr.start = 0
		}
		if sr.end == len(sr.buf) {
			size := min(max(512, 2*len(sr.buf)), LineMax)
			sr.buf = append(sr.buf, make([]byte, size-len(sr.buf))...)
		}
		n, err := sr.r.Read(sr.buf[sr.end:])
		sr.end += n
		if err != nil {
			sr.err = err
		}
	}
}
