// Package sandbox enforces systemd.exec(5)'s privilege and system call directives
// (CapabilityBoundingSet=, AmbientCapabilities=, SecureBits=, NoNewPrivileges=,
// Personality=, SystemCallFilter= and the other seccomp-based settings, the security labels
// of lsm.go) in a process about to exec a service, with systemd 252's semantics.
// KeyringMode= is internal/spawn's (keyring.go): every spawn path sets it up.
//
// The manager compiles a unit's settings into a Spec (spec.go) and sends it to the sandboxed
// spawn path: flint re-executed as `flint __sandbox FD` (internal/spawn), which runs the
// ordinary spawn program and, at the points systemd's exec_child does, calls Apply (apply.go)
// for each Stage. File system and namespace set-up is a library of its own (internal/sandbox/fs),
// called through FSHook at StageNamespace.
//
//go:generate go run gen_syscalls.go
package sandbox
