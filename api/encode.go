package api

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends r encoded exactly as json.Marshal encodes it (the same fields in the same
// order, the same omissions and the same string escapes) without encoding/json's reflection:
// a command's first json.Marshal of a Request costs about a millisecond of its start on a
// virtual machine, more than the rest of sending it. FuzzRequestJSON holds it to
// json.Marshal's output.
func (r *Request) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"verb":`...)
	b = appendString(b, string(r.Verb))
	b = appendStrings(b, `,"units":`, r.Units)
	b = appendBool(b, `,"no_block":true`, r.NoBlock)
	if r.Mode != "" {
		b = appendString(append(b, `,"mode":`...), r.Mode)
	}
	b = appendBool(b, `,"all":true`, r.All)
	b = appendStrings(b, `,"types":`, r.Types)
	b = appendStrings(b, `,"states":`, r.States)
	b = appendStrings(b, `,"props":`, r.Props)
	if r.Signal != 0 {
		b = strconv.AppendInt(append(b, `,"signal":`...), int64(r.Signal), 10)
	}
	if r.KillWhom != "" {
		b = appendString(append(b, `,"kill_whom":`...), r.KillWhom)
	}
	if r.Lines != 0 {
		b = strconv.AppendInt(append(b, `,"lines":`...), int64(r.Lines), 10)
	}
	b = appendBool(b, `,"follow":true`, r.Follow)
	// omitempty never omits a struct: json.Marshal always writes since, through
	// time.Time's MarshalJSON (which refuses years outside 0-9999).
	since, err := r.Since.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(append(b, `,"since":`...), since...)
	b = appendBool(b, `,"reverse":true`, r.Reverse)
	// A logs request's selection goes through encoding/json: logs is no command whose start
	// matters.
	for _, x := range []struct {
		field string
		v     any
		set   bool
	}{{`,"match":`, r.Match, r.Match != nil}, {`,"range":`, r.Range, r.Range != nil}} {
		if x.set {
			j, err := json.Marshal(x.v)
			if err != nil {
				return nil, err
			}
			b = append(append(b, x.field...), j...)
		}
	}
	b = appendBool(b, `,"cursors":true`, r.Cursors)
	if r.ExitCode != nil {
		b = strconv.AppendInt(append(b, `,"exit_code":`...), int64(*r.ExitCode), 10)
	}
	b = appendStrings(b, `,"env":`, r.Env)
	b = appendBool(b, `,"runtime":true`, r.Runtime)
	if r.PID != 0 {
		b = strconv.AppendInt(append(b, `,"pid":`...), int64(r.PID), 10)
	}
	b = appendStrings(b, `,"what":`, r.What)
	return append(b, '}'), nil
}

func appendBool(b []byte, field string, v bool) []byte {
	if v {
		b = append(b, field...)
	}
	return b
}

// appendStrings appends field and the list, or nothing for an empty one (omitempty).
func appendStrings(b []byte, field string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(b, field...)
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString quotes s as encoding/json does by default: \" \\ \b \f \n \r \t, other
// control characters as \u00XX, <, > and & as \u003c \u003e \u0026 (HTML escaping), U+2028
// and U+2029 escaped, and each byte of invalid UTF-8 as \ufffd.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
