package manager

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"

	sandboxfs "github.com/flint-init/flint/internal/sandbox/fs"
	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
	"golang.org/x/sys/unix"
)

// The file system half of the sandbox (internal/sandbox/fs): what a unit's commands share
// across its run, and the plan each sandboxed command carries to `flint __sandbox`, where
// cmd/flint's sandbox.FSHook applies it.

// fsRuntime is systemd's ExecRuntime: the PrivateTmp= directories and the stores of the
// network and IPC namespaces (sandboxfs.NewNSStore), shared by the units of a
// JoinsNamespaceOf= group while one of them runs.
type fsRuntime struct {
	tmp, varTmp  string
	netns, ipcns [2]*os.File // read and write ends; nil: none
	refs         int
}

// needsRuntime reports whether ec's commands share anything through an fsRuntime.
func needsRuntime(ec *unit.ExecContext) bool {
	return ec.PrivateTmp || needsNetNS(ec) || needsIPCNS(ec)
}

func needsNetNS(ec *unit.ExecContext) bool { return ec.PrivateNetwork || ec.NetworkNamespacePath != "" }
func needsIPCNS(ec *unit.ExecContext) bool { return ec.PrivateIPC || ec.IPCNamespacePath != "" }

// addStores gives rt the namespace stores ec needs and it lacks yet.
func (rt *fsRuntime) addStores(ec *unit.ExecContext) error {
	for _, st := range []struct {
		need bool
		f    *[2]*os.File
	}{{needsNetNS(ec), &rt.netns}, {needsIPCNS(ec), &rt.ipcns}} {
		if !st.need || st.f[0] != nil {
			continue
		}
		r, w, err := sandboxfs.NewNSStore()
		if err != nil {
			return err
		}
		*st.f = [2]*os.File{r, w}
	}
	return nil
}

func (rt *fsRuntime) close() {
	for _, f := range []*os.File{rt.netns[0], rt.netns[1], rt.ipcns[0], rt.ipcns[1]} {
		if f != nil {
			f.Close()
		}
	}
	if rt.tmp != "" || rt.varTmp != "" {
		sandboxfs.RemoveTmpDirs(rt.tmp, rt.varTmp)
	}
}

// joinsNamespace reports whether u and v share a runtime (JoinsNamespaceOf= either way).
func joinsNamespace(u, v *Unit) bool {
	return slices.Contains(u.cfg.Unit.JoinsNamespaceOf, v.Name) || slices.Contains(v.cfg.Unit.JoinsNamespaceOf, u.Name)
}

// acquireFSRuntime gives u the runtime of its group, made now when none of the group has
// one: the PrivateTmp= directories (setup_tmp_dirs()) and the namespace stores. A
// runtime joined gets the stores u needs and it lacks. A failure is the command's
// 226/NAMESPACE.
func (m *Manager) acquireFSRuntime(u *Unit, ec *unit.ExecContext) error {
	if u.mo().fsrt != nil {
		return u.mo().fsrt.addStores(ec)
	}
	if !needsRuntime(ec) {
		return nil
	}
	for _, v := range m.order {
		if v != u && v.mo().fsrt != nil && joinsNamespace(u, v) {
			v.mo().fsrt.refs++
			u.wmore().fsrt = v.mo().fsrt
			return u.mo().fsrt.addStores(ec)
		}
	}
	rt := &fsRuntime{refs: 1}
	if ec.PrivateTmp {
		var err error
		if rt.tmp, rt.varTmp, err = sandboxfs.SetupTmpDirs(m.opt.RuntimeDir, u.Name); err != nil {
			return err
		}
	}
	if err := rt.addStores(ec); err != nil {
		rt.close()
		return err
	}
	u.wmore().fsrt = rt
	return nil
}

// releaseFSRuntime ends u's share of the runtime (the directories go with the group's last
// unit) and removes the mount point of its credentials.
func (m *Manager) releaseFSRuntime(u *Unit) {
	if rt := u.mo().fsrt; rt != nil {
		u.wmore().fsrt = nil
		if rt.refs--; rt.refs == 0 {
			rt.close()
		}
	}
	sandboxfs.RemoveCredentials(m.opt.RuntimeDir, u.Name)
}

