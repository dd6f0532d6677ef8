package manager

import (
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/flint-init/flint/internal/sandbox"
	"github.com/flint-init/flint/unit"
)

// sandboxSpec is the sandbox (internal/sandbox, its file system half internal/sandbox/fs:
// sandbox_fs.go) of a command of u, as JSON, or nil when the
// command needs none (the fast spawn path). A '+' command runs without it, as systemd's
// exec_child skips the sandboxing for it.
func (m *Manager) sandboxSpec(u *Unit, ec *unit.ExecContext, cmd unit.ExecCommand, uid, gid int) ([]byte, error) {
	if cmd.Flags.FullPrivilege {
		return nil, nil
	}
	sp, err := sandbox.Compile(ec.SandboxSettings(ec.PrivateDevices), uid, gid)
	if err != nil {
		return nil, err
	}
	if sp.FS, err = m.sandboxFSPlan(u, ec, uid, gid); err != nil {
		return nil, err
	}
	if sp.Empty() {
		return nil, nil
	}
	if sp.KeyringMode == "" {
		// systemd's default: a session keyring of its own for a service, the user's linked in
		// for the others. Only sandboxed commands get it; the fast path leaves the manager's
		// (docs/compatibility.md).
		sp.KeyringMode = "shared"
		if u.cfg.Service != nil {
			sp.KeyringMode = "private"
		}
	}
	if id, err := hex.DecodeString(strings.ReplaceAll(u.invocationID, "-", "")); err == nil && len(id) == 16 {
		sp.InvocationID = id
	}
	return json.Marshal(sp)
}
