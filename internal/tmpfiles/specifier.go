package tmpfiles

import (
	"encoding/hex"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

// Specifiers resolves the specifiers of tmpfiles.d(5) for the system scope (or with User,
// the user scope), as systemd-tmpfiles 252 does:
//
//	%a architecture   %b boot ID   %B BUILD_ID   %H host name   %l short host name
//	%m machine ID (of the root directory's /etc/machine-id with Root)
//	%o ID   %w VERSION_ID   %W VARIANT_ID (of os-release, the root directory's with Root)
//	%v kernel release   %h home ($HOME when absolute and normalized, else root's: /root)
//	%C /var/cache   %L /var/log   %S /var/lib   %t /run
//	%u %U %g %G root 0 root 0   %T /tmp   %V /var/tmp ($TMPDIR, $TEMP, $TMP without Root)
//	%% a percent sign
//
// systemd 252 puts the root directory in front of %C, %L, %S and %t, and then again in front
// of the whole path; flint resolves them inside the root once (docs/compatibility.md).
//
// A value that is not available (no os-release, no machine ID in the root directory, an unset
// $XDG_RUNTIME_DIR for %t of the user scope) is errNoInfo: the line is skipped.
type Specifiers struct {
	Root string // "" for the host
	User bool
	// Getenv reads the environment ($HOME, $TMPDIR, $XDG_...); nil: os.Getenv.
	Getenv func(string) string
}

// noInfo reports whether err means the information does not exist in this environment
// (systemd's ERRNO_IS_NOINFO): such lines are skipped, not refused.
func noInfo(err error) bool {
	return isErrno(err, syscall.EUNATCH) || isErrno(err, syscall.ENOMEDIUM) || isErrno(err, syscall.ENXIO)
}

func (s *Specifiers) getenv(k string) string {
	if s.Getenv != nil {
		return s.Getenv(k)
	}
	return os.Getenv(k)
}

// known reports whether c is a specifier of tmpfiles.d.
func (s *Specifiers) known(c byte) bool { return strings.IndexByte("abBHlmovwWhCLStgGuUTV", c) >= 0 }

// Value returns the value of specifier c.
func (s *Specifiers) Value(c byte) (string, error) {
	switch c {
	case 'a':
		return unit.Architecture(), nil
	case 'b':
		b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
		if err != nil {
			return "", err
		}
		return strings.ReplaceAll(strings.TrimSpace(string(b)), "-", ""), nil
	case 'B', 'o', 'w', 'W':
		key := map[byte]string{'B': "BUILD_ID", 'o': "ID", 'w': "VERSION_ID", 'W': "VARIANT_ID"}[c]
		return s.osRelease(key)
	case 'H', 'l':
		h := hostname()
		if c == 'l' {
			h, _, _ = strings.Cut(h, ".")
		}
		return h, nil
	case 'm':
		return s.machineID()
	case 'v':
		var uts unix.Utsname
		if err := unix.Uname(&uts); err != nil {
			return "", err
		}
		return unix.ByteSliceToString(uts.Release[:]), nil
	case 'h':
		return s.home()
	case 'C', 'L', 'S', 't':
		return s.directory(c)
	case 'u', 'g':
		if s.User {
			id := os.Getuid()
			if c == 'g' {
				id = os.Getgid()
			}
			return idName(c == 'g', uint32(id)), nil
		}
		return "root", nil
	case 'U':
		if s.User {
			return strconv.Itoa(os.Getuid()), nil
		}
		return "0", nil
	case 'G':
		if s.User {
			return strconv.Itoa(os.Getgid()), nil
		}
		return "0", nil
	case 'T', 'V':
		def := map[byte]string{'T': "/tmp", 'V': "/var/tmp"}[c]
		if s.Root != "" {
			return def, nil
		}
		return s.tmpDir(def), nil
	}
	return "", syscall.EBADSLT
}

// expand replaces the specifiers in text (specifier_printf): "%%" is a percent sign, a known
// letter its value, an unknown letter or digit EBADSLT, anything else is kept with its '%'
// (so is a '%' at the end). A result longer than max bytes is ENAMETOOLONG.
func (s *Specifiers) expand(text string, max int) (string, error) {
	if strings.IndexByte(text, '%') < 0 {
		if len(text) > max {
			return "", syscall.ENAMETOOLONG
		}
		return text, nil
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(text) {
			b.WriteByte('%')
			break
		}
		i++
		c = text[i]
		switch {
		case c == '%':
			b.WriteByte('%')
		case s.known(c):
			v, err := s.Value(c)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			return "", syscall.EBADSLT
		default:
			b.WriteByte('%')
			b.WriteByte(c)
		}
		if b.Len() > max {
			return "", syscall.ENAMETOOLONG
		}
	}
	if b.Len() > max {
		return "", syscall.ENAMETOOLONG
	}
	return b.String(), nil
}

// rooted is p inside the root directory.
func (s *Specifiers) rooted(p string) string {
	if s.Root == "" {
		return p
	}
	return path.Join(s.Root, p)
}

// osRelease reads a field of os-release(5): /etc/os-release, else /usr/lib/os-release. No
// such file is EUNATCH; a field it lacks is empty.
func (s *Specifiers) osRelease(key string) (string, error) {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		data, err := os.ReadFile(s.rooted(p))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return "", err
		}
		return envFileValue(data, key), nil
	}
	return "", syscall.EUNATCH
}

