package unit

import (
	"strings"
	"unicode/utf8"
)

// Printable makes s safe to print on a terminal, for messages that quote what a unit file
// (or a process) says: control characters, which could move the cursor, retitle the window
// or start a terminal escape sequence (ESC, the C1 controls U+0080-U+009F, DEL), are written
// as C escapes the way systemd's cescape writes them (\n, \t, ... and octal \033 for the
// others, byte by byte), and each byte that is not valid UTF-8 becomes U+FFFD, as systemd's
// utf8_escape_invalid. Everything else, backslashes included, is kept: a message that quotes
// no control character reads exactly as systemd's.
func Printable(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || isControl(r) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString("\uFFFD")
		case isControl(r):
			for _, c := range []byte(s[i : i+n]) {
				writeCEscape(&b, c)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// isControl reports the C0 controls, DEL and the C1 controls.
func isControl(r rune) bool {
	return r < ' ' || (r >= 0x7f && r <= 0x9f)
}

func writeCEscape(b *strings.Builder, c byte) {
	switch c {
	case '\a':
		b.WriteString(`\a`)
	case '\b':
		b.WriteString(`\b`)
	case '\f':
		b.WriteString(`\f`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	case '\v':
		b.WriteString(`\v`)
	default:
		b.WriteByte('\\')
		b.WriteByte('0' + c>>6)
		b.WriteByte('0' + c>>3&7)
		b.WriteByte('0' + c&7)
	}
}
