package main

// spawnShimVerb is argv[1] of flint re-executing itself to become a service process (see
// internal/spawn). It is not a user verb.
const spawnShimVerb = "__spawn"

// runSpawnShim is replaced by internal/spawn's shim entry point.
func runSpawnShim(args []string) int {
	return 127
}
