package tmpfiles

import (
	"errors"
	"syscall"
)

// whitespace separates the fields of a line (systemd's WHITESPACE).
const whitespace = " \t\n\r"

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// errQuoting is an unbalanced quote or a trailing backslash in a field (EINVAL in systemd).
var errQuoting = syscall.EINVAL

// nextWord takes the first word of s as systemd's extract_first_word() does with
// EXTRACT_UNQUOTE and nothing else: leading whitespace skipped, '…' and "…" quotes removed, a
// backslash taking the next byte as it is. rest is what follows the word and the whitespace
// after it; more is false when nothing follows (systemd's pointer set to NULL). ok is false
// when s holds no word.
func nextWord(s string) (word, rest string, ok, more bool, err error) {
	return extractWord(s, false)
}

// splitFields takes up to n words off line (extract_many_words): the words found, and the
// rest of the line after the last of them when something follows (hasRest).
func splitFields(line string, n int) (words []string, rest string, hasRest bool, err error) {
	p, more := line, true
	for len(words) < n && more {
		w, r, ok, m, err := nextWord(p)
		if err != nil {
			return nil, "", false, err
		}
		if !ok {
			more = false
			break
		}
		words = append(words, w)
		p, more = r, m
	}
	if !more {
		return words, "", false, nil
	}
	return words, p, true, nil
}

// cunescape decodes the C escapes of s as systemd's cunescape() without flags: \a \b \f \n
// \r \t \v \\ \" \' \s, \xHH, \ooo (octal, at most 255), \uHHHH and \UHHHHHHHH (encoded as
// UTF-8); a NUL byte, an unknown escape or a trailing backslash is an error.
func cunescape(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(s) {
			return nil, syscall.EINVAL
		}
		p := s[i+1:]
		var n int
		switch p[0] {
		case 'a', 'b', 'f', 'n', 'r', 't', 'v', '\\', '"', '\'', 's':
			out = append(out, simpleEscape[p[0]])
			n = 1
		case 'x':
			if len(p) < 3 {
				return nil, syscall.EINVAL
			}
			a, b := unhex(p[1]), unhex(p[2])
			if a < 0 || b < 0 || (a == 0 && b == 0) {
				return nil, syscall.EINVAL
			}
			out = append(out, byte(a<<4|b))
			n = 3
		case 'u', 'U':
			digits := 4
			if p[0] == 'U' {
				digits = 8
			}
			if len(p) < 1+digits {
				return nil, syscall.EINVAL
			}
			var v uint32
			for k := 1; k <= digits; k++ {
				d := unhex(p[k])
				if d < 0 {
					return nil, syscall.EINVAL
				}
				v = v<<4 | uint32(d)
			}
			if v == 0 || (p[0] == 'U' && !validUnichar(v)) {
				return nil, syscall.EINVAL
			}
			out = appendUTF8(out, v)
			n = 1 + digits
		case '0', '1', '2', '3', '4', '5', '6', '7':
			if len(p) < 3 {
				return nil, syscall.EINVAL
			}
			var v uint32
			for k := 0; k < 3; k++ {
				if p[k] < '0' || p[k] > '7' {
					return nil, syscall.EINVAL
				}
				v = v<<3 | uint32(p[k]-'0')
			}
			if v == 0 || v > 255 {
				return nil, syscall.EINVAL
			}
			out = append(out, byte(v))
			n = 3
		default:
			return nil, syscall.EINVAL
		}
		i += n
	}
	return out, nil
}

var simpleEscape = map[byte]byte{
	'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v',
	'\\': '\\', '"': '"', '\'': '\'', 's': ' ',
}

// unhex is the value of a hexadecimal digit, -1 for another byte.
func unhex(c byte) int {
	if d := digitValue(c); d < 16 {
		return d
	}
	return -1
}

// validUnichar is systemd's unichar_is_valid(): a Unicode scalar value, no surrogate, no
// non-character U+FFFE/U+FFFF.
func validUnichar(v uint32) bool {
	if v >= 0x110000 {
		return false
	}
	if v&0xFFFFF800 == 0xD800 {
		return false
	}
	if v >= 0xFDD0 && v <= 0xFDEF {
		return false
	}
	return v&0xFFFE != 0xFFFE
}

