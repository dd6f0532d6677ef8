package unit

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"
	"unsafe"
)

// MaxLineLength is the longest logical line accepted, as systemd's LONG_LINE_MAX (1 MiB).
const MaxLineLength = 1 << 20

// File is one parsed unit file or drop-in: its sections in file order.
type File struct {
	Path     string
	Sections []*Section
}

// Section is one [Name] block. A name may appear several times in a file; each occurrence is
// its own Section, in order.
type Section struct {
	Name    string
	Line    int // line of the [Name] header
	Entries []Entry
	// Warnings are the malformed lines of the section (no '=', no key). systemd reports
	// them only for a section the unit type reads, so Decode reports them, not ParseFile.
	Warnings []Diagnostic
}

// Entry is one Key=Value assignment, after continuation lines are joined and whitespace around
// '=' is removed. Value is raw: no unquoting and no specifier expansion. Line is where the
// logical line ends, as systemd reports it.
type Entry struct {
	Key   string
	Value string
	File  string
	Line  int // line where the (continued) assignment ends, as systemd counts
}

// Pos returns "file:line" for messages.
func (e Entry) Pos() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

// Where returns where e was written, for a setting that keeps it.
func (e Entry) Where() Pos { return PosOf(e.File, e.Line) }

// Pos is where a setting was written, a file and a line, shown as "file:line". It keeps
// the file's name (the string the unit's FragmentPath or DropInPaths hold) rather than a
// "file:line" string of its own: no allocation per setting, and the size of a string.
type Pos struct {
	file       *byte
	size, line uint32
}

// PosOf returns the position of line in file.
func PosOf(file string, line int) Pos {
	return Pos{file: unsafe.StringData(file), size: uint32(len(file)), line: uint32(line)}
}

// File is the file of p.
func (p Pos) File() string { return unsafe.String(p.file, p.size) }

// Line is the line of p.
func (p Pos) Line() int { return int(p.line) }

// IsZero reports whether p is no position.
func (p Pos) IsZero() bool { return p == Pos{} }

// String is "file:line", or "" for no position.
func (p Pos) String() string {
	if p.IsZero() {
		return ""
	}
	return p.File() + ":" + strconv.Itoa(p.Line())
}

// MarshalText encodes p as its String.
func (p Pos) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Severity of a Diagnostic.
type Severity int

const (
	Warning Severity = iota // systemd logs it and goes on
	Error                   // the unit does not load (LoadState=error or bad-setting)
)

// Diagnostic is a problem found in a unit file, always with its place. Msg never holds a
// control character (Printable): it may quote a hostile file, and is printed on terminals.
type Diagnostic struct {
	Severity Severity
	File     string
	Line     int // 0 when the problem is about the whole file
	Msg      string
	// Errno is, for an Error that makes systemd refuse the whole file, the error systemd
	// fails the unit with ("failed to load properly: Bad message"): EBADMSG for a bad
	// section header, EINVAL for invalid UTF-8, ENOBUFS for a line too long.
	Errno syscall.Errno `json:",omitempty"`
}

// String is "file:line: severity: message", the file name made Printable.
func (d Diagnostic) String() string {
	sev := "warning"
	if d.Severity == Error {
		sev = "error"
	}
	if d.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", Printable(d.File), d.Line, sev, d.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", Printable(d.File), sev, d.Msg)
}

func (d Diagnostic) Error() string { return d.String() }

// Unwrap gives the Errno of a fatal error, nil for others.
func (d Diagnostic) Unwrap() error {
	if d.Errno != 0 {
		return d.Errno
	}
	return nil
}

