//go:build difftest

package unit

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDefaultSearchPathSystemd compares DefaultSearchPath with `systemd-analyze unit-paths`.
func TestDefaultSearchPathSystemd(t *testing.T) {
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	home := t.TempDir()
	for _, c := range []struct {
		name  string
		scope Scope
		args  []string
	}{
		{"system", System, []string{"unit-paths"}},
		{"user", User, []string{"--user", "unit-paths"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			t.Setenv("XDG_RUNTIME_DIR", "/run/user/4242")
			unsetEnv(t, "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CONFIG_DIRS", "XDG_DATA_DIRS", "SYSTEMD_UNIT_PATH")
			cmd := exec.Command(bin, c.args...)
			out, err := cmd.Output()
			if err != nil {
				t.Skipf("systemd-analyze: %v", err)
			}
			want := strings.Fields(string(out))
			got := DefaultSearchPath(c.scope)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("DefaultSearchPath:\n%s\nsystemd-analyze:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