// appendUTF8 encodes v as utf8_encode_unichar() does: like UTF-8, but surrogates too (a \u
// escape may name one).
func appendUTF8(b []byte, v uint32) []byte {
	switch {
	case v < 0x80:
		return append(b, byte(v))
	case v < 0x800:
		return append(b, byte(0xc0|v>>6), byte(0x80|v&0x3f))
	case v < 0x10000:
		return append(b, byte(0xe0|v>>12), byte(0x80|(v>>6)&0x3f), byte(0x80|v&0x3f))
	}
	return append(b, byte(0xf0|v>>18), byte(0x80|(v>>12)&0x3f), byte(0x80|(v>>6)&0x3f), byte(0x80|v&0x3f))
}

// splitLines splits a configuration file into lines as systemd's read_line() does: "\n",
// "\r", "\0" and their combinations ("\r\n", "\n\r", "\n\0", ...) end a line; each marker
// appears at most once in one line ending, so "\n\n" is an empty line. A line longer than
// maxLine-1 bytes is errLineTooLong.
func splitLines(data []byte) ([]string, error) {
	var lines []string
	i := 0
	for i < len(data) {
		start := i
		for i < len(data) && data[i] != '\n' && data[i] != '\r' && data[i] != 0 {
			i++
		}
		if i-start >= maxLine {
			return lines, errLineTooLong
		}
		lines = append(lines, string(data[start:i]))
		var seen byte // bit 1: \n, 2: \r, 4: \0
		for i < len(data) {
			var bit byte
			switch data[i] {
			case '\n':
				bit = 1
			case '\r':
				bit = 2
			case 0:
				bit = 4
			}
			if bit == 0 || seen&4 != 0 || seen&bit != 0 {
				break
			}
			seen |= bit
			i++
		}
	}
	return lines, nil
}

// maxLine is systemd's LONG_LINE_MAX.
const maxLine = 1024 * 1024

// errLineTooLong is read_line()'s ENOBUFS.
var errLineTooLong error = syscall.ENOBUFS

// isErrno reports whether err is the errno e.
func isErrno(err error, e syscall.Errno) bool { return errors.Is(err, e) }

// nextWordUnescape is nextWord with C escapes decoded (EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE):
// an escape that is not one of cunescape's is an error.
func nextWordUnescape(s string) (word, rest string, ok, more bool, err error) {
	return extractWord(s, true)
}

// extractWord is nextWord, with C escapes decoded when unescape is set.
func extractWord(s string, unescape bool) (word, rest string, ok, more bool, err error) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i == len(s) {
		return "", "", false, false, nil
	}
	var b []byte
	var quote byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return "", "", false, false, errQuoting
			}
			if !unescape {
				i++
				b = append(b, s[i])
				continue
			}
			n := escapeLen(s[i+1:])
			if n == 0 {
				return "", "", false, false, errQuoting
			}
			dec, err := cunescape(s[i : i+1+n])
			if err != nil {
				return "", "", false, false, err
			}
			b = append(b, dec...)
			i += n
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				b = append(b, c)
			}
		case c == '\'' || c == '"':
			quote = c
		case isSpace(c):
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i == len(s) {
				return string(b), "", true, false, nil
			}
			return string(b), s[i:], true, true, nil
		default:
			b = append(b, c)
		}
	}
	if quote != 0 {
		return "", "", false, false, errQuoting
	}
	return string(b), "", true, false, nil
}

// escapeLen is how many bytes after a backslash an escape takes (0: not an escape).
func escapeLen(p string) int {
	n := 0
	switch p[0] {
	case 'a', 'b', 'f', 'n', 'r', 't', 'v', '\\', '"', '\'', 's':
		n = 1
	case 'x':
		n = 3
	case 'u':
		n = 5
	case 'U':
		n = 9
	case '0', '1', '2', '3', '4', '5', '6', '7':
		n = 3
	}
	if n > len(p) {
		return 0
	}
	return n
}
