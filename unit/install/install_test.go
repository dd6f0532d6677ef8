package install

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flint-init/flint/unit"
)

// TestEnableUserScope enables a user unit: the symlinks go to ~/.config/systemd/user.
func TestEnableUserScope(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(home, "run"))
	unsetEnv(t, "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CONFIG_DIRS", "XDG_DATA_DIRS", "SYSTEMD_UNIT_PATH")
	data := filepath.Join(home, ".local/share/systemd/user")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(data, "a.service"), []byte("[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=default.target\n"), 0o644)
	l := unit.NewLoader(unit.User, nil)
	ch, err := Enable(l, []string{"a.service"})
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(home, ".config/systemd/user/default.target.wants/a.service")
	if len(ch) == 0 || ch[0].Path != link || ch[0].Source != filepath.Join(data, "a.service") {
		t.Fatalf("changes %v", ch)
	}
	if st, err := IsEnabled(l, "a.service"); err != nil || st != StateEnabled {
		t.Errorf("IsEnabled = %s, %v", st, err)
	}
	u := l.Load("a.service")
	if u.LoadState != unit.Loaded || u.FragmentPath != filepath.Join(data, "a.service") || !slices.Contains(u.Unit.WantedByImplicit, "default.target") {
		t.Errorf("Load: %s %s WantedBy=%v", u.LoadState, u.FragmentPath, u.Unit.WantedByImplicit)
	}
	if _, err := Disable(l, []string{"a.service"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("%s not removed", link)
	}
	if st, _ := IsEnabled(l, "a.service"); st != StateDisabled {
		t.Errorf("after disable: %s", st)
	}
}

func TestChangeString(t *testing.T) {
	for _, c := range []struct {
		c    Change
		want string
	}{
		{Change{Type: ChangeSymlink, Path: "/etc/systemd/system/sockets.target.wants/foo.socket", Source: "/etc/systemd/system/foo.socket"},
			"Created symlink /etc/systemd/system/sockets.target.wants/foo.socket → /etc/systemd/system/foo.socket."},
		{Change{Type: ChangeUnlink, Path: "/etc/systemd/system/sockets.target.wants/foo.socket"},
			`Removed "/etc/systemd/system/sockets.target.wants/foo.socket".`},
		{Change{Type: ChangeDestinationAbsent, Path: "/lib/systemd/system/foo.socket", Source: "sockets.target"},
			"Unit /lib/systemd/system/foo.socket is added as a dependency to a non-existent unit sockets.target."},
		{Change{Type: ChangeIsMasked, Path: "/etc/systemd/system/m.service"}, "Unit /etc/systemd/system/m.service is masked, ignoring."},
		{Change{Type: ChangeAuxiliaryFailed, Source: "nope.service", Op: "enable"}, "Failed to enable auxiliary unit nope.service, ignoring."},
		{Change{Type: ChangeNotFound, Source: "nope.service", Op: "disable"}, "Failed to disable unit, unit nope.service does not exist."},
	} {
		t.Run(c.want, func(t *testing.T) {
			if got := c.c.String(); got != c.want {
				t.Errorf("got %q", got)
			}
		})
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
