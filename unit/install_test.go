package unit

import (
	"os"
	"path/filepath"
	"testing"
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
	l := NewLoader(User, nil)
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
	if u.LoadState != Loaded || u.FragmentPath != filepath.Join(data, "a.service") || !contains(u.Unit.WantedByImplicit, "default.target") {
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
