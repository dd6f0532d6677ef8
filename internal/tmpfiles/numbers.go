package tmpfiles

import (
	"strings"
	"syscall"
)

// strtoul parses s as C's strtoul() after systemd's safe_atou_full(): base 0 reads 0x (hex),
// a leading 0 (octal), and systemd's 0b and 0o prefixes; leading whitespace and a '+' are
// accepted unless refused; a '-' is an error (ERANGE unless the value is 0, as strtoul
// negates). The whole string must be the number, and it must fit in 32 bits.
func strtoul(s string, base int, refuseSign, refuseLeadingZero, refuseLeadingSpace bool) (uint32, error) {
	if refuseLeadingSpace && s != "" && isSpace(s[0]) {
		return 0, syscall.EINVAL
	}
	s = strings.TrimLeft(s, whitespace)
	if refuseSign && s != "" && (s[0] == '+' || s[0] == '-') {
		return 0, syscall.EINVAL
	}
	if refuseLeadingZero && s != "" && s[0] == '0' && s != "0" {
		return 0, syscall.EINVAL
	}
	if base == 0 {
		switch {
		case strings.HasPrefix(s, "0b"), strings.HasPrefix(s, "0B"):
			s, base = s[2:], 2
		case strings.HasPrefix(s, "0o"), strings.HasPrefix(s, "0O"):
			s, base = s[2:], 8
		}
	}
	// strtoul itself: whitespace, a sign, then the digits of the base.
	t := strings.TrimLeft(s, whitespace)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	if base == 0 {
		switch {
		case (strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X")) && len(t) > 2 && digitValue(t[2]) < 16:
			t, base = t[2:], 16
		case strings.HasPrefix(t, "0"):
			base = 8
		default:
			base = 10
		}
	} else if base == 16 && (strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X")) && len(t) > 2 && digitValue(t[2]) < 16 {
		t = t[2:]
	}
	if t == "" {
		return 0, syscall.EINVAL
	}
	var v uint64
	overflow := false
	for i := 0; i < len(t); i++ {
		d := digitValue(t[i])
		if d >= base {
			return 0, syscall.EINVAL
		}
		if v > (1<<64-1-uint64(d))/uint64(base) {
			overflow = true
		}
		v = v*uint64(base) + uint64(d)
	}
	if overflow {
		return 0, syscall.ERANGE
	}
	if neg && v != 0 {
		return 0, syscall.ERANGE
	}
	if v > 1<<32-1 {
		return 0, syscall.ERANGE
	}
	return uint32(v), nil
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// parseMode is systemd's parse_mode(): octal, at most 07777, no sign.
func parseMode(s string) (uint32, error) {
	m, err := strtoul(s, 8, true, false, false)
	if err != nil {
		return 0, err
	}
	if m > 0o7777 {
		return 0, syscall.ERANGE
	}
	return m, nil
}

// parseID is systemd's parse_uid() (and parse_gid()): decimal, no sign, no leading zero or
// whitespace; (uid_t) -1 and (uint16_t) -1 are no ids (ENXIO).
func parseID(s string) (uint32, error) {
	v, err := strtoul(s, 10, true, true, true)
	if err != nil {
		return 0, err
	}
	if v == 1<<32-1 || v == 1<<16-1 {
		return 0, syscall.ENXIO
	}
	return v, nil
}

// parseDevnum is systemd's parse_devnum(): "MAJOR:MINOR", the major in digits, each read by
// strtoul with base 0; the major below 4096, the minor below 2^20.
func parseDevnum(s string) (major, minor uint32, err error) {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 || n > 22 || n >= len(s) || s[n] != ':' {
		return 0, 0, syscall.EINVAL
	}
	if major, err = strtoul(s[:n], 0, false, false, false); err != nil {
		return 0, 0, err
	}
	if minor, err = strtoul(s[n+1:], 0, false, false, false); err != nil {
		return 0, 0, err
	}
	if major >= 1<<12 || minor >= 1<<20 {
		return 0, 0, syscall.ERANGE
	}
	return major, minor, nil
}

// unbase64 decodes base64 as systemd's unbase64mem(): whitespace anywhere is skipped, the
// padding must be right, nothing may follow it.
func unbase64(s []byte) ([]byte, error) {
	var out []byte
	i := 0
	next := func() (int, error) {
		for {
			if i >= len(s) {
				return 0, syscall.EPIPE
			}
			if !isSpace(s[i]) {
				break
			}
			i++
		}
		c := s[i]
		v := -1
		switch {
		case c == '=':
			v = padding
		case c >= 'A' && c <= 'Z':
			v = int(c - 'A')
		case c >= 'a' && c <= 'z':
			v = int(c-'a') + 26
		case c >= '0' && c <= '9':
			v = int(c-'0') + 52
		case c == '+':
			v = 62
		case c == '/':
			v = 63
		}
		if v < 0 {
			return 0, syscall.EINVAL
		}
		i++
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		return v, nil
	}
	for {
		a, err := next()
		if err == syscall.EPIPE {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if a == padding {
			return nil, syscall.EINVAL
		}
		b, err := next()
		if err != nil {
			return nil, err
		}
		if b == padding {
			return nil, syscall.EINVAL
		}
		c, err := next()
		if err != nil {
			return nil, err
		}
		d, err := next()
		if err != nil {
			return nil, err
		}
		if c == padding {
			if d != padding || b&15 != 0 {
				return nil, syscall.EINVAL
			}
			if i < len(s) {
				return nil, syscall.ENAMETOOLONG
			}
			return append(out, byte(a<<2|b>>4)), nil
		}
		if d == padding {
			if c&3 != 0 {
				return nil, syscall.EINVAL
			}
			if i < len(s) {
				return nil, syscall.ENAMETOOLONG
			}
			return append(out, byte(a<<2|b>>4), byte(b<<4|c>>2)), nil
		}
		out = append(out, byte(a<<2|b>>4), byte(b<<4|c>>2), byte(c<<6|d))
	}
}

const padding = 1 << 30
