//go:build difftest

package install

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/flint-init/flint/unit"
)

// TestIsEnabledHost compares IsEnabled with `systemctl --root=/ is-enabled` (read-only) for
// every unit file of this machine's default search path.
func TestIsEnabledHost(t *testing.T) {
	systemctl, err := exec.LookPath("systemctl")
	if err != nil {
		t.Skip("systemctl not installed")
	}
	unsetEnv(t, "SYSTEMD_UNIT_PATH")
	l := unit.NewLoader(unit.System, nil)
	names := l.List()
	if len(names) == 0 {
		t.Skip("no unit files on this machine")
	}
	out, err := exec.Command(systemctl, append([]string{"--root=/", "is-enabled"}, names...)...).Output()
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(names) {
		t.Skipf("systemctl printed %d states for %d units (%v)", len(lines), len(names), err)
	}
	bad := 0
	for i, n := range names {
		got, err := IsEnabled(l, n)
		if err != nil {
			got = err.Error()
		}
		if got != lines[i] {
			bad++
			t.Errorf("%s: flint %q, systemctl %q", n, got, lines[i])
		}
	}
	t.Logf("%d unit files compared, %d differ", len(names), bad)
}
