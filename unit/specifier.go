package unit

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
)

// hostInfo are the host-wide specifier values, read once per Loader.
type hostInfo struct {
	once      sync.Once
	osRelease map[string]string
	machineID string
	bootID    string
	hostname  string
	pretty    string
	kernel    string
}

func (h *hostInfo) load() {
	h.once.Do(func() {
		h.osRelease = readEnvFile("/etc/os-release")
		if h.osRelease == nil {
			h.osRelease = readEnvFile("/usr/lib/os-release")
		}
		h.machineID = readID("/etc/machine-id")
		h.bootID = strings.ReplaceAll(readID("/proc/sys/kernel/random/boot_id"), "-", "")
		h.hostname, _ = os.Hostname()
		h.pretty = readEnvFile("/etc/machine-info")["PRETTY_HOSTNAME"]
		var uts syscall.Utsname
		if syscall.Uname(&uts) == nil {
			var b strings.Builder
			for _, c := range uts.Release {
				if c == 0 {
					break
				}
				b.WriteByte(byte(c))
			}
			h.kernel = b.String()
		}
	})
}

// readID reads a one-line file (machine-id, boot_id) with ReadFile: never a FIFO or device.
func readID(p string) string {
	b, err := ReadFile(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// readEnvFile reads a KEY=VALUE file such as os-release(5), unquoting simple quotes. It is
// read with ReadFile: a FIFO or device there is not read.
func readEnvFile(p string) map[string]string {
	data, err := ReadFile(p)
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
			v = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`").Replace(v)
		}
		m[k] = v
	}
	return m
}

// archNames maps GOARCH to systemd's architecture names (ConditionArchitecture=).
var archNames = map[string]string{
	"amd64": "x86-64", "386": "x86", "arm64": "arm64", "arm": "arm", "riscv64": "riscv64",
	"ppc64le": "ppc64-le", "ppc64": "ppc64", "s390x": "s390x", "mips64le": "mips64-le",
	"mipsle": "mips-le", "loong64": "loongarch64",
}

// Architecture is the name systemd gives the machine's architecture (%a,
// ConditionArchitecture=): x86-64, arm64, ...
func Architecture() string {
	if a, ok := archNames[runtime.GOARCH]; ok {
		return a
	}
	return runtime.GOARCH
}

// Expander returns the specifier expander for u, following the table of systemd.unit(5):
//
//	%a architecture (x86-64)        %A IMAGE_VERSION of os-release  %b boot ID
//	%B BUILD_ID of os-release       %C /var/cache | $XDG_CACHE_HOME %d credentials dir (%t/credentials/%n)
//	%E /etc | $XDG_CONFIG_HOME       %f "/" + unescaped instance or prefix
//	%g %G group and gid of the manager (root, 0 for the system)
//	%h home of the manager (/root)  %H host name   %i instance   %I unescaped instance
//	%j last dash component of the prefix           %J unescaped %j
//	%l short host name              %L /var/log | $XDG_CONFIG_HOME/log   %m machine ID
//	%M IMAGE_ID   %n full name      %N name without suffix   %o ID of os-release
//	%p prefix     %P unescaped prefix              %q pretty host name (or %l)
//	%s shell of the manager user (for root: /bin/bash if it exists, else /bin/sh)
//	%S /var/lib | $XDG_CONFIG_HOME  %t /run | $XDG_RUNTIME_DIR   %T /tmp or $TMPDIR
//	%u %U user name and uid of the manager (root, 0)  %v kernel release
//	%V /var/tmp or $TMPDIR          %w VERSION_ID   %W VARIANT_ID
//	%y fragment path (the target of a linked unit file)   %Y its directory   %% a percent sign
//
// Any other letter after '%' is an error naming it; a '%' at the very end is kept.
// Values that cannot be determined (%m without /etc/machine-id, %t for the user scope
// without $XDG_RUNTIME_DIR, %y without a fragment) are errors, as in systemd.
func (l *Loader) Expander(u *Unit) Expander {
	return func(value string) (string, error) {
		if strings.IndexByte(value, '%') < 0 {
			return value, nil
		}
		var b strings.Builder
		for i := 0; i < len(value); i++ {
			c := value[i]
			if c != '%' {
				b.WriteByte(c)
				continue
			}
			if i+1 >= len(value) {
				b.WriteByte('%')
				break
			}
			i++
			v, err := l.specifier(u, value[i])
			if err != nil {
				return "", err
			}
			b.WriteString(v)
		}
		return b.String(), nil
	}
}

// specifier resolves one specifier letter for u.
func (l *Loader) specifier(u *Unit, c byte) (string, error) {
	user := l.scope == User
	h := &l.host
	switch c {
	case '%':
		return "%", nil
	case 'n':
		return u.Name, nil
	case 'N':
		return strings.TrimSuffix(u.Name, "."+string(u.Type)), nil
	case 'p':
		return u.Prefix, nil
	case 'P':
		return unescapeSpec(u.Prefix, c)
	case 'i':
		return u.Instance, nil
	case 'I':
		return unescapeSpec(u.Instance, c)
	case 'j':
		return lastDash(u.Prefix), nil
	case 'J':
		return unescapeSpec(lastDash(u.Prefix), c)
	case 'f':
		s := u.Prefix
		if u.Instance != "" {
			s = u.Instance
		}
		p, err := UnescapePath(s)
		if err != nil {
			return "", fmt.Errorf("failed to resolve specifier '%%f': %w", err)
		}
		return p, nil
	case 'y':
		if u.FragmentPath == "" {
			return "", fmt.Errorf("failed to resolve specifier '%%y': unit has no fragment")
		}
		return realPath(u.FragmentPath), nil
	case 'Y':
		if u.FragmentPath == "" {
			return "", fmt.Errorf("failed to resolve specifier '%%Y': unit has no fragment")
		}
		return filepath.Dir(realPath(u.FragmentPath)), nil
	case 'a':
		return Architecture(), nil
	case 'A', 'B', 'M', 'o', 'w', 'W':
		h.load()
		key := map[byte]string{'A': "IMAGE_VERSION", 'B': "BUILD_ID", 'M': "IMAGE_ID", 'o': "ID",
			'w': "VERSION_ID", 'W': "VARIANT_ID"}[c]
		return h.osRelease[key], nil
	case 'b':
		h.load()
		if h.bootID == "" {
			return "", fmt.Errorf("failed to resolve specifier '%%b': no boot ID")
		}
		return h.bootID, nil
	case 'm':
		h.load()
		if h.machineID == "" {
			return "", fmt.Errorf("failed to resolve specifier '%%m': /etc/machine-id is missing or empty")
		}
		return h.machineID, nil
	case 'H':
		h.load()
		return h.hostname, nil
	case 'l':
		h.load()
		s, _, _ := strings.Cut(h.hostname, ".")
		return s, nil
	case 'q':
		h.load()
		if h.pretty != "" {
			return h.pretty, nil
		}
		s, _, _ := strings.Cut(h.hostname, ".")
		return s, nil
	case 'v':
		h.load()
		return h.kernel, nil
	case 't', 'S', 'C', 'L', 'E':
		scope := System
		if user {
			scope = User
		}
		b, _ := ExecDirectoryBases(scope)
		d := b[strings.IndexByte("tSCLE", c)]
		if d == "" {
			if c == 't' {
				return "", fmt.Errorf("failed to resolve specifier '%%t': $XDG_RUNTIME_DIR is not set")
			}
			return "", fmt.Errorf("failed to resolve specifier '%%%c': no home directory", c)
		}
		return d, nil
	case 'd':
		rt, err := l.specifier(u, 't')
		if err != nil {
			return "", err
		}
		return filepath.Join(rt, "credentials", u.Name), nil
	case 'T':
		return tmpDir("/tmp"), nil
	case 'V':
		return tmpDir("/var/tmp"), nil
	case 'u', 'U', 'g', 'G', 'h', 's':
		return managerUser(user, c)
	}
	if c >= 0x20 && c < 0x7f {
		return "", fmt.Errorf("unknown specifier '%%%c'", c)
	}
	return "", fmt.Errorf("unknown specifier '%%\\x%02x'", c)
}

// realPath is the file a fragment path finally names (a linked unit file's target).
func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

func unescapeSpec(s string, c byte) (string, error) {
	v, err := Unescape(s)
	if err != nil {
		return "", fmt.Errorf("failed to resolve specifier '%%%c': %w", c, err)
	}
	return v, nil
}

// lastDash is %j: the part of the prefix after its last '-', or the whole prefix.
func lastDash(prefix string) string {
	if i := strings.LastIndexByte(prefix, '-'); i >= 0 {
		return prefix[i+1:]
	}
	return prefix
}

func xdgDir(env, rel string) (string, error) {
	if d := os.Getenv(env); filepath.IsAbs(d) {
		return d, nil
	}
	if h := homeDir(); h != "" {
		return filepath.Join(h, rel), nil
	}
	return "", fmt.Errorf("cannot determine $%s: no home directory", env)
}

// tmpDir is systemd's tmp_dir(): $TMPDIR, $TEMP or $TMP when absolute, else def.
func tmpDir(def string) string {
	for _, e := range []string{"TMPDIR", "TEMP", "TMP"} {
		if d := os.Getenv(e); filepath.IsAbs(d) {
			return d
		}
	}
	return def
}

// managerUser resolves %u %U %g %G %h %s: root's values for the system scope, the calling
// user's for the user scope.
func managerUser(userScope bool, c byte) (string, error) {
	uid := 0
	if userScope {
		uid = os.Getuid()
	}
	if uid == 0 {
		switch c {
		case 'u', 'g':
			return "root", nil
		case 'U', 'G':
			return "0", nil
		case 'h':
			if userScope {
				if h := os.Getenv("HOME"); h != "" {
					return h, nil
				}
			}
			return "/root", nil
		case 's':
			return defaultRootShell(), nil
		}
	}
	switch c {
	case 'U':
		return fmt.Sprint(uid), nil
	case 'G':
		return fmt.Sprint(os.Getgid()), nil
	case 'h':
		if h := os.Getenv("HOME"); h != "" {
			return h, nil
		}
	case 's':
		if s := os.Getenv("SHELL"); s != "" {
			return s, nil
		}
	}
	uu, err := user.LookupId(fmt.Sprint(uid))
	if err != nil {
		return "", fmt.Errorf("failed to resolve specifier '%%%c': %w", c, err)
	}
	switch c {
	case 'u':
		return uu.Username, nil
	case 'h':
		return uu.HomeDir, nil
	case 'g':
		g, err := user.LookupGroupId(fmt.Sprint(os.Getgid()))
		if err != nil {
			return "", fmt.Errorf("failed to resolve specifier '%%g': %w", err)
		}
		return g.Name, nil
	case 's':
		if sh := passwdShell(uu.Username); sh != "" {
			return sh, nil
		}
		return "/bin/sh", nil
	}
	return "", fmt.Errorf("unknown specifier '%%%c'", c)
}

// defaultUserShell is systemd's DEFAULT_USER_SHELL build setting (its default, and Debian's).
const defaultUserShell = "/bin/bash"

// defaultRootShell is systemd's default_root_shell(): %s of root is DEFAULT_USER_SHELL when
// that exists, else /bin/sh (systemd does not ask the user database for root).
func defaultRootShell() string {
	if _, err := os.Stat(defaultUserShell); err == nil {
		return defaultUserShell
	}
	return "/bin/sh"
}

// passwdShell reads the login shell of name from /etc/passwd.
func passwdShell(name string) string {
	b, err := ReadFile("/etc/passwd")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 7 && f[0] == name {
			return f[6]
		}
	}
	return ""
}
