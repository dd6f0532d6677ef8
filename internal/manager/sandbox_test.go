package manager

import (
	"encoding/json"
	"testing"

	"github.com/flint-init/flint/internal/sandbox"
	"github.com/flint-init/flint/unit"
)

// TestSandboxSpec: a command of a unit without privilege or system call settings keeps the
// fast spawn path (no spec); one with them gets a spec; a '+' command runs without it.
func TestSandboxSpec(t *testing.T) {
	svc := &Unit{Name: "a.service", cfg: &unit.Unit{Service: &unit.ServiceSection{}}, h: &unitHist{invocationID: "0123456789abcdef0123456789abcdef"}}
	sock := &Unit{Name: "a.socket", cfg: &unit.Unit{}}
	plain := &unit.ExecContext{}
	clock := &unit.ExecContext{ProtectClock: true}
	nnpOnly := &unit.ExecContext{NoNewPrivileges: true} // the fast path's own prctl does it
	for _, tc := range []struct {
		name string
		u    *Unit
		ec   *unit.ExecContext
		cmd  unit.ExecCommand
		spec bool
	}{
		{"plain", svc, plain, unit.ExecCommand{}, false},
		{"nnp only", svc, nnpOnly, unit.ExecCommand{}, false},
		{"service", svc, clock, unit.ExecCommand{}, true},
		{"socket", sock, clock, unit.ExecCommand{}, true},
		{"full privilege", svc, clock, unit.ExecCommand{Flags: unit.ExecFlags{FullPrivilege: true}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := (&Manager{}).sandboxSpec(tc.u, tc.ec, tc.cmd, -1, -1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.spec {
				if b != nil {
					t.Errorf("spec %s, want none (fast path)", b)
				}
				return
			}
			var sp sandbox.Spec
			if err := json.Unmarshal(b, &sp); err != nil {
				t.Fatal(err)
			}
			if sp.BoundingSet == nil || len(sp.Filters) != 1 {
				t.Errorf("spec %+v", sp)
			}
		})
	}
}

// TestKeyringDefault: systemd's KeyringMode= default by unit type and manager scope, on
// every command, '+' ones too; the invocation ID goes with it.
func TestKeyringDefault(t *testing.T) {
	svc := &Unit{Name: "a.service", cfg: &unit.Unit{Service: &unit.ServiceSection{}}, h: &unitHist{invocationID: "0123456789abcdef0123456789abcdef"}}
	sock := &Unit{Name: "a.socket", cfg: &unit.Unit{}}
	for _, tc := range []struct {
		name  string
		u     *Unit
		scope unit.Scope
		mode  string
		want  string // "" none (inherit), private, shared
	}{
		{"system service", svc, unit.System, "", "private"},
		{"user service", svc, unit.User, "", ""},
		{"socket", sock, unit.System, "", "shared"},
		{"inherit", svc, unit.System, "inherit", ""},
		{"shared", svc, unit.User, "shared", "shared"},
		{"private socket", sock, unit.System, "private", "private"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Manager{}
			m.opt.Scope = tc.scope
			k := m.keyring(tc.u, &unit.ExecContext{KeyringMode: tc.mode}, 65534, 65534)
			got := ""
			if k != nil {
				got = "private"
				if k.Shared {
					got = "shared"
				}
				if k.UID != 65534 || k.GID != 65534 {
					t.Errorf("owner %d:%d", k.UID, k.GID)
				}
				if tc.u == svc && len(k.InvocationID) != 16 {
					t.Errorf("invocation id %x", k.InvocationID)
				}
			}
			if got != tc.want {
				t.Errorf("keyring %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSandboxFSRuntimeDir: the file system sandbox is assembled in the manager's runtime
// directory (a manager with a private one, as the tests' are, leaves the host's /run alone).
func TestSandboxFSRuntimeDir(t *testing.T) {
	u := &Unit{Name: "a.service", cfg: &unit.Unit{Service: &unit.ServiceSection{}}}
	m := &Manager{opt: Options{RuntimeDir: "/tmp/flint-rt"}}
	s := m.fsSpec(u, &unit.ExecContext{ProtectSystem: "strict"}, -1, -1, nil)
	if s.RuntimeDir != "/tmp/flint-rt" {
		t.Errorf("the sandbox's runtime directory is %q, want the manager's /tmp/flint-rt", s.RuntimeDir)
	}
}
