package show

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/flint-init/flint/unit"
)

// This file holds the value formats of `systemctl show` (systemd 252's bus-print-properties.c,
// time-util.c and escape.c), learnt by running the real systemctl.

// FormatMode prints a file mode or umask as systemctl: four octal digits ("0644").
func FormatMode(m uint32) string { return fmt.Sprintf("%04o", m) }

// FormatStrv prints a list the way systemctl prints an array-of-strings property: each
// element shell-quoted when needed (ShellQuote), joined with single spaces.
func FormatStrv(list []string) string {
	var b strings.Builder
	for i, s := range list {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(ShellQuote(s))
	}
	return b.String()
}

const (
	shellNeedEscape = "\"\\`$"
	shellNeedQuotes = shellNeedEscape + "*?[" + "'()<>|&;!"
)

// ShellQuote is systemd's shell_maybe_quote(s, 0): s unchanged when it holds no whitespace,
// control character, invalid UTF-8 or shell-special character; otherwise s in double quotes
// with \ " ` $ backslash-escaped and control characters C-escaped ("\t", "\x01").
func ShellQuote(s string) string { return shellQuote(s, false) }

// ShellQuotePOSIX is systemd's shell_maybe_quote(s, SHELL_ESCAPE_POSIX), as systemctl
// show-environment prints values: like ShellQuote, but in $'...' with only \ and '
// backslash-escaped.
func ShellQuotePOSIX(s string) string { return shellQuote(s, true) }

func shellQuote(s string, posix bool) string {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		if (r == utf8.RuneError && size <= 1) || c < ' ' || c == 0x7f || strings.IndexByte(" \t\n\r"+shellNeedQuotes, c) >= 0 {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	open, end, escape := `"`, `"`, shellNeedEscape
	if posix {
		open, end, escape = `$'`, `'`, `\'`
	}
	var b strings.Builder
	b.WriteString(open)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		switch {
		case c < ' ' || c == 0x7f || (r == utf8.RuneError && size <= 1):
			b.WriteString(cescapeByte(c))
			i++
			continue
		case size == 1:
			if strings.IndexByte(escape, c) >= 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteString(end)
	return b.String()
}

// cescapeByte is systemd's cescape_char().
func cescapeByte(c byte) string {
	switch c {
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '\v':
		return `\v`
	case '\\':
		return `\\`
	case '"':
		return `\"`
	case '\'':
		return `\'`
	}
	if c < ' ' || c >= 127 {
		return fmt.Sprintf(`\x%02x`, c)
	}
	return string(c)
}

// FormatListen prints one Listen*= entry as systemctl's Listen property: the address as
// systemd formats it (port-only becomes "[::]:PORT", vsock's any-CID "vsock::PORT") and the
// kind without its "Listen" prefix in parentheses: "/run/foo.sk (Stream)".
func FormatListen(l unit.Listen) string {
	return FormatListenAddress(l) + " (" + strings.TrimPrefix(string(l.Kind), "Listen") + ")"
}

// FormatListenAddress is the address part of FormatListen.
func FormatListenAddress(l unit.Listen) string {
	switch l.Family {
	case unit.FamilyInet:
		return canonicalIP(orDefault(l.Host, "0.0.0.0")) + ":" + strconv.Itoa(l.Port)
	case unit.FamilyInet6:
		return "[" + canonicalIP(orDefault(l.Host, "::")) + "]:" + strconv.Itoa(l.Port)
	case unit.FamilyVsock:
		if l.VsockCID == 0xFFFFFFFF {
			return fmt.Sprintf("vsock::%d", l.Port)
		}
		return fmt.Sprintf("vsock:%d:%d", l.VsockCID, l.Port)
	case unit.FamilyNetlink:
		return fmt.Sprintf("%s %d", l.NetlinkFamily, l.NetlinkGroup)
	}
	if l.Path != "" {
		return l.Path
	}
	return l.Raw
}

// canonicalIP is an address as inet_ntop writes it ("0:0::1" -> "::1").
func canonicalIP(host string) string {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	return host
}
