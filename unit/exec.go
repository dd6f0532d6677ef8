package unit

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// SplitCommandLine splits a command line into words with systemd.syntax(7) quoting:
// "…" and '…' group words, C escapes (\n, \t, \x41, \101, \u…) are decoded, and unknown
// escapes are kept as written. $VAR and ${VAR} are returned unchanged.
func SplitCommandLine(s string) ([]string, error) {
	words, _, err := splitWords(s, exUnquote|exCUnescape)
	return words, err
}

// ParseCommandLines parses the value of an Exec*= directive as systemd does: prefixes
// "-@:+!" / "!!", quoting and C escapes, a lone ";" between commands, "\;" for a literal
// ";", specifiers expanded with expand (nil: none) in the program and each argument after
// unquoting, $VAR and ${VAR} kept. pos is stored in each command. A non-nil error is
// systemd's message; commands parsed before it are returned.
func ParseCommandLines(value string, expand Expander, pos Pos) ([]ExecCommand, error) {
	cmds, _, err := parseExec(value, expand, pos)
	return cmds, err
}

// execError is a command line that systemd refuses. When the line had the '-' prefix
// systemd only warns and ignores it (Ignored), otherwise the unit fails to load.
type execError struct {
	msg     string
	ignored bool
}

func (e *execError) Error() string { return e.msg }

// parseExec parses one Exec*= value into commands as systemd's config_parse_exec():
// prefixes "-@:+!" ("!!"), quoting and escapes, a lone ";" separating commands, "\;" as a
// literal ";". expand is applied to the path and to each argument after unquoting.
// warnings are non-fatal notes (unknown escapes).
func parseExec(value string, expand Expander, pos Pos) (cmds []ExecCommand, warnings []string, err error) {
	p := value
	for {
		first, rest, ok, werr := extractWordWarn(p, exUnquote|exCUnescape, &warnings, value)
		if werr != nil {
			// systemd ignores the rest of the line here, even without '-'
			return cmds, warnings, &execError{msg: fmt.Sprintf("Unbalanced quoting, ignoring: \"%s\"", value), ignored: true}
		}
		if !ok {
			return cmds, warnings, nil
		}
		start := len(value) - len(p)
		p = rest
		if first == ";" {
			continue
		}
		var fl ExecFlags
		separateArgv0 := false
		f := first
	prefixes:
		for f != "" {
			switch {
			case f[0] == '-' && !fl.IgnoreFailure:
				fl.IgnoreFailure = true
			case f[0] == '@' && !separateArgv0:
				separateArgv0 = true
			case f[0] == ':' && !fl.NoEnvExpand:
				fl.NoEnvExpand = true
			case f[0] == '+' && !fl.FullPrivilege && !fl.NoSetuid && !fl.AmbientOnly:
				fl.FullPrivilege = true
			case f[0] == '!' && !fl.FullPrivilege && !fl.NoSetuid && !fl.AmbientOnly:
				fl.NoSetuid = true
			case f[0] == '!' && !fl.FullPrivilege && !fl.AmbientOnly:
				fl.NoSetuid = false
				fl.AmbientOnly = true
			default:
				break prefixes
			}
			f = f[1:]
		}
		fl.ArgvZero = separateArgv0
		ign := fl.IgnoreFailure
		suffix := ""
		if ign {
			suffix = ", ignoring"
		}
		fail := func(format string, a ...any) error {
			return &execError{msg: fmt.Sprintf(format, a...), ignored: ign}
		}
		prog, xerr := expandWith(expand, f)
		if xerr != nil {
			return cmds, warnings, fail("Failed to resolve unit specifiers in '%s'%s: %s", f, suffix, specifierErr(xerr))
		}
		switch {
		case prog == "":
			return cmds, warnings, fail("Empty path in command line%s: '%s'", suffix, value)
		case !stringIsSafe(prog):
			return cmds, warnings, fail("Executable name contains special characters%s: %s", suffix, prog)
		case strings.HasSuffix(prog, "/"):
			return cmds, warnings, fail("Executable path specifies a directory%s: %s", suffix, prog)
		case !(path.IsAbs(prog) && pathIsValid(prog) || !path.IsAbs(prog) && filenameIsValid(prog)):
			return cmds, warnings, fail("Neither a valid executable name nor an absolute path%s: %s", suffix, prog)
		}
		var argv []string
		if !separateArgv0 {
			argv = append(argv, prog)
		}
		if path.IsAbs(prog) {
			prog = path.Clean(prog)
		}
		semicolon := false
		for {
			q := strings.TrimLeft(p, whitespace)
			if q == "" {
				p = q
				break
			}
			if q[0] == ';' && (len(q) == 1 || strings.IndexByte(whitespace, q[1]) >= 0) {
				p = strings.TrimLeft(q[1:], whitespace)
				semicolon = true
				break
			}
			if strings.HasPrefix(q, `\;`) && (len(q) == 2 || strings.IndexByte(whitespace, q[2]) >= 0) {
				p = q[2:]
				argv = append(argv, ";")
				continue
			}
			w, r, ok, werr := extractWordWarn(q, exUnquote|exCUnescape, &warnings, value)
			if werr != nil {
				return cmds, warnings, &execError{msg: fmt.Sprintf("Unbalanced quoting, ignoring: \"%s\"", value), ignored: ign}
			}
			if !ok {
				p = r
				break
			}
			p = r
			x, xerr := expandWith(expand, w)
			if xerr != nil {
				return cmds, warnings, fail("Failed to resolve unit specifiers in %s%s: %s", w, suffix, specifierErr(xerr))
			}
			argv = append(argv, x)
		}
		if len(argv) == 0 {
			return cmds, warnings, fail("Empty executable name or zeroeth argument%s: %s", suffix, value)
		}
		end := len(value) - len(p)
		raw := strings.TrimRight(strings.TrimSpace(value[start:end]), whitespace)
		if semicolon {
			raw = strings.TrimSpace(strings.TrimSuffix(raw, ";"))
		}
		if x, err := expandWith(expand, raw); err == nil {
			raw = x
		}
		cmds = append(cmds, ExecCommand{Path: prog, Argv: argv, Flags: fl, Raw: raw, Pos: pos})
		if !semicolon {
			return cmds, warnings, nil
		}
	}
}

