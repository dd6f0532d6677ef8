package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// journalctl 252's output modes (src/shared/logs-show.c), learnt by running it on a real
// journal: the short family, verbose, export, the JSON family, cat and with-unit.

// journalWriter prints entries in one output mode.
type journalWriter struct {
	w        io.Writer
	mode     string
	utc      bool
	noHost   bool
	all      bool            // -a: no "[N blob data]", no JSON null for long values
	fields   map[string]bool // --output-fields; nil: all
	order    []string        // --output-fields as given: the order cat prints them in
	catalog  *catalog        // -x; nil: none
	color    bool            // the message in its priority's color (a terminal)
	prevMono int64           // short-delta: the previous entry's monotonic time, -1 before the first
}

func newJournalWriter(w io.Writer, mode string) *journalWriter {
	return &journalWriter{w: w, mode: mode, prevMono: -1}
}

// jsonThreshold: longer values are null in JSON (journalctl's JSON_THRESHOLD), without -a.
const jsonThreshold = 4096

// printCharThreshold: verbose shows longer values as blobs (PRINT_CHAR_THRESHOLD), without -a.
const printCharThreshold = 300

// write prints one entry.
func (jw *journalWriter) write(e *journalEntry) error {
	var b strings.Builder
	switch jw.mode {
	case "verbose":
		jw.verbose(&b, e)
	case "export":
		jw.export(&b, e)
	case "json", "json-pretty", "json-sse", "json-seq":
		jw.json(&b, e)
	case "cat":
		jw.cat(&b, e)
	default:
		jw.short(&b, e)
	}
	if jw.catalog != nil && !strings.HasPrefix(jw.mode, "json") && jw.mode != "export" && jw.mode != "cat" {
		jw.catalog.write(&b, e)
	}
	_, err := io.WriteString(jw.w, b.String())
	return err
}

// timeOf is t (µs since the epoch) in the zone the output uses.
func (jw *journalWriter) timeOf(usec int64) time.Time {
	t := time.UnixMicro(usec)
	if jw.utc {
		return t.UTC()
	}
	return t.Local()
}

// fullTimestamp is systemd's format_timestamp: "Mon 2026-12-07 16:57:18 UTC".
func (jw *journalWriter) fullTimestamp(usec int64, precise bool) string {
	t := jw.timeOf(usec)
	if precise {
		return t.Format("Mon 2006-01-02 15:04:05") + fmt.Sprintf(".%06d ", usec%1e6) + t.Format("MST")
	}
	return t.Format("Mon 2006-01-02 15:04:05 MST")
}

// shortTimestamp is the time column of the short modes.
func (jw *journalWriter) shortTimestamp(e *journalEntry) string {
	usec := e.realtime
	if v, ok := e.get("_SOURCE_REALTIME_TIMESTAMP"); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			usec = n
		}
	}
	t := jw.timeOf(usec)
	switch jw.mode {
	case "short-full", "with-unit":
		return jw.fullTimestamp(usec, false)
	case "short-unix":
		return fmt.Sprintf("%10d.%06d", usec/1e6, usec%1e6)
	case "short-iso":
		return t.Format("2006-01-02T15:04:05-0700")
	case "short-iso-precise":
		return t.Format("2006-01-02T15:04:05") + fmt.Sprintf(".%06d", usec%1e6) + t.Format("-0700")
	case "short-precise":
		return t.Format("Jan 02 15:04:05") + fmt.Sprintf(".%06d", usec%1e6)
	case "short-monotonic", "short-delta":
		s := fmt.Sprintf("[%5d.%06d", e.mono/1e6, e.mono%1e6)
		if jw.mode == "short-delta" {
			if jw.prevMono < 0 {
				s += strings.Repeat(" ", 16)
			} else {
				d := max(e.mono-jw.prevMono, 0)
				s += fmt.Sprintf(" <%5d.%06d >", d/1e6, d%1e6)
			}
			jw.prevMono = e.mono
		}
		return s + "]"
	}
	return t.Format("Jan 02 15:04:05")
}

