// Package fs sets up the file system, namespace and credential part of a unit's sandbox as
// systemd 252 does (src/core/namespace.c, the namespace steps of exec_child in execute.c):
// ProtectSystem=, ProtectHome=, PrivateTmp=, PrivateDevices=, the *Paths= directives,
// BindPaths=, TemporaryFileSystem=, RootDirectory=, MountAPIVFS=, ProtectProc=, ProcSubset=,
// the mount part of ProtectKernel*= and ProtectControlGroups=, ProtectHostname=,
// PrivateMounts=, MountFlags=, PrivateNetwork=, PrivateIPC=, the namespace paths,
// JoinsNamespaceOf= and the credentials directory.
//
// Apply runs in the child between fork and exec, as root, before the uid switch, on the
// goroutine that will call execve: namespaces belong to threads, so Apply locks the
// goroutine to its thread and the caller must exec from that goroutine. Nothing it does is
// visible to the host's mount namespace: the first mount is "/" made a recursive slave.
//
// What the manager does around a child lives here too: SetupTmpDirs (the PrivateTmp=
// directories a group of units joined by JoinsNamespaceOf= share) and NewNSStore (the
// network/IPC namespace such a group shares). PrivateUsers= is internal/spawn's UserNS:
// a multi-threaded Go process cannot unshare a user namespace, the child is cloned into it.
package fs

import (
	"errors"
	"fmt"
)

// Spec is what the child sets up. The zero value sets up nothing. Paths are absolute; the
// access lists keep systemd's prefixes: "-" ignores a missing path, "+" is relative to
// RootDirectory.
type Spec struct {
	Unit string // the unit name: /run/credentials/<Unit>

	// RuntimeDir is the manager's runtime directory ("": DefaultRuntimeDir), where the
	// child makes what the sandbox is built from on the host: the assembly directory
	// (unit-root), the inaccessible nodes (inaccessible/), the mount point of the
	// credentials (credentials/<Unit>) and EmptyDir's directory (empty).
	RuntimeDir string

	RootDirectory string
	RootImage     string // refused: flint does not dissect images

	ProtectSystem string // "", "no", "yes", "full", "strict"
	ProtectHome   string // "", "no", "yes", "read-only", "tmpfs"

	// TmpDir and VarTmpDir are the PrivateTmp= directories made by SetupTmpDirs (their "tmp"
	// subdirectory is what the unit sees), or EmptyDir(RuntimeDir) for a read-only empty /tmp.
	TmpDir, VarTmpDir string

	PrivateDevices bool

	ReadWritePaths, ReadOnlyPaths, InaccessiblePaths, ExecPaths, NoExecPaths []string
	// EmptyDirectories get a read-only empty tmpfs (DynamicUser='s /var/lib/private and
	// friends).
	EmptyDirectories []string
	Binds            []Bind
	TemporaryFS      []TemporaryFS

	// MountAPIVFS is the effective value: MountAPIVFS= when set, else whether
	// RootDirectory= is.
	MountAPIVFS           bool
	ProtectProc           string // "", "default", "noaccess", "invisible", "ptraceable"
	ProcSubset            string // "", "all", "pid"
	ProtectKernelTunables bool
	ProtectKernelModules  bool
	ProtectKernelLogs     bool
	ProtectControlGroups  bool
	ProtectHostname       bool
	// PrivateMounts is the effective value: PrivateMounts= when set, else whether the unit
	// has a network namespace (PrivateNetwork= or NetworkNamespacePath=), as systemd.
	PrivateMounts bool
	MountFlags    string // "", "shared", "slave", "private": / after set-up (default shared)
	// MountNoSUID marks every mount of the sandbox nosuid (systemd does so for
	// NoNewPrivileges=yes).
	MountNoSUID bool
	// InsistOnSandbox is true when running without the mount namespace would change what the
	// unit sees in a way it cannot be run with (systemd's insist_on_sandboxing(); also set
	// for DynamicUser=). Set by Plan when Spec is built with it; see NeedsInsist.
	DynamicUser bool

	PrivateNetwork       bool
	NetworkNamespacePath string
	PrivateIPC           bool
	IPCNamespacePath     string
	// NetNSStore and IPCNSStore are the child's fds of a NewNSStore pair (-1 or 0 with
	// the zero Spec: none): the namespace a JoinsNamespaceOf= group shares.
	NetNSStore, IPCNSStore NSStore

	// ProcMountFD, when > 0, is the child's fd of a NewProcMount: attached where the proc
	// instance would be mounted (PrivateUsers=, userns.go).
	ProcMountFD int
	// DevMountFD, when > 0, is the child's fd of a NewDevMount: PrivateDevices='s /dev.
	DevMountFD int
	// InNetNS and InIPCNS: the child was cloned in its network (IPC) namespace, which
	// the manager gave it (GroupNS); MqueueMountFD, when > 0, is the child's fd of that
	// IPC namespace's NewMqueueMount.
	InNetNS, InIPCNS bool
	MqueueMountFD    int

	// Credentials: LoadCredential=/SetCredential= in the order written.
	Credentials []Credential
	// CredentialsUID/GID own the credentials directory and its files (the unit's user).
	CredentialsUID, CredentialsGID int
	// ManagerCredentialsDir is the manager's own $CREDENTIALS_DIRECTORY, where a
	// LoadCredential= with a relative path is looked up ("" for none).
	ManagerCredentialsDir string

	// NotifySocket is bound read-only into a RootDirectory= (the notify socket path).
	NotifySocket string

	// Warn receives what systemd logs as warnings and continues (a namespace the kernel or
	// the container refuses). Nil discards them.
	Warn func(string) `json:"-"`
}

