package manager

import (
	"encoding/json"
	"path/filepath"
	"slices"

	sandboxfs "github.com/flint-init/flint/internal/sandbox/fs"
	"github.com/flint-init/flint/unit"
)

// The file system half of the sandbox (internal/sandbox/fs): what a unit's commands share
// across its run, and the plan each sandboxed command carries to `flint __sandbox`, where
// cmd/flint's sandbox.FSHook applies it.

// fsRuntime is systemd's ExecRuntime for the file system: the PrivateTmp= directories,
// shared by the units of a JoinsNamespaceOf= group while one of them runs.
type fsRuntime struct {
	tmp, varTmp string
	refs        int
}

// joinsNamespace reports whether u and v share a runtime (JoinsNamespaceOf= either way).
func joinsNamespace(u, v *Unit) bool {
	return slices.Contains(u.cfg.Unit.JoinsNamespaceOf, v.Name) || slices.Contains(v.cfg.Unit.JoinsNamespaceOf, u.Name)
}

// acquireFSRuntime gives u the PrivateTmp= directories of its group, made now when none of
// the group has them (setup_tmp_dirs()); a failure is the command's 226/NAMESPACE.
func (m *Manager) acquireFSRuntime(u *Unit, ec *unit.ExecContext) error {
	if u.fsrt != nil || !ec.PrivateTmp {
		return nil
	}
	for _, v := range m.order {
		if v != u && v.fsrt != nil && joinsNamespace(u, v) {
			v.fsrt.refs++
			u.fsrt = v.fsrt
			return nil
		}
	}
	tmp, varTmp, err := sandboxfs.SetupTmpDirs(m.opt.RuntimeDir, u.Name)
	if err != nil {
		return err
	}
	u.fsrt = &fsRuntime{tmp: tmp, varTmp: varTmp, refs: 1}
	return nil
}

// releaseFSRuntime ends u's share of the runtime (the directories go with the group's last
// unit) and removes the mount point of its credentials.
func (m *Manager) releaseFSRuntime(u *Unit) {
	if rt := u.fsrt; rt != nil {
		u.fsrt = nil
		if rt.refs--; rt.refs == 0 {
			sandboxfs.RemoveTmpDirs(rt.tmp, rt.varTmp)
		}
	}
	sandboxfs.RemoveCredentials(m.opt.RuntimeDir, u.Name)
}

// fsSpec is the file system sandbox of a command of u running as uid:gid (-1: unchanged).
// The unit's RuntimeDirectory= and friends stay writable under ProtectSystem= (systemd
// binds them onto themselves).
func (m *Manager) fsSpec(u *Unit, ec *unit.ExecContext, uid, gid int) sandboxfs.Spec {
	rt := sandboxfs.Runtime{RuntimeDir: m.opt.RuntimeDir, UID: uid, GID: gid}
	if u.fsrt != nil {
		rt.TmpDir, rt.VarTmpDir = u.fsrt.tmp, u.fsrt.varTmp
	}
	s := sandboxfs.FromExec(u.Name, ec, rt)
	if s.NeedsMountNamespace() {
		for _, d := range execDirs(m.opt.Scope, ec) {
			for _, n := range d.names {
				s.ReadWritePaths = append(s.ReadWritePaths, "-"+filepath.Join(d.base, n))
			}
		}
	}
	return s
}

// sandboxFSPlan is the plan of fsSpec as JSON, nil when the command needs none.
func (m *Manager) sandboxFSPlan(u *Unit, ec *unit.ExecContext, uid, gid int) (json.RawMessage, error) {
	s := m.fsSpec(u, ec, uid, gid)
	if s.Empty() {
		return nil, nil
	}
	return json.Marshal(s)
}

// fsEnv is what the file system sandbox adds to a command's environment:
// $CREDENTIALS_DIRECTORY when the unit has credentials.
func (m *Manager) fsEnv(u *Unit, ec *unit.ExecContext) []string {
	if len(ec.Credentials) == 0 {
		return nil
	}
	return []string{"CREDENTIALS_DIRECTORY=" + sandboxfs.CredentialsDir(u.Name)}
}