// short prints the short modes: "TIME HOST IDENT[PID]: MESSAGE".
func (jw *journalWriter) short(b *strings.Builder, e *journalEntry) {
	start := b.Len()
	b.WriteString(jw.shortTimestamp(e))
	if host, ok := e.get("_HOSTNAME"); ok && !jw.noHost && jw.printable(host) {
		b.WriteString(" " + host)
	}
	unitName, _ := e.get("_SYSTEMD_UNIT")
	ident, _ := e.get("SYSLOG_IDENTIFIER")
	comm, _ := e.get("_COMM")
	switch {
	case jw.mode == "with-unit" && unitName != "" && jw.printable(unitName):
		b.WriteString(" " + unitName)
	case ident != "" && jw.printable(ident):
		b.WriteString(" " + ident)
	case comm != "" && jw.printable(comm):
		b.WriteString(" " + comm)
	default:
		b.WriteString(" unknown")
	}
	if pid, ok := e.get("_PID"); ok && jw.printable(pid) {
		b.WriteString("[" + pid + "]")
	}
	b.WriteString(": ")
	msg, _ := e.get("MESSAGE")
	if !jw.all && !isPrintable(msg) {
		fmt.Fprintf(b, "[%s blob data]\n", formatBytes(len(msg)))
		return
	}
	on, off := "", ""
	if jw.color {
		prio, _ := e.get("PRIORITY")
		on, off = priorityColor(prio)
	}
	writeMultiline(b, b.Len()-start, msg, on, off)
}

// printable is shall_print: a value short modes show as it is.
func (jw *journalWriter) printable(s string) bool { return jw.all || isPrintable(s) }

// writeMultiline writes msg, its lines after the first indented by prefix columns, each
// in on/off.
func writeMultiline(b *strings.Builder, prefix int, msg, on, off string) {
	if msg == "" {
		b.WriteByte('\n')
		return
	}
	for i, line := range strings.SplitAfter(msg, "\n") {
		if line == "" {
			break
		}
		if i > 0 {
			b.WriteString(strings.Repeat(" ", prefix))
		}
		b.WriteString(on + strings.TrimSuffix(line, "\n") + off + "\n")
	}
}

// priorityColor is journalctl's color for a message of priority prio (get_log_colors).
func priorityColor(prio string) (on, off string) {
	n, err := strconv.Atoi(prio)
	switch {
	case err != nil || n == 6:
		return "", ""
	case n <= 3:
		return "\x1b[0;1;31m", ansiNormal
	case n == 4:
		return "\x1b[0;1;38;5;185m", ansiNormal
	case n == 5:
		return "\x1b[0;1;39m", ansiNormal
	case n == 7:
		return "\x1b[0;38;5;245m", ansiNormal
	}
	return "", ""
}

// isPrintable is systemd's utf8_is_printable: valid UTF-8 without control characters other
// than tab and newline.
func isPrintable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' && r != '\t' && r != '\n' || r >= 0x7f && r <= 0x9f {
			return false
		}
	}
	return true
}

// formatBytes is systemd's format_bytes: "300B", "1.2K", "4.0M".
func formatBytes(n int) string {
	if n < 1024 {
		return strconv.Itoa(n) + "B"
	}
	v, units := uint64(n), "KMGTPE"
	f := uint64(1024)
	i := 0
	for v >= f*1024 && i < len(units)-1 {
		f *= 1024
		i++
	}
	return fmt.Sprintf("%d.%d%c", v/f, v*10/f%10, units[i])
}

// selected reports whether field name is printed under --output-fields.
func (jw *journalWriter) selected(name string) bool { return jw.fields == nil || jw.fields[name] }

// verbose prints every field: a header with the time and the cursor, then "    NAME=value".
func (jw *journalWriter) verbose(b *strings.Builder, e *journalEntry) {
	usec := e.realtime
	if v, ok := e.get("_SOURCE_REALTIME_TIMESTAMP"); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			usec = n
		}
	}
	fmt.Fprintf(b, "%s [%s]\n", jw.fullTimestamp(usec, true), e.cursor)
	for _, f := range e.fields {
		if !jw.selected(f.name) {
			continue
		}
		if !jw.all && (len(f.value) >= printCharThreshold || !isPrintable(f.value)) {
			fmt.Fprintf(b, "    %s=[%s blob data]\n", f.name, formatBytes(len(f.value)))
			continue
		}
		b.WriteString("    " + f.name + "=")
		writeMultiline(b, 4+len(f.name)+1, f.value, "", "")
	}
}

