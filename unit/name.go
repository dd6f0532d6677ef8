package unit

import (
	"fmt"
	"path"
	"strings"
)

// MaxNameLength is the longest valid unit name, as systemd's UNIT_NAME_MAX (including the
// suffix; a name must be shorter than this).
const MaxNameLength = 256

// unitSuffixes are the unit types systemd knows; a unit name must end in one of them even
// when flint only runs services, sockets and targets.
var unitSuffixes = map[string]bool{
	"service": true, "socket": true, "target": true, "device": true, "mount": true,
	"automount": true, "swap": true, "timer": true, "path": true, "slice": true, "scope": true,
}

// isValidNameChar reports whether c may appear in a unit name prefix (systemd's VALID_CHARS:
// ASCII letters, digits and ":-_.\").
func isValidNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == ':' || c == '-' || c == '_' || c == '.' || c == '\\'
}

// ParseName splits a unit name into prefix, instance and suffix following systemd's
// unit_name_is_valid: "foo@bar.service" gives ("foo", "bar", "service"); a template
// "foo@.service" gives ("foo", "", "service"); a plain "foo.service" gives ("foo", "",
// "service"). The name must be shorter than MaxNameLength, end in a known unit type, have a
// non-empty prefix of letters, digits and ":-_.\", and the part after the first '@' may also
// contain '@'. Use IsTemplate to tell a template from a plain name.
func ParseName(name string) (prefix, instance, suffix string, err error) {
	if name == "" {
		return "", "", "", fmt.Errorf("invalid unit name: empty")
	}
	if len(name) >= MaxNameLength {
		return "", "", "", fmt.Errorf("invalid unit name %q: longer than %d bytes", name, MaxNameLength-1)
	}
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 {
		return "", "", "", fmt.Errorf("invalid unit name %q: no unit type suffix", name)
	}
	suffix = name[dot+1:]
	if !unitSuffixes[suffix] {
		return "", "", "", fmt.Errorf("invalid unit name %q: unknown unit type %q", name, suffix)
	}
	at := -1
	for i := 0; i < dot; i++ {
		c := name[i]
		if c == '@' {
			if at < 0 {
				at = i
			}
			continue
		}
		if !isValidNameChar(c) {
			return "", "", "", fmt.Errorf("invalid unit name %q: invalid character %q", name, c)
		}
	}
	if at == 0 {
		return "", "", "", fmt.Errorf("invalid unit name %q: empty prefix", name)
	}
	if at < 0 {
		return name[:dot], "", suffix, nil
	}
	return name[:at], name[at+1 : dot], suffix, nil
}

// IsValidName reports whether name is a valid plain, template or instance unit name.
func IsValidName(name string) bool {
	_, _, _, err := ParseName(name)
	return err == nil
}

// IsTemplate reports whether name is a valid template name such as "foo@.service".
func IsTemplate(name string) bool {
	_, inst, sfx, err := ParseName(name)
	return err == nil && inst == "" && strings.HasSuffix(name, "@."+sfx)
}

// IsInstance reports whether name is a valid instance name such as "foo@bar.service".
func IsInstance(name string) bool {
	_, inst, _, err := ParseName(name)
	return err == nil && inst != ""
}

// TemplateOf returns the template of an instance name ("foo@bar.service" -> "foo@.service"),
// or "" when name is not an instance.
func TemplateOf(name string) string {
	p, inst, sfx, err := ParseName(name)
	if err != nil || inst == "" {
		return ""
	}
	return p + "@." + sfx
}

// Instantiate returns the instance of template with the given instance string
// ("foo@.service", "bar" -> "foo@bar.service"). It also replaces the instance of an
// instance name, as systemd's unit_name_replace_instance.
func Instantiate(template, instance string) (string, error) {
	p, _, sfx, err := ParseName(template)
	if err != nil {
		return "", err
	}
	if !strings.Contains(template, "@") {
		return "", fmt.Errorf("%s is not a template", template)
	}
	n := p + "@" + instance + "." + sfx
	if !IsInstance(n) {
		return "", fmt.Errorf("invalid instance name %q for template %s", instance, template)
	}
	return n, nil
}

// TypeOf returns the unit type of a name from its suffix ("" for an invalid name).
func TypeOf(name string) Type {
	_, _, sfx, err := ParseName(name)
	if err != nil {
		return ""
	}
	return Type(sfx)
}

// Escape escapes s for use in a unit name as systemd-escape does: '/' becomes '-', a leading
// '.', '-', '\' and every byte outside [a-zA-Z0-9:_.] become "\xNN".
func Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			b.WriteByte('-')
		case i == 0 && c == '.':
			fmt.Fprintf(&b, `\x%02x`, c)
		case c == '-' || c == '\\' || !isValidNameChar(c):
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Unescape undoes Escape: "\xNN" becomes the byte NN and '-' becomes '/', as systemd's
// unit_name_unescape (used by %I, %J, %P). A malformed "\x" sequence is an error.
func Unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '-':
			b.WriteByte('/')
		case '\\':
			if i+3 >= len(s) || s[i+1] != 'x' {
				return "", fmt.Errorf("invalid escape sequence in %q", s)
			}
			hi, lo := unhex(s[i+2]), unhex(s[i+3])
			if hi < 0 || lo < 0 {
				return "", fmt.Errorf("invalid escape sequence in %q", s)
			}
			b.WriteByte(byte(hi<<4 | lo))
			i += 3
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// EscapePath escapes a file system path as `systemd-escape --path`: the path is simplified,
// leading and trailing slashes dropped, and "/" itself becomes "-".
func EscapePath(p string) string {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return "-"
	}
	return Escape(p)
}

// UnescapePath undoes EscapePath as `systemd-escape --unescape --path`: the result is
// absolute ("-" is "/").
func UnescapePath(s string) (string, error) {
	if s == "-" {
		return "/", nil
	}
	u, err := Unescape(s)
	if err != nil {
		return "", err
	}
	return "/" + u, nil
}
