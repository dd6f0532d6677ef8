package manager

import (
	"encoding/json"
	"testing"

	"github.com/flint-init/flint/internal/sandbox"
	"github.com/flint-init/flint/unit"
)

// TestSandboxSpec: a command of a unit without privilege or system call settings keeps the
// fast spawn path (no spec); one with them gets a spec, with systemd's default keyring for
// its unit type; a '+' command runs without it.
func TestSandboxSpec(t *testing.T) {
	svc := &Unit{Name: "a.service", cfg: &unit.Unit{Service: &unit.ServiceSection{}}, invocationID: "0123456789abcdef0123456789abcdef"}
	sock := &Unit{Name: "a.socket", cfg: &unit.Unit{}}
	plain := &unit.ExecContext{}
	clock := &unit.ExecContext{ProtectClock: true}
	nnpOnly := &unit.ExecContext{NoNewPrivileges: true} // the fast path's own prctl does it
	for _, tc := range []struct {
		name    string
		u       *Unit
		ec      *unit.ExecContext
		cmd     unit.ExecCommand
		keyring string // "" for no spec
	}{
		{"plain", svc, plain, unit.ExecCommand{}, ""},
		{"nnp only", svc, nnpOnly, unit.ExecCommand{}, ""},
		{"service", svc, clock, unit.ExecCommand{}, "private"},
		{"socket", sock, clock, unit.ExecCommand{}, "shared"},
		{"full privilege", svc, clock, unit.ExecCommand{Flags: unit.ExecFlags{FullPrivilege: true}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := (&Manager{}).sandboxSpec(tc.u, tc.ec, tc.cmd, -1, -1)
			if err != nil {
				t.Fatal(err)
			}
			if tc.keyring == "" {
				if b != nil {
					t.Errorf("spec %s, want none (fast path)", b)
				}
				return
			}
			var sp sandbox.Spec
			if err := json.Unmarshal(b, &sp); err != nil {
				t.Fatal(err)
			}
			if sp.KeyringMode != tc.keyring || sp.BoundingSet == nil || len(sp.Filters) != 1 {
				t.Errorf("spec %+v", sp)
			}
			if tc.u == svc && len(sp.InvocationID) != 16 {
				t.Errorf("invocation id %x", sp.InvocationID)
			}
		})
	}
}

// TestSandboxFSRuntimeDir: the file system sandbox is assembled in the manager's runtime
// directory (a manager with a private one, as the tests' are, leaves the host's /run alone).
func TestSandboxFSRuntimeDir(t *testing.T) {
	u := &Unit{Name: "a.service", cfg: &unit.Unit{Service: &unit.ServiceSection{}}}
	m := &Manager{opt: Options{RuntimeDir: "/tmp/flint-rt"}}
	s := m.fsSpec(u, &unit.ExecContext{ProtectSystem: "strict"}, -1, -1)
	if s.RuntimeDir != "/tmp/flint-rt" {
		t.Errorf("the sandbox's runtime directory is %q, want the manager's /tmp/flint-rt", s.RuntimeDir)
	}
}