// export is the journal export format: NAME=value lines, a value that is not printable
// text on one line as NAME, a 64-bit little-endian length and the bytes; an empty line
// after each entry.
func (jw *journalWriter) export(b *strings.Builder, e *journalEntry) {
	fmt.Fprintf(b, "__CURSOR=%s\n__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n", e.cursor, e.realtime, e.mono)
	if id, ok := e.get("_BOOT_ID"); ok {
		b.WriteString("_BOOT_ID=" + id + "\n")
	}
	for _, f := range e.fields {
		if f.name == "_BOOT_ID" || !jw.selected(f.name) {
			continue
		}
		if isPrintable(f.value) && !strings.Contains(f.value, "\n") {
			b.WriteString(f.name + "=" + f.value + "\n")
			continue
		}
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(f.value)))
		b.WriteString(f.name + "\n")
		b.Write(n[:])
		b.WriteString(f.value + "\n")
	}
	b.WriteByte('\n')
}

// json prints one object: the cursor and the timestamps, then the fields; a value that is
// not printable text is an array of its bytes, a longer one than jsonThreshold null.
func (jw *journalWriter) json(b *strings.Builder, e *journalEntry) {
	type kv struct {
		k     string
		v     string
		bytes bool
		null  bool
	}
	kvs := []kv{{k: "__CURSOR", v: e.cursor}, {k: "__REALTIME_TIMESTAMP", v: strconv.FormatInt(e.realtime, 10)},
		{k: "__MONOTONIC_TIMESTAMP", v: strconv.FormatInt(e.mono, 10)}}
	for _, f := range e.fields {
		if f.name != "_BOOT_ID" && !jw.selected(f.name) {
			continue
		}
		x := kv{k: f.name, v: f.value}
		switch {
		case !jw.all && len(f.value) > jsonThreshold:
			x.null = true
		case !jw.all && !isPrintable(f.value):
			x.bytes = true
		}
		kvs = append(kvs, x)
	}
	pretty := jw.mode == "json-pretty"
	switch jw.mode {
	case "json-sse":
		b.WriteString("data: ")
	case "json-seq":
		b.WriteByte(0x1e)
	}
	b.WriteByte('{')
	for i, x := range kvs {
		if i > 0 {
			b.WriteByte(',')
		}
		if pretty {
			b.WriteString("\n\t")
		}
		writeJSONString(b, x.k)
		if pretty {
			b.WriteString(" : ")
		} else {
			b.WriteByte(':')
		}
		switch {
		case x.null:
			b.WriteString("null")
		case x.bytes:
			b.WriteByte('[')
			for j := 0; j < len(x.v); j++ {
				if j > 0 {
					b.WriteByte(',')
					if pretty {
						b.WriteByte(' ')
					}
				}
				b.WriteString(strconv.Itoa(int(x.v[j])))
			}
			b.WriteByte(']')
		default:
			writeJSONString(b, x.v)
		}
	}
	if pretty {
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	if jw.mode == "json-sse" {
		b.WriteByte('\n')
	}
}

// writeJSONString writes s as a JSON string, as systemd's JSON writer escapes it.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < ' ':
			fmt.Fprintf(b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// cat prints the message alone (or the --output-fields values, in the order given:
// journalctl prints them in its hash set's order), as it is.
func (jw *journalWriter) cat(b *strings.Builder, e *journalEntry) {
	if jw.fields == nil {
		if msg, ok := e.get("MESSAGE"); ok {
			b.WriteString(msg + "\n")
		}
		return
	}
	for _, name := range jw.order {
		if v, ok := e.get(name); ok {
			b.WriteString(v + "\n")
		}
	}
}