// extractWordWarn is extractWord that retries an unknown escape relaxed, noting a warning.
func extractWordWarn(s string, flags extractFlags, warnings *[]string, whole string) (string, string, bool, error) {
	w, r, ok, err := extractWord(s, flags)
	if err != nil && errors.Is(err, errUnknownEscape) {
		w, r, ok, err = extractWord(s, flags|exRelax)
		if err == nil {
			*warnings = append(*warnings, fmt.Sprintf("Ignoring unknown escape sequences: \"%s\"", w))
		}
	}
	return w, r, ok, err
}

func expandWith(expand Expander, s string) (string, error) {
	if expand == nil || !strings.Contains(s, "%") {
		return s, nil
	}
	return expand(s)
}

// stringIsSafe is systemd's string_is_safe(): no control characters, quotes or backslashes.
func stringIsSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c == 0x7f || c == '"' || c == '\'' || c == '\\' {
			return false
		}
	}
	return true
}

// filenameIsValid is systemd's filename_is_valid().
func filenameIsValid(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.Contains(s, "/") && len(s) <= 255
}

// pathIsValid is systemd's path_is_valid(): not empty, no component longer than 255
// bytes, at most PATH_MAX.
func pathIsValid(s string) bool {
	if s == "" || len(s) >= 4096 {
		return false
	}
	for _, c := range strings.Split(s, "/") {
		if len(c) > 255 {
			return false
		}
	}
	return true
}

// pathIsNormalized reports whether p has no "." or ".." components and no doubled slashes.
func pathIsNormalized(p string) bool {
	if !pathIsValid(p) {
		return false
	}
	for _, c := range strings.Split(p, "/") {
		if c == "." || c == ".." {
			return false
		}
	}
	return !strings.Contains(p, "//")
}
