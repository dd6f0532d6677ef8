package unit

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func testUnit(name, fragment string) *Unit {
	p, i, sfx, _ := ParseName(name)
	return &Unit{Name: name, Type: Type(sfx), Prefix: p, Instance: i, FragmentPath: fragment}
}

func TestSpecifiersSystem(t *testing.T) {
	t.Setenv("TMPDIR", "")
	t.Setenv("TEMP", "")
	t.Setenv("TMP", "")
	l := NewLoader(System, []string{t.TempDir()})
	u := testUnit(`foo-bar-b\x2dz@a-b\x20c.service`, "/lib/systemd/system/foo-bar-b\\x2dz@.service")
	host, _ := os.Hostname()
	short, _, _ := strings.Cut(host, ".")
	for _, c := range []struct{ in, want string }{
		{"%n", `foo-bar-b\x2dz@a-b\x20c.service`},
		{"%N", `foo-bar-b\x2dz@a-b\x20c`},
		{"%p", `foo-bar-b\x2dz`},
		{"%P", "foo/bar/b-z"},
		{"%i", `a-b\x20c`},
		{"%I", "a/b c"},
		{"%j", `b\x2dz`},
		{"%J", "b-z"},
		{"%f", "/a/b c"},
		{"%y", "/lib/systemd/system/foo-bar-b\\x2dz@.service"},
		{"%Y", "/lib/systemd/system"},
		{"%t", "/run"},
		{"%S", "/var/lib"},
		{"%C", "/var/cache"},
		{"%L", "/var/log"},
		{"%E", "/etc"},
		{"%T", "/tmp"},
		{"%V", "/var/tmp"},
		{"%d", `/run/credentials/foo-bar-b\x2dz@a-b\x20c.service`},
		{"%u", "root"},
		{"%U", "0"},
		{"%g", "root"},
		{"%G", "0"},
		{"%h", "/root"},
		{"%s", defaultRootShell()}, // /bin/bash where it exists, as systemd 252
		{"%H", host},
		{"%l", short},
		{"%%", "%"},
		{"100%", "100%"},
		{"a%%b%n", `a%b` + `foo-bar-b\x2dz@a-b\x20c.service`},
		{"no specifiers", "no specifiers"},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := l.Expander(u)(c.in)
			if err != nil || got != c.want {
				t.Errorf("expand(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
	// values read from the host: only their shape is checked
	for _, c := range []struct {
		in   string
		ok   func(string) bool
		file string
	}{
		{"%a", func(s string) bool { return s != "" && (runtime.GOARCH != "amd64" || s == "x86-64") }, ""},
		{"%m", func(s string) bool { return len(s) == 32 }, "/etc/machine-id"},
		{"%b", func(s string) bool { return len(s) == 32 && !strings.Contains(s, "-") }, "/proc/sys/kernel/random/boot_id"},
		{"%v", func(s string) bool { return s != "" }, ""},
		{"%o", func(s string) bool { return s == readEnvFile("/etc/os-release")["ID"] }, "/etc/os-release"},
		{"%w", func(s string) bool { return s == readEnvFile("/etc/os-release")["VERSION_ID"] }, "/etc/os-release"},
		{"%W %A %B %M %q", func(s string) bool { return true }, ""},
	} {
		t.Run(c.in, func(t *testing.T) {
			if c.file != "" {
				if _, err := os.Stat(c.file); err != nil {
					t.Skip(c.file, " missing")
				}
			}
			got, err := l.Expander(u)(c.in)
			if err != nil || !c.ok(got) {
				t.Errorf("expand(%q) = %q, %v", c.in, got, err)
			}
		})
	}
}

func TestSpecifiersUser(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/4242")
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("XDG_STATE_HOME", "/state")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("TMPDIR", "/mytmp")
	l := NewLoader(User, []string{t.TempDir()})
	u := testUnit("foo.socket", "")
	for _, c := range []struct{ in, want string }{
		{"%t", "/run/user/4242"},
		{"%S", filepath.Join(home, ".config")}, // systemd 252: not $XDG_STATE_HOME
		{"%C", filepath.Join(home, ".cache")},
		{"%E", filepath.Join(home, ".config")},
		{"%L", filepath.Join(home, ".config/log")},
		{"%T", "/mytmp"},
		{"%V", "/mytmp"},
		{"%h", home},
		{"%d", "/run/user/4242/credentials/foo.socket"},
		{"%f", "/foo"},
		{"%i", ""},
		{"%j", "foo"},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := l.Expander(u)(c.in)
			if err != nil || got != c.want {
				t.Errorf("expand(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
	t.Run("XDG_CONFIG_HOME", func(t *testing.T) {
		t.Setenv("XDG_CONFIG_HOME", "/conf")
		t.Setenv("XDG_CACHE_HOME", "relative/is/ignored")
		for in, want := range map[string]string{"%S": "/conf", "%E": "/conf", "%L": "/conf/log", "%C": filepath.Join(home, ".cache")} {
			if got, err := l.Expander(u)(in); err != nil || got != want {
				t.Errorf("expand(%q) = %q, %v; want %q", in, got, err, want)
			}
		}
	})
	t.Run("no XDG_RUNTIME_DIR", func(t *testing.T) {
		t.Setenv("XDG_RUNTIME_DIR", "")
		if _, err := l.Expander(u)("%t"); err == nil {
			t.Errorf("%s without XDG_RUNTIME_DIR succeeded", "%t")
		}
	})
}

func TestSpecifierErrors(t *testing.T) {
	l := NewLoader(System, []string{t.TempDir()})
	u := testUnit("foo.service", "")
	for _, c := range []struct{ in, wantErr string }{
		{"%z", "'%z'"},
		{"a%Qb", "'%Q'"},
		{"%y", "'%y'"},
		{"%Y", "'%Y'"},
		{"%\x01", `\x01`},
	} {
		t.Run(c.in, func(t *testing.T) {
			_, err := l.Expander(u)(c.in)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("expand(%q) error = %v, want it to name %s", c.in, err, c.wantErr)
			}
		})
	}
}

func FuzzExpander(f *testing.F) {
	for _, s := range []string{"%n", "%%", "%", "a%ib%Ic", "%f%j%J%P", "x%z"} {
		f.Add(s)
	}
	l := NewLoader(System, []string{f.TempDir()})
	u := testUnit(`a-b@c\x2d.service`, "/x/a-b@.service")
	f.Fuzz(func(t *testing.T, s string) {
		out, err := l.Expander(u)(s)
		if err != nil {
			if !strings.Contains(err.Error(), "specifier") {
				t.Fatalf("error without the specifier: %v", err)
			}
			return
		}
		if !strings.Contains(s, "%") && out != s {
			t.Fatalf("expand(%q) = %q changed a value without specifiers", s, out)
		}
	})
}

// TestDefaultRootShell: systemd 252 gives root DEFAULT_USER_SHELL (/bin/bash) when it
// exists, /bin/sh otherwise; never $SHELL's or /etc/passwd's value for PID 1.
func TestDefaultRootShell(t *testing.T) {
	want := "/bin/sh"
	if _, err := os.Stat("/bin/bash"); err == nil {
		want = "/bin/bash"
	}
	if got := defaultRootShell(); got != want {
		t.Errorf("defaultRootShell() = %q, want %q", got, want)
	}
}

// TestExecDirectoryBases: the bases of RuntimeDirectory= and friends, as systemd 252's
// manager_setup_prefix: the system's fixed, the user's from $XDG_RUNTIME_DIR,
// $XDG_CONFIG_HOME (state, logs and configuration) and $XDG_CACHE_HOME or the home
// directory; without $XDG_RUNTIME_DIR (or with a relative one) the runtime base is unknown.
func TestExecDirectoryBases(t *testing.T) {
	if b, err := ExecDirectoryBases(System); err != nil || b != [5]string{"/run", "/var/lib", "/var/cache", "/var/log", "/etc"} {
		t.Errorf("system: %q, %v", b, err)
	}
	t.Setenv("HOME", "/home/u")
	t.Setenv("XDG_STATE_HOME", "/state")
	for _, c := range []struct {
		name, run, conf, cache string
		want                   [5]string
		err                    bool
	}{
		{"defaults", "/run/user/7", "", "", [5]string{"/run/user/7", "/home/u/.config", "/home/u/.cache", "/home/u/.config/log", "/home/u/.config"}, false},
		{"xdg", "/r", "/c", "/k", [5]string{"/r", "/c", "/k", "/c/log", "/c"}, false},
		{"relative ignored", "/r", "c", "k", [5]string{"/r", "/home/u/.config", "/home/u/.cache", "/home/u/.config/log", "/home/u/.config"}, false},
		{"no runtime dir", "", "", "", [5]string{"", "/home/u/.config", "/home/u/.cache", "/home/u/.config/log", "/home/u/.config"}, true},
		{"relative runtime dir", "run", "", "", [5]string{"", "/home/u/.config", "/home/u/.cache", "/home/u/.config/log", "/home/u/.config"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("XDG_RUNTIME_DIR", c.run)
			t.Setenv("XDG_CONFIG_HOME", c.conf)
			t.Setenv("XDG_CACHE_HOME", c.cache)
			b, err := ExecDirectoryBases(User)
			if b != c.want || (err != nil) != c.err {
				t.Errorf("ExecDirectoryBases(User) = %q, %v; want %q, error %v", b, err, c.want, c.err)
			}
		})
	}
}
