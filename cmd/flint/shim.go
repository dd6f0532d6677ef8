package main

import "github.com/flint-init/flint/internal/spawn"

// spawnShimVerb is argv[1] of flint re-executing itself to become a service process (see
// internal/spawn). It is not a user verb.
const spawnShimVerb = spawn.ShimVerb

// runSpawnShim is the portable spawn shim; it returns only when the service's execve could
// not happen, with systemd's exit status for the failing step.
func runSpawnShim(args []string) int {
	return spawn.ShimMain(args)
}
