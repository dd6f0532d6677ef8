package manager

import (
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/flint-init/flint/internal/sandbox"
	"github.com/flint-init/flint/unit"
)

// sandboxFSPlan is the seam of the file-system and namespace half of the sandbox
// (internal/sandbox/fs): it compiles ec's settings (ProtectSystem=, PrivateTmp=, paths,
// PrivateNetwork=, ...) for a process that will run as uid:gid (-1: unchanged) into the plan
// that sandbox.FSHook applies in the child, or nil when ec asks for none of it. nil until
// that package is wired in (cmd/flint sets sandbox.FSHook, the manager this).
var sandboxFSPlan func(ec *unit.ExecContext, uid, gid int) (json.RawMessage, error)

// sandboxSpec is the sandbox (internal/sandbox) of a command of u, as JSON, or nil when the
// command needs none (the fast spawn path). A '+' command runs without it, as systemd's
// exec_child skips the sandboxing for it.
func sandboxSpec(u *Unit, ec *unit.ExecContext, cmd unit.ExecCommand, uid, gid int) ([]byte, error) {
	if cmd.Flags.FullPrivilege {
		return nil, nil
	}
	privateDevices, _ := unit.ParseBool(ec.NotEnforcedValues["PrivateDevices"])
	sp, err := sandbox.Compile(ec.SandboxSettings(privateDevices), uid, gid)
	if err != nil {
		return nil, err
	}
	if sandboxFSPlan != nil {
		if sp.FS, err = sandboxFSPlan(ec, uid, gid); err != nil {
			return nil, err
		}
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