// envFileValue finds key in a KEY=VALUE file, removing one level of shell quoting.
func envFileValue(data []byte, key string) string {
	v := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		k, val, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != key {
			continue
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
			q := val[0]
			val = val[1 : len(val)-1]
			if q == '"' {
				val = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`").Replace(val)
			}
		}
		v = val
	}
	return v
}

// machineID reads /etc/machine-id (of the root directory with Root): 32 hex digits and an
// optional newline. Missing in a root directory is EUNATCH, empty or all zero ENOMEDIUM,
// anything else EINVAL.
func (s *Specifiers) machineID() (string, error) {
	data, err := os.ReadFile(s.rooted("/etc/machine-id"))
	if err != nil {
		if os.IsNotExist(err) && s.Root != "" {
			return "", syscall.EUNATCH
		}
		return "", err
	}
	if len(data) == 0 {
		return "", syscall.ENOMEDIUM
	}
	if len(data) == 33 && data[32] == '\n' {
		data = data[:32]
	}
	if len(data) != 32 {
		return "", syscall.EINVAL
	}
	id, err := hex.DecodeString(string(data))
	if err != nil {
		return "", syscall.EINVAL
	}
	for _, b := range id {
		if b != 0 {
			return hex.EncodeToString(id), nil
		}
	}
	return "", syscall.ENOMEDIUM
}

// hostname is the kernel's host name, "localhost" when it has none.
func hostname() string {
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		if h := unix.ByteSliceToString(uts.Nodename[:]); h != "" && h != "(none)" {
			return h
		}
	}
	return "localhost"
}

// home is systemd's get_home_dir(): $HOME when it is an absolute, normalized path, else the
// home of the user (root: /root).
func (s *Specifiers) home() (string, error) {
	if h := s.getenv("HOME"); path.IsAbs(h) && normalized(h) {
		return path.Clean(h), nil
	}
	uid := os.Getuid()
	if uid == 0 {
		return "/root", nil
	}
	if e, ok := lookupPasswd("", "/etc/passwd", strconv.Itoa(uid), true); ok {
		return e.home, nil
	}
	return "", syscall.ESRCH
}

// directory is %C, %L, %S or %t. With a root directory the system's directories have it in
// front, as systemd-tmpfiles 252 gives them (so the path of a line that uses one has the root
// twice).
func (s *Specifiers) directory(c byte) (string, error) {
	if !s.User {
		d := map[byte]string{'C': "/var/cache", 'L': "/var/log", 'S': "/var/lib", 't': "/run"}[c]
		if s.Root != "" && s.Root != "/" {
			d = s.Root + d
		}
		return d, nil
	}
	xdg := func(env, below string) (string, error) {
		if d := s.getenv(env); path.IsAbs(d) {
			return d, nil
		}
		h, err := s.home()
		if err != nil {
			return "", err
		}
		return path.Join(h, below), nil
	}
	switch c {
	case 't':
		if d := s.getenv("XDG_RUNTIME_DIR"); path.IsAbs(d) {
			return d, nil
		}
		return "", syscall.ENXIO
	case 'C':
		return xdg("XDG_CACHE_HOME", ".cache")
	case 'L':
		d, err := xdg("XDG_CONFIG_HOME", ".config")
		return path.Join(d, "log"), err
	}
	return xdg("XDG_CONFIG_HOME", ".config")
}

// tmpDir is the first of $TMPDIR, $TEMP and $TMP that names an absolute, normalized path of
// a directory, else def.
func (s *Specifiers) tmpDir(def string) string {
	for _, k := range []string{"TMPDIR", "TEMP", "TMP"} {
		d := s.getenv(k)
		if d == "" || !path.IsAbs(d) || !normalized(d) {
			continue
		}
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
	}
	return def
}

// normalized is systemd's path_is_normalized(): no "." or ".." component, no "//".
func normalized(p string) bool {
	if p == "" || strings.Contains(p, "//") {
		return false
	}
	for _, c := range strings.Split(p, "/") {
		if c == "." || c == ".." {
			return false
		}
	}
	return true
}
