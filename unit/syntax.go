package unit

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
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
}

// Entry is one Key=Value assignment, after continuation lines are joined and whitespace around
// '=' is removed. Value is raw: no unquoting and no specifier expansion.
type Entry struct {
	Key   string
	Value string
	File  string
	Line  int // line where the assignment starts
}

// Pos returns "file:line" for messages.
func (e Entry) Pos() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

// Severity of a Diagnostic.
type Severity int

const (
	Warning Severity = iota // systemd logs it and goes on
	Error                   // the unit does not load (LoadState=error or bad-setting)
)

// Diagnostic is a problem found in a unit file, always with its place.
type Diagnostic struct {
	Severity Severity
	File     string
	Line     int // 0 when the problem is about the whole file
	Msg      string
}

func (d Diagnostic) String() string {
	sev := "warning"
	if d.Severity == Error {
		sev = "error"
	}
	if d.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", d.File, d.Line, sev, d.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", d.File, sev, d.Msg)
}

func (d Diagnostic) Error() string { return d.String() }

// ParseFile splits a unit file into sections and entries following systemd.syntax(7):
// '#' and ';' start comment lines; a trailing backslash continues the line (the pieces are
// joined with a space, and comment lines inside a continuation are skipped); whitespace around
// '=' is dropped. Lines that systemd ignores with a warning (no '=', assignment outside a
// section) give a Warning; a malformed section header or an over-long line gives an Error,
// and then the returned File must not be used to load the unit.
func ParseFile(path string, data []byte) (*File, []Diagnostic) {
	f := &File{Path: path}
	var diags []Diagnostic
	var cur *Section
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), MaxLineLength+2)
	lineNo := 0
	var cont strings.Builder
	contStart := 0
	inCont := false
	fail := func(line int, format string, a ...any) {
		diags = append(diags, Diagnostic{Severity: Error, File: path, Line: line, Msg: fmt.Sprintf(format, a...)})
	}
	warn := func(line int, format string, a ...any) {
		diags = append(diags, Diagnostic{Severity: Warning, File: path, Line: line, Msg: fmt.Sprintf(format, a...)})
	}
	handle := func(line int, text string) {
		text = strings.TrimSpace(text)
		if text == "" {
			return
		}
		if text[0] == '[' {
			if text[len(text)-1] != ']' || len(text) < 3 {
				fail(line, "invalid section header '%s'", text)
				return
			}
			cur = &Section{Name: text[1 : len(text)-1], Line: line}
			f.Sections = append(f.Sections, cur)
			return
		}
		if cur == nil {
			warn(line, "assignment outside of section, ignoring")
			return
		}
		i := strings.IndexByte(text, '=')
		if i < 0 {
			warn(line, "missing '=', ignoring line")
			return
		}
		key := strings.TrimSpace(text[:i])
		if key == "" {
			warn(line, "missing key name before '=', ignoring line")
			return
		}
		cur.Entries = append(cur.Entries, Entry{Key: key, Value: strings.TrimSpace(text[i+1:]), File: path, Line: line})
	}
	for sc.Scan() {
		lineNo++
		raw := sc.Text()
		if lineNo == 1 {
			raw = strings.TrimPrefix(raw, "\ufeff")
		}
		trimmed := strings.TrimLeft(raw, " \t")
		if inCont && (strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";")) {
			continue // comment lines inside a continuation are skipped
		}
		if !inCont && (trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';') {
			continue
		}
		if cont.Len()+len(raw) > MaxLineLength {
			fail(lineNo, "line too long (more than %d bytes)", MaxLineLength)
			return f, diags
		}
		if endsWithOddBackslashes(raw) {
			if !inCont {
				contStart = lineNo
				inCont = true
			}
			cont.WriteString(raw[:len(raw)-1])
			cont.WriteByte(' ')
			continue
		}
		if inCont {
			cont.WriteString(raw)
			handle(contStart, cont.String())
			cont.Reset()
			inCont = false
			continue
		}
		handle(lineNo, raw)
	}
	if err := sc.Err(); err != nil {
		fail(lineNo+1, "line too long (more than %d bytes)", MaxLineLength)
		return f, diags
	}
	if inCont {
		handle(contStart, cont.String())
	}
	return f, diags
}

func endsWithOddBackslashes(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}
