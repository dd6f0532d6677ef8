package unit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// extractFlags mirror the flags of systemd's extract_first_word() that unit files use.
type extractFlags int

const (
	exUnquote      extractFlags = 1 << iota // '…' and "…" group words and are removed
	exCUnescape                             // C escapes are decoded
	exRelax                                 // unknown escapes and unterminated quotes are kept as written
	exRetainEscape                          // a backslash and the escaped character are kept as written
)

const whitespace = " \t\n\r"

var errSyntax = errors.New("invalid syntax")

// errUnknownEscape is returned (wrapped) when a C escape is not understood.
var errUnknownEscape = errors.New("unknown escape sequence")

// extractWord takes the first word off s as systemd's extract_first_word() does with
// whitespace separators. It returns the word, the rest of s, and ok=false when s holds
// no more words.
func extractWord(s string, flags extractFlags) (word, rest string, ok bool, err error) {
	s = strings.TrimLeft(s, whitespace)
	if s == "" {
		return "", "", false, nil
	}
	// Most words have neither escapes nor quotes: the word is then the text itself, and a
	// unit that keeps it keeps no copy.
	j := 0
	for j < len(s) && s[j] != '\\' && strings.IndexByte(whitespace, s[j]) < 0 && (flags&exUnquote == 0 || s[j] != '\'' && s[j] != '"') {
		j++
	}
	if j == len(s) || strings.IndexByte(whitespace, s[j]) >= 0 {
		return s[:j], s[j:], true, nil
	}
	return extractWordBuilt(s, flags)
}

// extractWordBuilt is extractWord for a word with escapes or quotes (s starts with the
// word): it builds the word.
func extractWordBuilt(s string, flags extractFlags) (word, rest string, ok bool, err error) {
	var b strings.Builder
	var quote byte
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '\\' {
			if i+1 >= len(s) {
				if flags&exRelax != 0 {
					b.WriteByte('\\')
					i++
					continue
				}
				return "", "", false, fmt.Errorf("%w: trailing backslash", errSyntax)
			}
			if flags&exRetainEscape != 0 {
				b.WriteByte('\\')
				r, size := utf8.DecodeRuneInString(s[i+1:])
				b.WriteRune(r)
				i += 1 + size
				continue
			}
			if flags&exCUnescape != 0 {
				out, n, err := cUnescapeOne(s[i+1:])
				if err != nil {
					if flags&exRelax == 0 {
						return "", "", false, err
					}
					// relaxed: keep the backslash and the character as written
					r, size := utf8.DecodeRuneInString(s[i+1:])
					b.WriteByte('\\')
					b.WriteRune(r)
					i += 1 + size
					continue
				}
				b.WriteString(out)
				i += 1 + n
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i+1:])
			b.WriteRune(r)
			i += 1 + size
			continue
		}
		if quote != 0 {
			if c == quote {
				quote = 0
				i++
				continue
			}
			b.WriteByte(c)
			i++
			continue
		}
		if flags&exUnquote != 0 && (c == '\'' || c == '"') {
			quote = c
			i++
			continue
		}
		if strings.IndexByte(whitespace, c) >= 0 {
			break
		}
		b.WriteByte(c)
		i++
	}
	if quote != 0 && flags&exRelax == 0 {
		return "", "", false, fmt.Errorf("%w: unterminated quote", errSyntax)
	}
	return b.String(), s[i:], true, nil
}

// splitWords splits s into words with extractWord. Like systemd's
// extract_first_word_and_warn(), an unknown escape is retried relaxed (kept as written)
// and reported through the returned warning.
func splitWords(s string, flags extractFlags) (words []string, warning string, err error) {
	rest := s
	for {
		w, r, ok, err := extractWord(rest, flags)
		if err != nil && errors.Is(err, errUnknownEscape) && flags&exRelax == 0 {
			w, r, ok, err = extractWord(rest, flags|exRelax)
			if err == nil {
				warning = fmt.Sprintf("Ignoring unknown escape sequences: \"%s\"", w)
			}
		}
		if err != nil {
			return nil, warning, err
		}
		if !ok {
			return words, warning, nil
		}
		words = append(words, w)
		rest = r
	}
}

// cUnescapeOne decodes one C escape; s starts just after the backslash. It returns the
// decoded text and how many bytes of s it used.
func cUnescapeOne(s string) (string, int, error) {
	if s == "" {
		return "", 0, fmt.Errorf("%w: empty", errUnknownEscape)
	}
	switch s[0] {
	case 'a':
		return "\a", 1, nil
	case 'b':
		return "\b", 1, nil
	case 'f':
		return "\f", 1, nil
	case 'n':
		return "\n", 1, nil
	case 'r':
		return "\r", 1, nil
	case 't':
		return "\t", 1, nil
	case 'v':
		return "\v", 1, nil
	case '\\', '"', '\'':
		return s[:1], 1, nil
	case 's':
		return " ", 1, nil
	case 'x':
		if len(s) < 3 {
			return "", 0, fmt.Errorf("%w: \\%s", errUnknownEscape, s)
		}
		v, err := strconv.ParseUint(s[1:3], 16, 8)
		if err != nil || v == 0 {
			return "", 0, fmt.Errorf("%w: \\%s", errUnknownEscape, s[:3])
		}
		return string([]byte{byte(v)}), 3, nil
	case 'u', 'U':
		n := 4
		if s[0] == 'U' {
			n = 8
		}
		if len(s) < 1+n {
			return "", 0, fmt.Errorf("%w: \\%s", errUnknownEscape, s)
		}
		v, err := strconv.ParseUint(s[1:1+n], 16, 32)
		if err != nil || v == 0 || !utf8.ValidRune(rune(v)) {
			return "", 0, fmt.Errorf("%w: \\%s", errUnknownEscape, s[:1+n])
		}
		return string(rune(v)), 1 + n, nil
	case '0', '1', '2', '3', '4', '5', '6', '7':
		if len(s) < 3 {
			return "", 0, fmt.Errorf("%w: \\%s", errUnknownEscape, s)
		}
		v, err := strconv.ParseUint(s[:3], 8, 16)
		if err != nil || v == 0 || v > 255 {
			return "", 0, fmt.Errorf("%w: \\%s", errUnknownEscape, s[:3])
		}
		return string([]byte{byte(v)}), 3, nil
	}
	return "", 0, fmt.Errorf("%w: \\%c", errUnknownEscape, s[0])
}

// CUnescape decodes all C escapes in s (systemd's cunescape()).
func CUnescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		out, n, err := cUnescapeOne(s[i+1:])
		if err != nil {
			return "", err
		}
		b.WriteString(out)
		i += n
	}
	return b.String(), nil
}

// SplitStrv undoes show.FormatStrv: the words of a list property as `show` prints it, quotes
// and escapes removed.
func SplitStrv(s string) []string {
	words, _, err := splitWords(s, exUnquote|exCUnescape|exRelax)
	if err != nil {
		return strings.Fields(s)
	}
	return words
}
