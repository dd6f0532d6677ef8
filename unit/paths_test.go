package unit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSearchPath(t *testing.T) {
	def := DefaultSearchPath(System)
	for _, c := range []struct {
		name string
		env  string
		dirs []string
		want []string
	}{
		{"default", "", nil, def},
		{"env replaces", "/a:/b", nil, []string{"/a", "/b"}},
		{"env trailing colon appends default", "/a:/b:", nil, append([]string{"/a", "/b"}, def...)},
		{"env leading colon prepends default", ":/a", nil, append(append([]string{}, def...), "/a")},
		{"units win over env", "/a:", []string{"/u1", "/u2/"}, []string{"/u1", "/u2"}},
		{"duplicates dropped", "/a:/a", nil, []string{"/a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("SYSTEMD_UNIT_PATH", c.env)
			got := SearchPath(System, c.dirs)
			if strings.Join(got, ":") != strings.Join(c.want, ":") {
				t.Errorf("SearchPath = %v, want %v", got, c.want)
			}
		})
	}
}

func TestConfigDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	if d := ConfigDir(System, nil); d != "/etc/systemd/system" {
		t.Errorf("system: %s", d)
	}
	if d := ConfigDir(User, nil); d != filepath.Join(home, ".config/systemd/user") {
		t.Errorf("user: %s", d)
	}
	if d := ConfigDir(System, []string{"/first", "/second"}); d != "/first" {
		t.Errorf("--units: %s", d)
	}
	l := NewLoader(System, []string{"rel"})
	if !filepath.IsAbs(l.Paths()[0]) || l.ConfigDir() != l.Paths()[0] {
		t.Errorf("relative --units dir not made absolute: %v %s", l.Paths(), l.ConfigDir())
	}
}

// unsetEnv removes environment variables for the test and restores them afterwards.
func unsetEnv(t *testing.T, keys ...string) {
	for _, k := range keys {
		if v, ok := os.LookupEnv(k); ok {
			t.Cleanup(func() { os.Setenv(k, v) })
		}
		os.Unsetenv(k)
	}
}
