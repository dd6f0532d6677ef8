package main

import (
	"encoding/json"
	"errors"
	"syscall"

	"github.com/flint-init/flint/internal/sandbox"
	sandboxfs "github.com/flint-init/flint/internal/sandbox/fs"
)

// The file system half of the sandbox (internal/sandbox/fs), applied by `flint __sandbox`
// at sandbox.StageNamespace.
func init() { sandbox.FSHook = applyFS }

// applyFS applies the plan the manager compiled (internal/manager's sandbox_fs.go). What
// systemd would log as a warning and go on (a namespace the container refuses) is dropped:
// the child has no log of its own.
func applyFS(plan json.RawMessage, uid, gid int) *sandbox.StageError {
	err := sandboxfs.ApplyJSON(plan, nil)
	if err == nil {
		return nil
	}
	errno := syscall.EINVAL
	var e syscall.Errno
	if errors.As(err, &e) {
		errno = e
	}
	return &sandbox.StageError{Status: sandboxfs.ExitStatus(err), Step: "namespace", Errno: errno}
}
