package manager

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/flint-init/flint/internal/sandbox"
	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// sandboxSpec is the sandbox (internal/sandbox, its file system half internal/sandbox/fs:
// sandbox_fs.go) of a command of u, as JSON, or nil when the
// command needs none (the fast spawn path). A '+' command runs without it, as systemd's
// exec_child skips the sandboxing for it.
func (m *Manager) sandboxSpec(u *Unit, ec *unit.ExecContext, cmd unit.ExecCommand, uid, gid int, cfg *spawn.Config) ([]byte, error) {
	if cmd.Flags.FullPrivilege {
		return nil, nil
	}
	if ee := refuseSandbox(ec); ee != nil {
		return nil, ee
	}
	sp, err := sandbox.Compile(ec.SandboxSettings(ec.PrivateDevices), uid, gid)
	if err != nil {
		return nil, err
	}
	if sp.FS, err = m.sandboxFSPlan(u, ec, uid, gid, cfg); err != nil {
		return nil, err
	}
	if sp.Empty() {
		return nil, nil
	}
	return json.Marshal(sp)
}

// keyring is the session keyring of a command of u running as uid:gid (-1: unchanged), on
// every spawn path, '+' commands too (systemd's setup_keyring is not part of the
// sandboxing): KeyringMode=, by default private for a service of the system manager,
// inherit for one of a user's, shared for the other unit types (service_init,
// exec_context_init).
func (m *Manager) keyring(u *Unit, ec *unit.ExecContext, uid, gid int) *spawn.Keyring {
	mode := ec.KeyringMode
	if mode == "" {
		switch {
		case u.cfg.Service == nil:
			mode = "shared"
		case m.opt.Scope == unit.User:
			mode = "inherit"
		default:
			mode = "private"
		}
	}
	if mode == "inherit" {
		return nil
	}
	k := &spawn.Keyring{Shared: mode == "shared", UID: uid, GID: gid}
	if id, err := hex.DecodeString(strings.ReplaceAll(u.hs().invocationID, "-", "")); err == nil && len(id) == 16 {
		k.InvocationID = id
	}
	return k
}

// userNS is PrivateUsers= for a command of u with credentials cr (nil: the manager's):
// root and the command's user and groups mapped, as systemd's setup_private_users(); a
// manager that is not root maps its own ids instead of root's and denies setgroups(2), as
// an unprivileged process must. A '+' command runs without it.
func (m *Manager) userNS(ec *unit.ExecContext, cmd unit.ExecCommand, cr *syscall.Credential) *spawn.UserNS {
	if !ec.PrivateUsers || cmd.Flags.FullPrivilege {
		return nil
	}
	ouid, ogid := os.Geteuid(), os.Getegid()
	ns := &spawn.UserNS{UIDs: []int{ouid}, GIDs: []int{ogid}, Setgroups: ouid == 0}
	if cr != nil {
		ns.UIDs = append(ns.UIDs, int(cr.Uid))
		ns.GIDs = append(ns.GIDs, int(cr.Gid))
		if !cr.NoSetGroups {
			for _, g := range cr.Groups {
				ns.GIDs = append(ns.GIDs, int(g))
			}
		}
	}
	return ns
}

// refuseSandbox is the start's refusal of what flint cannot set up (docs/compatibility.md):
// disk images and extensions (systemd dissects them; a unit that asks for one counts on
// their content, so it is not started without), as systemd's failure to set them up,
// 226/NAMESPACE; encrypted credentials (no TPM2 or host key here), 243/CREDENTIALS.
func refuseSandbox(ec *unit.ExecContext) *spawn.ExecError {
	for _, k := range []string{"RootImage", "MountImages", "ExtensionImages", "ExtensionDirectories"} {
		if v := ec.NotEnforcedValues[k]; v != "" {
			return &spawn.ExecError{Status: sandbox.StatusNamespace, Step: "namespace",
				Err: fmt.Errorf("%s=%s: disk images and system extensions are not supported by flint", k, v)}
		}
	}
	for _, c := range ec.Credentials {
		if c.Encrypted {
			return &spawn.ExecError{Status: 243, Step: "credentials",
				Err: fmt.Errorf("credential %s: LoadCredentialEncrypted=/SetCredentialEncrypted= are not supported by flint (no TPM2 or host key to decrypt with)", c.ID)}
		}
	}
	return nil
}
