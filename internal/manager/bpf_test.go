package manager

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flint-init/flint/internal/cgroup"
	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/unit"
)

// TestBPFPlaceRefuses: where the programs cannot be attached, a unit that asks for them is
// refused (a resource error naming the directives and why), one whose device policy is only
// implied by PrivateDevices= runs with a note, and a unit without such settings is not
// concerned.
func TestBPFPlaceRefuses(t *testing.T) {
	// A legacy v1 layout laid out in a scratch directory: no cgroup2 hierarchy.
	root := t.TempDir()
	for _, d := range []string{"systemd", "memory"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
		os.WriteFile(filepath.Join(root, d, "cgroup.procs"), nil, 0o644)
	}
	self := filepath.Join(t.TempDir(), "cgroup")
	os.WriteFile(self, []byte("2:name=systemd:/\n1:memory:/\n"), 0o644)
	legacy := cgroup.DetectAt(root, self)
	if legacy.Kind != cgroup.Legacy {
		t.Fatalf("scratch layout detected as %s (%s)", legacy.Kind, legacy.Why)
	}
	for _, tc := range []struct {
		name     string
		layout   *cgroup.Layout
		settings string
		refused  string // part of the error; "" = not refused
		note     string // part of the unit's log
	}{
		{"no cgroups", nil, "IPAddressDeny=any\nSocketBindDeny=any", "IPAddressDeny=, SocketBindDeny= cannot be enforced: the manager uses no cgroups", ""},
		{"v1 only", legacy, "DevicePolicy=strict", "DevicePolicy= cannot be enforced: cgroup BPF programs need a cgroup2 hierarchy", ""},
		{"implied only", nil, "PrivateDevices=yes", "", "PrivateDevices=: device access not restricted by cgroup BPF"},
		{"nothing asked", nil, "PrivateTmp=yes", "", ""},
		// A slice's settings hold for its units: where they cannot be attached, the unit is
		// refused, its own settings or not.
		{"slice's", nil, "Slice=locked.slice", "locked.slice: SocketBindDeny=, DevicePolicy= cannot be enforced: the manager uses no cgroups", ""},
		{"slice's IP lists", nil, "Slice=iponly.slice", "IPAddressDeny= of iponly.slice cannot be enforced", ""},
		{"slice without", nil, "Slice=plain.slice", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := testManager(t, map[string]string{"u.service": "[Service]\nExecStart=/bin/true\n" + tc.settings + "\n",
				"locked.slice": "[Slice]\nDevicePolicy=strict\nSocketBindDeny=any\nIPAddressDeny=any\n",
				"iponly.slice": "[Slice]\nIPAddressDeny=any\n", "plain.slice": "[Slice]\nMemoryMax=1G\n"})
			m.opt.Cgroups = tc.layout
			u := m.load("u.service")
			ec := execContextOf(u.cfg)
			if tc.layout != nil {
				m.unitGroup(u, ec) // the group is made in the scratch directory
				if m.cg.groups[u.Name] == nil {
					t.Fatal("no group made in the scratch layout")
				}
			}
			err := m.bpfPlace(u, ec)
			var re *resourceError
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refused != "" && (!errors.As(err, &re) || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("error %v, want a resource error with %q", err, tc.refused)
			}
			var log string
			for _, l := range m.logs.Select(&logs.Filter{Units: []string{u.Name}}, logs.Range{Lines: -1}) {
				log += l.Text + "\n"
			}
			if tc.note != "" && !strings.Contains(log, tc.note) {
				t.Errorf("log lacks %q:\n%s", tc.note, log)
			}
		})
	}
}

func TestDevicePolicyImplied(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ec     unit.ExecContext
		policy string
		allow  int
	}{
		{"default", unit.ExecContext{}, "auto", 0},
		{"PrivateDevices closes auto", unit.ExecContext{PrivateDevices: true}, "closed", 0},
		{"PrivateDevices leaves strict", unit.ExecContext{PrivateDevices: true, BPF: unit.BPFContext{DevicePolicy: "strict"}}, "strict", 0},
		{"ProtectClock alone adds nothing", unit.ExecContext{ProtectClock: true}, "auto", 0},
		{"ProtectClock adds rtc to a policy", unit.ExecContext{ProtectClock: true, PrivateDevices: true}, "closed", 1},
		{"ProtectClock adds rtc to a list", unit.ExecContext{ProtectClock: true, BPF: unit.BPFContext{DeviceAllow: []unit.DeviceAllow{{Path: "/dev/null", Access: "r"}}}}, "auto", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, a := devicePolicy(&tc.ec)
			if p != tc.policy || len(a) != tc.allow {
				t.Errorf("policy %s with %d entries, want %s with %d", p, len(a), tc.policy, tc.allow)
			}
		})
	}
}