// Bind is one BindPaths=/BindReadOnlyPaths= entry.
type Bind struct {
	Source, Destination string
	ReadOnly            bool
	Recursive           bool // "rbind" (the default) rather than "norbind"
	IgnoreENOENT        bool // the "-" prefix on the source
}

// TemporaryFS is one TemporaryFileSystem= entry: a path and its mount options.
type TemporaryFS struct {
	Path, Options string
}

// Credential is one LoadCredential= (Path set, or an ID alone), SetCredential= (Data set,
// Set true) or one of their Encrypted forms (refused: no TPM2 or host key here).
type Credential struct {
	ID        string
	Path      string
	Data      []byte
	Set       bool
	Encrypted bool
}

// DefaultRuntimeDir is the system manager's runtime directory (a Spec's RuntimeDir when it
// names none).
const DefaultRuntimeDir = "/run/flint"

func orDefault(runtimeDir string) string {
	if runtimeDir == "" {
		return DefaultRuntimeDir
	}
	return runtimeDir
}

// EmptyDir is the source for a PrivateTmp= directory that could not be made, in the manager's
// runtime directory runtimeDir ("": DefaultRuntimeDir): a read-only empty directory
// (systemd's /run/systemd/empty).
func EmptyDir(runtimeDir string) string { return orDefault(runtimeDir) + "/empty" }

// stagingRoot is where the sandbox is assembled when there is no RootDirectory= (systemd:
// /run/systemd/unit-root), then moved onto "/".
func (s *Spec) stagingRoot() string { return orDefault(s.RuntimeDir) + "/unit-root" }

// inaccessibleDir holds the mode-0000 nodes an InaccessiblePaths= entry is covered with
// (systemd: /run/systemd/inaccessible).
func (s *Spec) inaccessibleDir() string { return orDefault(s.RuntimeDir) + "/inaccessible" }

// credentialsMount is the host's mount point of the unit's credentials: the child mounts
// them there in its own mount namespace and binds them onto /run/credentials/<Unit> of the
// sandbox (systemd 252 mounts them at /run/credentials/<Unit> of the host itself).
func (s *Spec) credentialsMount() string { return CredentialsMount(s.RuntimeDir, s.Unit) }

// CredentialsMount is credentialsMount of unit in the runtime directory runtimeDir.
func CredentialsMount(runtimeDir, unit string) string {
	return orDefault(runtimeDir) + "/credentials/" + unit
}

// Exit statuses of systemd's exec_child (src/basic/exit-status.h) for the failures here.
const (
	StatusNamespace   = 226
	StatusNetwork     = 225
	StatusUser        = 217
	StatusCredentials = 243
	StatusChroot      = 210
)

// Error is a failure of Apply: the exit status the child should end with, as systemd's.
type Error struct {
	Status int
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fail(status int, format string, a ...any) error {
	return &Error{Status: status, Err: fmt.Errorf(format, a...)}
}

// ExitStatus is the status an error of Apply ends the child with (226/NAMESPACE for one
// that is not an *Error).
func ExitStatus(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return StatusNamespace
}

// NeedsMountNamespace is systemd's exec_needs_mount_namespace(): whether s asks for a mount
// namespace of the unit's own. A RootDirectory= alone (MountAPIVFS=no) is a chroot(), and
// so is one whose mount namespace is refused. Unlike systemd, credentials need one too:
// flint makes the credentials directory inside the unit's namespace, never on the host.
func (s *Spec) NeedsMountNamespace() bool {
	return s.RootImage != "" ||
		len(s.ReadWritePaths) > 0 || len(s.ReadOnlyPaths) > 0 || len(s.InaccessiblePaths) > 0 ||
		len(s.ExecPaths) > 0 || len(s.NoExecPaths) > 0 || len(s.EmptyDirectories) > 0 ||
		len(s.Binds) > 0 || len(s.TemporaryFS) > 0 ||
		s.TmpDir != "" || s.VarTmpDir != "" ||
		s.PrivateDevices || s.PrivateMounts || s.PrivateIPC ||
		on(s.ProtectSystem) || on(s.ProtectHome) ||
		s.ProtectKernelTunables || s.ProtectKernelModules || s.ProtectKernelLogs ||
		s.ProtectControlGroups ||
		(s.MountFlags != "" && s.MountFlags != "shared") ||
		(s.ProtectProc != "" && s.ProtectProc != "default") ||
		(s.ProcSubset != "" && s.ProcSubset != "all") ||
		(s.RootDirectory != "" && s.MountAPIVFS) || len(s.Credentials) > 0
}

// on reports whether a ProtectSystem=/ProtectHome= value asks for something.
func on(v string) bool { return v != "" && v != "no" }

// insist is systemd's insist_on_sandboxing(): a mount namespace the kernel refuses is
// tolerated only when the unit asked for nothing that changes what it sees beyond
// protection (no root directory, no bind mounts other than onto themselves, no
// TemporaryFileSystem=, not DynamicUser=).
func (s *Spec) insist() bool {
	if len(s.TemporaryFS) > 0 || s.RootDirectory != "" || s.RootImage != "" || s.DynamicUser {
		return true
	}
	for _, b := range s.Binds {
		if b.Source != b.Destination {
			return true
		}
	}
	return false
}