// fsSpec is the file system sandbox of a command of u running as uid:gid (-1: unchanged),
// to be started as cfg (nil: no namespace stores; else they are added to its
// HelperFiles). The unit's RuntimeDirectory= and friends stay writable under
// ProtectSystem= (systemd binds them onto themselves).
func (m *Manager) fsSpec(u *Unit, ec *unit.ExecContext, uid, gid int, cfg *spawn.Config) sandboxfs.Spec {
	rt := sandboxfs.Runtime{RuntimeDir: m.opt.RuntimeDir, UID: uid, GID: gid}
	if u.mo().fsrt != nil {
		rt.TmpDir, rt.VarTmpDir = u.mo().fsrt.tmp, u.mo().fsrt.varTmp
		if cfg != nil {
			store := func(f [2]*os.File, need bool) sandboxfs.NSStore {
				if f[0] == nil || !need {
					return sandboxfs.NSStore{}
				}
				n := len(cfg.HelperFiles)
				cfg.HelperFiles = append(cfg.HelperFiles, f[0], f[1])
				return sandboxfs.NSStore{R: spawn.HelperFD(cfg, n), W: spawn.HelperFD(cfg, n+1)}
			}
			rt.NetNSStore = store(u.mo().fsrt.netns, needsNetNS(ec))
			rt.IPCNSStore = store(u.mo().fsrt.ipcns, needsIPCNS(ec))
		}
	}
	s := sandboxfs.FromExec(u.Name, ec, rt)
	if ec.PrivateUsers && cfg != nil && s.NeedsMountNamespace() && os.Geteuid() == 0 {
		// the child cannot mount proc nor make device nodes inside its user namespace
		// (sandbox/fs's userns.go); without these mounts it falls back to the host's /proc
		// and to bind mounts of the host's nodes, as where the kernel refuses
		add := func(f *os.File, err error) int {
			if err != nil {
				return 0
			}
			cfg.HelperFiles = append(cfg.HelperFiles, f)
			m.spawnFiles = append(m.spawnFiles, f)
			return spawn.HelperFD(cfg, len(cfg.HelperFiles)-1)
		}
		if s.NeedsProcMount() {
			s.ProcMountFD = add(sandboxfs.NewProcMount(&s))
		}
		if s.PrivateDevices {
			s.DevMountFD = add(sandboxfs.NewDevMount())
		}
		m.joinGroupNS(u, ec, cfg, &s)
	}
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
func (m *Manager) sandboxFSPlan(u *Unit, ec *unit.ExecContext, uid, gid int, cfg *spawn.Config) (json.RawMessage, error) {
	s := m.fsSpec(u, ec, uid, gid, cfg)
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

// closeSpawnFiles closes the files made for one spawn (a proc mount) once it started, or
// at the next one when it did not get that far.
func (m *Manager) closeSpawnFiles() {
	for _, f := range m.spawnFiles {
		f.Close()
	}
	m.spawnFiles = m.spawnFiles[:0]
}

// joinGroupNS gives a command with PrivateUsers= the network and IPC namespaces of its
// group (or of NetworkNamespacePath=, IPCNamespacePath=) to be cloned in
// (spawn.Config.JoinNS): in its user namespace it could neither join them nor make ones
// the group's other units could join. Where the manager cannot, the child tries itself.
func (m *Manager) joinGroupNS(u *Unit, ec *unit.ExecContext, cfg *spawn.Config, s *sandboxfs.Spec) {
	if u.mo().fsrt == nil {
		return
	}
	if needsNetNS(ec) && u.mo().fsrt.netns[0] != nil {
		if f, err := sandboxfs.GroupNS(u.mo().fsrt.netns[0], u.mo().fsrt.netns[1], ec.NetworkNamespacePath, unix.CLONE_NEWNET); err == nil {
			cfg.JoinNS = append(cfg.JoinNS, f)
			m.spawnFiles = append(m.spawnFiles, f)
			s.InNetNS = true
		}
	}
	if needsIPCNS(ec) && u.mo().fsrt.ipcns[0] != nil {
		if f, err := sandboxfs.GroupNS(u.mo().fsrt.ipcns[0], u.mo().fsrt.ipcns[1], ec.IPCNamespacePath, unix.CLONE_NEWIPC); err == nil {
			cfg.JoinNS = append(cfg.JoinNS, f)
			m.spawnFiles = append(m.spawnFiles, f)
			s.InIPCNS = true
			if s.PrivateIPC {
				// its /dev/mqueue, which the child may not mount in its user namespace
				if mq, err := sandboxfs.NewMqueueMount(f); err == nil {
					cfg.HelperFiles = append(cfg.HelperFiles, mq)
					m.spawnFiles = append(m.spawnFiles, mq)
					s.MqueueMountFD = spawn.HelperFD(cfg, len(cfg.HelperFiles)-1)
				}
			}
		}
	}
}
