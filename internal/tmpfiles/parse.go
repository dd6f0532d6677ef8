package tmpfiles

import (
	"fmt"
	"math"
	"os"
	"path"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

// pathMax is PATH_MAX: paths (and the arguments of f, F, w, L and C) expand to at most
// pathMax-1 bytes.
const pathMax = 4096

// Parser turns lines into items as systemd-tmpfiles 252's parse_line() does.
type Parser struct {
	Root             string   // --root (absolute, simplified; "" for none)
	User             bool     // --user
	Boot             bool     // --boot: lines with '!' apply
	Include, Exclude []string // --prefix, --exclude-prefix
	Log              Logger
	Spec             *Specifiers
	IDs              *IDs
	// CredentialsDir is $CREDENTIALS_DIRECTORY, where '^' lines read their argument; ""
	// when unset (such lines are skipped).
	CredentialsDir string

	notified bool // the first unresolvable specifier was reported
}

// NewParser returns a parser with the host's specifiers and users for root and scope.
func NewParser(root string, user bool, log Logger) *Parser {
	return &Parser{
		Root: root, User: user, Log: log,
		Spec: &Specifiers{Root: root, User: user},
		IDs:  &IDs{Root: root},
	}
}

func (p *Parser) logf(level Level, format string, a ...any) {
	if p.Log != nil {
		p.Log(level, fmt.Sprintf(format, a...))
	}
}

// syntax logs a note about a line, with its file and line in front.
func (p *Parser) syntax(level Level, file string, line int, format string, a ...any) {
	p.logf(level, "%s:%d: %s", file, line, fmt.Sprintf(format, a...))
}

func lineErr(file string, line int, invalid bool, err error, format string, a ...any) *LineError {
	return &LineError{File: file, Line: line, Msg: fmt.Sprintf(format, a...), Invalid: invalid, Err: err}
}

// plainErr is an error systemd logs without the file and line.
func plainErr(invalid bool, err error, format string, a ...any) *LineError {
	return &LineError{Msg: fmt.Sprintf(format, a...), Invalid: invalid, Err: err}
}

// unresolvable reports a line skipped for a specifier that cannot be resolved: at notice
// level the first time (debug with a root directory or in a chroot), then at debug level.
func (p *Parser) unresolvable(file string, line int) {
	level := LevelNotice
	if p.notified || p.Root != "" || inChroot() {
		level = LevelDebug
	}
	why := "uninitialized /etc/ detected"
	if p.User {
		why = "Required $XDG_... variable not defined"
	}
	p.syntax(level, file, line, "Failed to resolve specifier: %s, skipping.", why)
	if !p.notified {
		p.logf(level, "All rules containing unresolvable specifiers will be skipped.")
	}
	p.notified = true
}

// inChroot reports whether this process's root is not PID 1's (running_in_chroot()).
func inChroot() bool {
	var a, b unix.Stat_t
	if unix.Stat("/proc/1/root", &a) != nil || unix.Stat("/", &b) != nil {
		return false
	}
	return a.Dev != b.Dev || a.Ino != b.Ino
}

// invalidErrno: errors of specifier expansion that make the configuration invalid (bad
// quoting, unknown specifier).
func invalidErrno(err error) bool {
	return isErrno(err, syscall.EINVAL) || isErrno(err, syscall.EBADSLT)
}

// ParseLine parses one line (already stripped of surrounding whitespace, not a comment). It
// returns nil and no error for a line that does not apply (a '!' line without --boot, a path
// outside --prefix, an unresolvable specifier, a missing copy source or credential).
func (p *Parser) ParseLine(file string, line int, text string) (*Item, error) {
	words, rest, hasRest, err := splitFields(text, 6)
	if err != nil {
		return nil, lineErr(file, line, true, err, "Failed to parse line: %s", strerror(err))
	}
	if len(words) < 2 {
		return nil, lineErr(file, line, true, syscall.EBADMSG, "Syntax error.")
	}
	for len(words) < 6 {
		words = append(words, "")
	}
	action, rawPath, mode, user, group, age := words[0], words[1], words[2], words[3], words[4], words[5]
	i := &Item{File: file, Line: line, AgeByFile: ageByDefaultFile, AgeByDir: ageByDefaultDir}
	if hasRest && rest != "-" {
		i.Arg, i.HasArg = []byte(rest), true
	}
	if action == "" {
		return nil, lineErr(file, line, true, syscall.EBADMSG, "Command too short '%s'.", action)
	}
	var boot, unbase64Arg, fromCred bool
	for _, c := range []byte(action[1:]) {
		switch {
		case c == '!' && !boot:
			boot = true
		case c == '+' && !i.Force:
			i.Force = true
		case c == '-' && !i.AllowFailure:
			i.AllowFailure = true
		case c == '=' && !i.TryReplace:
			i.TryReplace = true
		case c == '~' && !unbase64Arg:
			unbase64Arg = true
		case c == '^' && !fromCred:
			fromCred = true
		default:
			return nil, lineErr(file, line, true, syscall.EBADMSG, "Unknown modifiers in command '%s'", action)
		}
	}
	if boot && !p.Boot {
		p.syntax(LevelDebug, file, line, "Ignoring entry %s \"%s\" because --boot is not specified.", action, rawPath)
		return nil, nil
	}
	i.Type = Type(action[0])

	pth, err := p.Spec.expand(rawPath, pathMax-1)
	if noInfo(err) {
		p.unresolvable(file, line)
		return nil, nil
	}
	if err != nil {
		return nil, lineErr(file, line, invalidErrno(err), err, "Failed to replace specifiers in '%s': %s", rawPath, strerror(err))
	}
	if k, ok := pathStartsWith(pth, "/var/run/"); ok && k != "" {
		n := joinPath("/run", k)
		// Debian's systemd 252 logs this at debug level (upstream: notice).
		p.syntax(LevelDebug, file, line, "Line references path below legacy directory /var/run/, updating %s → %s; please update the tmpfiles.d/ drop-in file accordingly.", pth, n)
		pth = n
	}
	if !strings.HasPrefix(pth, "/") {
		return nil, lineErr(file, line, true, syscall.EBADMSG, "Path '%s' not absolute.", pth)
	}
	i.Path = simplify(pth)

	if skip, err := p.checkArgument(i, unbase64Arg); skip || err != nil {
		return nil, err
	}
	if !p.included(i.Path) {
		return nil, nil
	}
	if !unbase64Arg {
		skip, err := p.expandArgument(i)
		if skip || err != nil {
			return nil, err
		}
	}
	content := i.Arg
	if fromCred {
		if !i.HasArg {
			return nil, lineErr(file, line, false, syscall.EINVAL, "Reading from credential requested, but no credential name specified.")
		}
		name := string(i.Arg)
		if !credentialNameValid(name) {
			return nil, lineErr(file, line, false, syscall.EINVAL, "Credential name not valid: %s", name)
		}
		if p.CredentialsDir == "" {
			p.syntax(LevelDebug, file, line, "Credential '%s' not specified, skipping line.", name)
			return nil, nil
		}
		data, err := os.ReadFile(path.Join(p.CredentialsDir, name))
		if os.IsNotExist(err) {
			p.syntax(LevelDebug, file, line, "Credential '%s' not specified, skipping line.", name)
			return nil, nil
		}
		if err != nil {
			return nil, plainErr(false, err, "Failed to read credential '%s': %s", name, strerror(err))
		}
		content = data
		i.Content, i.HasContent = data, true
	}
	if unbase64Arg && (i.HasContent || i.HasArg) {
		data, err := unbase64(content)
		if err != nil {
			return nil, lineErr(file, line, false, err, "Failed to base64 decode specified argument '%s': %s", i.Arg, strerror(err))
		}
		i.Content, i.HasContent = data, true
	}
	if p.Root != "" {
		i.Path = joinPath(p.Root, i.Path)
	}
	if err := p.ownerModeAge(i, user, group, mode, age); err != nil {
		return nil, err
	}
	return i, nil
}

// checkArgument checks the argument against the type, and parses those of c, b, t, T, a, A,
// h and H. skip is true for a C line whose source does not exist.
func (p *Parser) checkArgument(i *Item, unbase64Arg bool) (skip bool, err error) {
	file, line := i.File, i.Line
	refuseBase64 := func(what string) error {
		if unbase64Arg {
			return lineErr(file, line, true, syscall.EBADMSG, "base64 decoding not supported for %s.", what)
		}
		return nil
	}
	required := func(what string) error {
		if !i.HasArg {
			return lineErr(file, line, true, syscall.EBADMSG, "%s requires argument.", what)
		}
		return nil
	}
	switch i.Type {
	case CreateDirectory, CreateSubvolume, CreateSubvolumeQ, CreateSubvolumeNewQ, EmptyDirectory,
		TruncateDirectory, CreateFIFO, IgnorePath, IgnoreDirectoryPath, RemovePath,
		RecursiveRemovePath, AdjustMode, RelabelPath, RecursiveRelabelPath:
		if i.HasArg {
			p.syntax(LevelWarning, file, line, "%c lines don't take argument fields, ignoring.", i.Type)
		}
	case CreateFile, TruncateFile:
	case CreateSymlink:
		if err = refuseBase64("symlink targets"); err != nil {
			return false, err
		}
		if !i.HasArg {
			i.Arg, i.HasArg = []byte(joinPath("/usr/share/factory", i.Path)), true
		}
	case WriteFile:
		if err = required("Write file"); err != nil {
			return false, err
		}
	case CopyFiles:
		if err = refuseBase64("copy sources"); err != nil {
			return false, err
		}
		if !i.HasArg {
			i.Arg, i.HasArg = []byte(joinPath("/usr/share/factory", i.Path)), true
		} else if !strings.HasPrefix(string(i.Arg), "/") {
			return false, lineErr(file, line, true, syscall.EBADMSG, "Source path '%s' is not absolute.", i.Arg)
		}
		src := string(i.Arg)
		if p.Root != "" {
			src = joinPath(p.Root, src)
		}
		src = simplify(src)
		i.Arg = []byte(src)
		var st unix.Stat_t
		if err := unix.Lstat(src, &st); err == unix.ENOENT {
			p.syntax(LevelDebug, file, line, "Copy source path '%s' does not exist, skipping line.", src)
			return true, nil
		}
	case CreateCharDevice, CreateBlockDevice:
		if err = refuseBase64("device node creation"); err != nil {
			return false, err
		}
		if !i.HasArg {
			return false, lineErr(file, line, true, syscall.EBADMSG, "Device file requires argument.")
		}
		major, minor, derr := parseDevnum(string(i.Arg))
		if derr != nil {
			return false, lineErr(file, line, true, derr, "Can't parse device file major/minor '%s'.", i.Arg)
		}
		i.MajorMinor = unix.Mkdev(major, minor)
	case SetXattr, RecursiveSetXattr:
		if err = refuseBase64("extended attributes"); err != nil {
			return false, err
		}
		if err = required("Set extended attribute"); err != nil {
			return false, err
		}
		i.Xattrs = p.parseXattrs(string(i.Arg))
	case SetACL, RecursiveSetACL:
		if err = refuseBase64("ACLs"); err != nil {
			return false, err
		}
		if err = required("Set ACLs"); err != nil {
			return false, err
		}
		acl, aerr := parseACL(string(i.Arg), !i.Force)
		if aerr != nil {
			p.logf(LevelWarning, "Failed to parse ACL \"%s\": %s. Ignoring", i.Arg, strerror(aerr))
		} else {
			i.ACL = acl
		}
	case SetAttribute, RecursiveSetAttribute:
		if err = refuseBase64("file attributes"); err != nil {
			return false, err
		}
		if err = required("Set file attribute"); err != nil {
			return false, err
		}
		return false, parseAttribute(i)
	default:
		return false, lineErr(file, line, true, syscall.EBADMSG, "Unknown command type '%c'.", i.Type)
	}
	return false, nil
}

// included applies --exclude-prefix and --prefix to a path.
func (p *Parser) included(pth string) bool {
	for _, x := range p.Exclude {
		if _, ok := pathStartsWith(pth, x); ok {
			p.logf(LevelDebug, "Entry \"%s\" matches exclude prefix \"%s\", skipping.", pth, x)
			return false
		}
	}
	for _, x := range p.Include {
		if _, ok := pathStartsWith(pth, x); ok {
			return true
		}
	}
	if len(p.Include) == 0 {
		return true
	}
	p.logf(LevelDebug, "Entry \"%s\" does not match any include prefix, skipping.", pth)
	return false
}

// expandArgument expands the specifiers of the argument: after C unescaping for f, F, w, L
// and C, in the names and values of t and T. skip is true for an unresolvable specifier.
func (p *Parser) expandArgument(i *Item) (skip bool, err error) {
	if !i.HasArg {
		return false, nil
	}
	fail := func(err error) (bool, error) {
		if noInfo(err) {
			p.unresolvable(i.File, i.Line)
			return true, nil
		}
		return false, lineErr(i.File, i.Line, invalidErrno(err), err, "Failed to substitute specifiers in argument: %s", strerror(err))
	}
	switch i.Type {
	case CopyFiles, CreateSymlink, CreateFile, TruncateFile, WriteFile:
		u, err := cunescape(string(i.Arg))
		if err != nil {
			p.logf(LevelErr, "Failed to unescape parameter to write: %s", i.Arg)
			return fail(err)
		}
		v, err := p.Spec.expand(string(u), pathMax-1)
		if err != nil {
			return fail(err)
		}
		i.Arg = []byte(v)
	case SetXattr, RecursiveSetXattr:
		for k := range i.Xattrs {
			for j := 0; j < 2; j++ {
				v, err := p.Spec.expand(i.Xattrs[k][j], math.MaxInt)
				if err != nil {
					return fail(err)
				}
				i.Xattrs[k][j] = v
			}
		}
	}
	return false, nil
}

// parseXattrs reads "name=value" words (quotes and C escapes allowed); a malformed one is
// reported and left out.
func (p *Parser) parseXattrs(arg string) [][2]string {
	var out [][2]string
	s := arg
	for {
		w, rest, ok, more, err := nextWordUnescape(s)
		if err != nil {
			p.logf(LevelWarning, "Failed to parse extended attribute '%s', ignoring: %s", s, strerror(err))
			return out
		}
		if !ok {
			return out
		}
		name, value, found := strings.Cut(w, "=")
		switch {
		case !found:
			p.logf(LevelWarning, "Failed to parse extended attribute, ignoring: %s", w)
		case name == "" || value == "":
			p.logf(LevelWarning, "Malformed extended attribute found, ignoring: %s", w)
		default:
			out = append(out, [2]string{name, value})
		}
		if !more {
			return out
		}
		s = rest
	}
}

// ownerModeAge reads the user, group, mode and age fields.
func (p *Parser) ownerModeAge(i *Item, user, group, mode, age string) error {
	file, line := i.File, i.Line
	if user != "" && user != "-" {
		u, only := strings.CutPrefix(user, ":")
		id, err := p.IDs.UID(u)
		if err != nil {
			return lineErr(file, line, true, err, "Failed to resolve user '%s': %s", u, strerror(err))
		}
		i.UID, i.UIDSet, i.UIDOnlyCreate = id, true, only
	}
	if group != "" && group != "-" {
		g, only := strings.CutPrefix(group, ":")
		id, err := p.IDs.GID(g)
		if err != nil {
			return lineErr(file, line, true, err, "Failed to resolve group '%s'.", g)
		}
		i.GID, i.GIDSet, i.GIDOnlyCreate = id, true, only
	}
	if mode != "" && mode != "-" {
		mm := mode
		for mm != "" && (mm[0] == '~' || mm[0] == ':') {
			if mm[0] == '~' {
				i.MaskPerms = true
			} else {
				i.ModeOnlyCreate = true
			}
			mm = mm[1:]
		}
		m, err := parseMode(mm)
		if err != nil {
			return lineErr(file, line, true, err, "Invalid mode '%s'.", mode)
		}
		i.Mode, i.ModeSet = m, true
	} else if i.Type.isDirectoryType() {
		i.Mode = 0o755
	} else {
		i.Mode = 0o644
	}
	if age != "" && age != "-" {
		a := age
		if a[0] == '~' {
			i.KeepFirstLevel = true
			a = a[1:]
		}
		if by, secs, ok := strings.Cut(a, ":"); ok {
			f, d, ok := parseAgeBy(by)
			if !ok {
				return lineErr(file, line, true, syscall.EINVAL, "Invalid age-by '%s'.", by)
			}
			i.AgeByFile, i.AgeByDir = f, d
			a = secs
		}
		v, err := unit.ParseTimespan(a)
		if err != nil {
			return lineErr(file, line, true, syscall.EINVAL, "Invalid age '%s'.", a)
		}
		i.Age, i.AgeSet = v, true
		if v == unit.DurationInfinity {
			i.Age = AgeInfinity
		}
	}
	return nil
}

// parseAgeBy reads the letters before the ':' of an age: a b c m for files, A B C M for
// directories (whitespace ignored); a kind not named keeps its default.
func parseAgeBy(s string) (file, dir AgeBy, ok bool) {
	if s == "" {
		return 0, 0, false
	}
	for k := 0; k < len(s); k++ {
		c := s[k]
		if isSpace(c) {
			continue
		}
		idx := strings.IndexByte("abcm", c|0x20)
		if idx < 0 || (c != "abcm"[idx] && c != "ABCM"[idx]) {
			return 0, 0, false
		}
		if c >= 'a' {
			file |= 1 << idx
		} else {
			dir |= 1 << idx
		}
	}
	if file == 0 && dir == 0 {
		return 0, 0, false
	}
	if file == 0 {
		file = ageByDefaultFile
	}
	if dir == 0 {
		dir = ageByDefaultDir
	}
	return file, dir, true
}

// credentialNameValid is systemd's credential_name_valid(): a valid file name, shorter than
// NAME_MAX.
func credentialNameValid(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsRune(s, '/') && len(s) <= 255
}

// pathStartsWith is systemd's path_startswith(): whether p begins with the path prefix,
// compared component by component, and the rest of p after it (without leading slashes).
func pathStartsWith(p, prefix string) (string, bool) {
	if strings.HasPrefix(p, "/") != strings.HasPrefix(prefix, "/") {
		return "", false
	}
	for {
		p = strings.TrimLeft(p, "/")
		prefix = strings.TrimLeft(prefix, "/")
		if prefix == "" {
			return p, true
		}
		if p == "" {
			return "", false
		}
		a, _, _ := strings.Cut(p, "/")
		b, _, _ := strings.Cut(prefix, "/")
		if a != b {
			return "", false
		}
		p, prefix = p[len(a):], prefix[len(b):]
	}
}

// simplify is systemd's path_simplify(): no repeated or trailing slash, no "." component
// ("..", kept).
func simplify(p string) string {
	abs := strings.HasPrefix(p, "/")
	var parts []string
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." {
			continue
		}
		parts = append(parts, c)
	}
	s := strings.Join(parts, "/")
	if abs {
		return "/" + s
	}
	if s == "" {
		return "."
	}
	return s
}

// joinPath is systemd's path_join(): the parts with exactly one slash between them.
func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return strings.TrimRight(a, "/") + "/" + strings.TrimLeft(b, "/")
}
