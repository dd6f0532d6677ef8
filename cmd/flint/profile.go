//go:build flintprof

package main

import (
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles, in a binary built with -tags flintprof (performance work, bench/README.md):
// FLINT_CPUPROFILE=FILE writes a CPU profile of the whole `flint run`, FLINT_MEMPROFILE=FILE
// every allocation of it (go tool pprof -sample_index=alloc_space). The returned func writes
// them out. Without the tag runtime/pprof is not linked: it brings compress/gzip's package
// initialisation to every flint command's start and keeps the runtime's memory profiling on.
func startProfiles() (stop func()) {
	var stops []func()
	if p := os.Getenv("FLINT_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f)
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if p := os.Getenv("FLINT_MEMPROFILE"); p != "" {
		runtime.MemProfileRate = 4096
		stops = append(stops, func() {
			if f, err := os.Create(p); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		})
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