// ParseFile splits a unit file into sections and entries exactly as systemd 252's
// config_parse() reads it:
//   - lines end at '\n', '\r', "\r\n" (or "\n\r") and NUL; a UTF-8 byte order mark at the
//     start of the file is skipped;
//   - a line whose first non-blank character is '#' or ';' is a comment, also in the middle
//     of a continuation (it is skipped and the continuation goes on);
//   - a line ending in an odd number of backslashes continues on the next line: the last
//     backslash becomes a space and the next line is appended as is; an empty line ends it;
//   - blanks around the line, the key and the value are dropped;
//   - an entry's Line is the line where the logical line ends (what systemd reports), or
//     one past the last line for a continuation still open at the end of the file.
//
// Lines systemd ignores with a warning are dropped: an assignment outside of any section
// gives a Warning; a line without '=' or without a key gives a Warning kept in its
// Section.Warnings (Decode reports them for the sections the unit type reads, as systemd
// stays silent about lines in sections it ignores). A section header without its closing ']' or
// with unsafe characters, a line that is not UTF-8, or a line of 1 MiB or more, gives an Error: systemd then refuses
// the whole file, and the returned File must not be used to load the unit.
func ParseFile(path string, data []byte) (*File, []Diagnostic) {
	f := &File{Path: path}
	var diags []Diagnostic
	var cur *Section
	warn := func(line int, format string, a ...any) {
		d := Diagnostic{Severity: Warning, File: path, Line: line, Msg: Printable(fmt.Sprintf(format, a...))}
		if cur != nil {
			cur.Warnings = append(cur.Warnings, d)
			return
		}
		diags = append(diags, d)
	}
	fail := func(line int, errno syscall.Errno, format string, a ...any) {
		diags = append(diags, Diagnostic{Severity: Error, File: path, Line: line,
			Msg: Printable(fmt.Sprintf(format, a...)), Errno: errno})
	}
	// parseLine is parse_line(); false means the file is refused.
	parseLine := func(line int, l string) bool {
		l = strings.Trim(l, whitespace)
		if l == "" {
			return true
		}
		if !utf8.ValidString(l) {
			// systemd logs "ignoring" but then refuses the file (EINVAL). Printable
			// replaces each invalid byte with U+FFFD, as systemd's utf8_escape_invalid.
			fail(line, syscall.EINVAL, "String is not UTF-8 clean, ignoring assignment: %s", l)
			return false
		}
		if l[0] == '[' {
			if l[len(l)-1] != ']' || len(l) < 2 {
				fail(line, syscall.EBADMSG, "Invalid section header '%s'", l)
				return false
			}
			name := l[1 : len(l)-1]
			if !stringIsSafe(name) {
				fail(line, syscall.EBADMSG, "Bad characters in section header '%s'", l)
				return false
			}
			cur = &Section{Name: name, Line: line}
			f.Sections = append(f.Sections, cur)
			return true
		}
		if cur == nil {
			warn(line, "Assignment outside of section. Ignoring.")
			return true
		}
		i := strings.IndexByte(l, '=')
		if i < 0 {
			warn(line, "Missing '=', ignoring line.")
			return true
		}
		if i == 0 {
			warn(line, "Missing key name before '=', ignoring line.")
			return true
		}
		cur.Entries = append(cur.Entries, Entry{
			Key:   strings.Trim(l[:i], whitespace),
			Value: strings.Trim(l[i+1:], whitespace),
			File:  path,
			Line:  line,
		})
		return true
	}

	var cont strings.Builder
	inCont := false
	bomSeen := false
	lineNo := 0
	rest := data
	for len(rest) > 0 {
		buf, next := readLine(rest)
		rest = next
		if len(buf) >= MaxLineLength {
			fail(lineNo+1, syscall.ENOBUFS, "Line too long")
			return f, diags
		}
		lineNo++
		l := string(buf)
		if t := strings.TrimLeft(l, whitespace); t != "" && (t[0] == '#' || t[0] == ';') {
			continue
		}
		if !bomSeen {
			if s, ok := strings.CutPrefix(l, "\ufeff"); ok {
				l, bomSeen = s, true
			}
		}
		if inCont {
			if cont.Len()+len(l) > MaxLineLength {
				fail(lineNo, syscall.ENOBUFS, "Continuation line too long")
				return f, diags
			}
		}
		if endsWithOddBackslashes(l) {
			cont.WriteString(l[:len(l)-1])
			cont.WriteByte(' ')
			inCont = true
			continue
		}
		p := l
		if inCont {
			cont.WriteString(l)
			p = cont.String()
			cont.Reset()
			inCont = false
		}
		if !parseLine(lineNo, p) {
			return f, diags
		}
	}
	if inCont {
		parseLine(lineNo+1, cont.String())
	}
	return f, diags
}

// readLine is systemd's read_line(): a line ends at a run of '\n', '\r' and NUL in which
// '\n' and '\r' appear at most once each and a NUL comes last.
func readLine(data []byte) (line, rest []byte) {
	i := 0
	for i < len(data) && data[i] != '\n' && data[i] != '\r' && data[i] != 0 {
		i++
	}
	line = data[:i]
	const nl, cr, zero = 1, 2, 4
	seen := 0
	for i < len(data) && seen&zero == 0 {
		var k int
		switch data[i] {
		case '\n':
			k = nl
		case '\r':
			k = cr
		case 0:
			k = zero
		}
		if k == 0 || seen&k != 0 {
			break
		}
		seen |= k
		i++
	}
	return line, data[i:]
}

func endsWithOddBackslashes(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}
