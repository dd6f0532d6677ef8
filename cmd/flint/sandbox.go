package main

import (
	"github.com/flint-init/flint/internal/sandbox"
	"github.com/flint-init/flint/internal/spawn"
)

// runSandboxShim is the sandboxed spawn helper (`flint __sandbox FD`, see internal/spawn's
// sandbox.go): the spawn program with internal/sandbox's stages. It returns only when the
// service's execve could not happen, with systemd's exit status for the failing step.
func runSandboxShim(args []string) int {
	return spawn.SandboxMain(args, sandbox.Hook)
}

// sandboxShimVerb is argv[1] of the sandboxed spawn helper; not a user verb.
const sandboxShimVerb = spawn.SandboxVerb
