package unit

import (
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"
)

// ReadEnvironmentFile reads and parses one EnvironmentFile= (see ParseEnvironmentFile) with
// ReadFile: a regular file of at most MaxFileSize bytes, or /dev/null; a FIFO, socket or
// device is refused at once (systemd 252 blocks on a FIFO, and reads /dev/zero until its
// 64 MiB limit). Errors name the file.
func ReadEnvironmentFile(path string) ([]string, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	kvs, err := ParseEnvironmentFile(data)
	if err != nil {
		return nil, &fs.PathError{Op: "parse", Path: path, Err: err}
	}
	return kvs, nil
}

// ParseEnvironmentFile parses the contents of an EnvironmentFile= as systemd's
// load_env_file() and the cleaning done before use: KEY=VALUE lines; '#' or ';' at the
// start of a line begins a comment (a backslash-newline continues it); blanks around keys
// and unquoted values are dropped; a value may be '…' (literal) or "…" (where \" \\ \` \$
// are unescaped, other backslashes kept, and backslash-newline is eaten); outside quotes a
// backslash escapes the next character and backslash-newline continues the value. Lines
// without '=' are ignored; assignments whose name is not a valid variable name (for
// example "export FOO=bar") are dropped, as systemd does. Later assignments replace
// earlier ones. Invalid UTF-8 fails the whole file, as in systemd.
func ParseEnvironmentFile(data []byte) ([]string, error) {
	const (
		preKey = iota
		key
		preValue
		value
		valueEscape
		singleQuote
		doubleQuote
		doubleQuoteEscape
		comment
		commentEscape
	)
	var env []string
	var k, v strings.Builder
	lastKeyWS, lastValueWS := -1, -1
	line := 1
	state := preKey
	push := func(trimValue bool) error {
		ks := k.String()
		if lastKeyWS >= 0 {
			ks = ks[:lastKeyWS]
		}
		vs := v.String()
		if trimValue && lastValueWS >= 0 {
			vs = vs[:lastValueWS]
		}
		k.Reset()
		v.Reset()
		// systemd's words (check_utf8ness_and_warn; it fails the file despite "ignoring"),
		// the quoted text made Printable
		if !utf8.ValidString(ks) {
			return fmt.Errorf("line %d: invalid UTF-8 in key '%s', ignoring.", line, Printable(ks))
		}
		if !utf8.ValidString(vs) {
			return fmt.Errorf("line %d: invalid UTF-8 value for key %s: '%s', ignoring.", line, Printable(ks), Printable(vs))
		}
		if envNameValid(ks) {
			env = envReplace(env, ks+"="+vs)
		}
		return nil
	}
	isNL := func(c byte) bool { return c == '\n' || c == '\r' }
	isWS := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c == 0 {
			break // systemd reads the file as a C string
		}
		switch state {
		case preKey:
			if c == '#' || c == ';' {
				state = comment
			} else if !isWS(c) {
				state = key
				lastKeyWS = -1
				k.WriteByte(c)
			}
		case key:
			switch {
			case isNL(c):
				state = preKey
				line++
				k.Reset()
			case c == '=':
				state = preValue
				lastValueWS = -1
			default:
				if !isWS(c) {
					lastKeyWS = -1
				} else if lastKeyWS < 0 {
					lastKeyWS = k.Len()
				}
				k.WriteByte(c)
			}
		case preValue:
			switch {
			case isNL(c):
				state = preKey
				line++
				if err := push(false); err != nil {
					return nil, err
				}
			case c == '\'':
				state = singleQuote
			case c == '"':
				state = doubleQuote
			case c == '\\':
				state = valueEscape
			case !isWS(c):
				state = value
				v.WriteByte(c)
			}
		case value:
			switch {
			case isNL(c):
				state = preKey
				line++
				if err := push(true); err != nil {
					return nil, err
				}
			case c == '\\':
				state = valueEscape
				lastValueWS = -1
			default:
				if !isWS(c) {
					lastValueWS = -1
				} else if lastValueWS < 0 {
					lastValueWS = v.Len()
				}
				v.WriteByte(c)
			}
		case valueEscape:
			state = value
			if !isNL(c) {
				v.WriteByte(c)
			}
		case singleQuote:
			if c == '\'' {
				state = preValue
			} else {
				v.WriteByte(c)
			}
		case doubleQuote:
			switch c {
			case '"':
				state = preValue
			case '\\':
				state = doubleQuoteEscape
			default:
				v.WriteByte(c)
			}
		case doubleQuoteEscape:
			state = doubleQuote
			switch {
			case strings.IndexByte("\"\\`$", c) >= 0:
				v.WriteByte(c)
			case c != '\n':
				v.WriteByte('\\')
				v.WriteByte(c)
			}
		case comment:
			if c == '\\' {
				state = commentEscape
			} else if isNL(c) {
				state = preKey
				line++
			}
		case commentEscape:
			state = comment
		}
	}
	switch state {
	case preValue, value, valueEscape, singleQuote, doubleQuote, doubleQuoteEscape:
		if err := push(state == value); err != nil {
			return nil, err
		}
	}
	return env, nil
}
