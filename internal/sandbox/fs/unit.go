package fs

import (
	"encoding/json"
	"os"

	"github.com/flint-init/flint/unit"
)

// Runtime is what the manager holds for a unit (or its JoinsNamespaceOf= group) across
// its processes and gives each child: the PrivateTmp= directories (SetupTmpDirs), the
// namespace stores (as the child's fd numbers) and the user the commands run as.
type Runtime struct {
	RuntimeDir             string // the manager's (Spec.RuntimeDir)
	TmpDir, VarTmpDir      string
	NetNSStore, IPCNSStore NSStore
	UID, GID               int
	ManagerCredentialsDir  string
	NotifySocket           string
}

// FromExec is the Spec of unit name's ExecContext c, as systemd's exec_child derives its
// namespace parameters: effective PrivateMounts= and MountAPIVFS=, nosuid mounts for
// NoNewPrivileges=, RootImage= passed on for Apply to refuse.
func FromExec(name string, c *unit.ExecContext, rt Runtime) Spec {
	s := Spec{
		Unit:                  name,
		RuntimeDir:            rt.RuntimeDir,
		RootDirectory:         c.RootDirectory,
		RootImage:             c.NotEnforcedValues["RootImage"],
		ProtectSystem:         c.ProtectSystem,
		ProtectHome:           c.ProtectHome,
		PrivateDevices:        c.PrivateDevices,
		ReadWritePaths:        c.ReadWritePaths,
		ReadOnlyPaths:         c.ReadOnlyPaths,
		InaccessiblePaths:     c.InaccessiblePaths,
		ExecPaths:             c.ExecPaths,
		NoExecPaths:           c.NoExecPaths,
		ProtectProc:           c.ProtectProc,
		ProcSubset:            c.ProcSubset,
		ProtectKernelTunables: c.ProtectKernelTunables,
		ProtectKernelModules:  c.ProtectKernelModules,
		ProtectKernelLogs:     c.ProtectKernelLogs,
		ProtectControlGroups:  c.ProtectControlGroups,
		ProtectHostname:       c.ProtectHostname,
		MountFlags:            c.MountFlags,
		MountNoSUID:           c.NoNewPrivileges,
		DynamicUser:           c.DynamicUser,
		PrivateNetwork:        c.PrivateNetwork,
		NetworkNamespacePath:  c.NetworkNamespacePath,
		PrivateIPC:            c.PrivateIPC,
		IPCNamespacePath:      c.IPCNamespacePath,
		NetNSStore:            rt.NetNSStore,
		IPCNSStore:            rt.IPCNSStore,
		CredentialsUID:        rt.UID,
		CredentialsGID:        rt.GID,
		ManagerCredentialsDir: rt.ManagerCredentialsDir,
		NotifySocket:          rt.NotifySocket,
	}
	if c.PrivateTmp {
		s.TmpDir, s.VarTmpDir = rt.TmpDir, rt.VarTmpDir
	}
	s.PrivateMounts = c.PrivateMounts
	if !c.PrivateMountsSet {
		s.PrivateMounts = c.PrivateNetwork || c.NetworkNamespacePath != ""
	}
	s.MountAPIVFS = c.MountAPIVFS
	if !c.MountAPIVFSSet {
		s.MountAPIVFS = c.RootDirectory != "" || s.RootImage != ""
	}
	for _, b := range c.BindPaths {
		s.Binds = append(s.Binds, Bind{Source: b.Source, Destination: b.Destination, ReadOnly: b.ReadOnly,
			Recursive: b.Recursive, IgnoreENOENT: b.IgnoreENOENT})
	}
	for _, t := range c.TemporaryFileSystem {
		s.TemporaryFS = append(s.TemporaryFS, TemporaryFS{Path: t.Path, Options: t.Options})
	}
	for _, cr := range c.Credentials {
		s.Credentials = append(s.Credentials, Credential{ID: cr.ID, Path: cr.Path, Data: []byte(cr.Data), Set: cr.Set, Encrypted: cr.Encrypted})
	}
	if s.ManagerCredentialsDir == "" {
		s.ManagerCredentialsDir = os.Getenv("CREDENTIALS_DIRECTORY")
	}
	return s
}

// Empty reports whether s asks for nothing: the unit can keep the fast spawn path.
func (s *Spec) Empty() bool {
	return !s.NeedsMountNamespace() && s.RootDirectory == "" && !s.PrivateNetwork &&
		s.NetworkNamespacePath == "" && !s.PrivateIPC && s.IPCNamespacePath == "" && !s.ProtectHostname
}

// NeedsTmpDirs reports whether the unit's commands need SetupTmpDirs' directories.
func NeedsTmpDirs(c *unit.ExecContext) bool { return c.PrivateTmp }

// ApplyJSON is Apply for a Spec marshalled with encoding/json (the sandboxed spawn path
// carries it opaque); warn (nil: discard) gets what systemd logs as warnings and
// continues. A failure is an *Error (ExitStatus).
func ApplyJSON(raw []byte, warn func(string)) error {
	var s Spec
	if err := json.Unmarshal(raw, &s); err != nil {
		return fail(StatusNamespace, "sandbox file system spec: %v", err)
	}
	s.Warn = warn
	return Apply(&s)
}

// Env is what Apply's spec adds to the command's environment: $CREDENTIALS_DIRECTORY.
func (s *Spec) Env() []string {
	if len(s.Credentials) == 0 {
		return nil
	}
	return []string{"CREDENTIALS_DIRECTORY=" + CredentialsDir(s.Unit)}
}

// RemoveCredentials removes CredentialsMount(runtimeDir, name), the empty mount point Apply
// leaves on the host, when the unit is stopped (systemd's exec_context_destroy_credentials()).
func RemoveCredentials(runtimeDir, name string) {
	_ = os.Remove(CredentialsMount(runtimeDir, name))
}
