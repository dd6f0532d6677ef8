//go:build flintprof

package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
)

// startProfiles, in a binary built with -tags flintprof (performance work, bench/README.md):
// FLINT_CPUPROFILE=FILE writes a CPU profile of the whole `flint run`, FLINT_MEMPROFILE=FILE
// every allocation of it (go tool pprof -sample_index=alloc_space). The returned func writes
// them out. FLINT_HEAPPROFILE=FILE writes the live heap (after a GC) to FILE at each SIGUSR2,
// for the memory a running manager keeps per unit, and the runtime's MemStats to FILE.memstats. Without the tag runtime/pprof is not linked: it brings compress/gzip's package
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
	heap, window := os.Getenv("FLINT_HEAPPROFILE"), os.Getenv("FLINT_CPUPROFILE_USR2")
	if heap != "" || window != "" {
		if heap != "" && runtime.MemProfileRate > 4096 {
			runtime.MemProfileRate = 4096
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGUSR2)
		go func() {
			var cpu *os.File
			for range sig {
				if heap != "" {
					runtime.GC()
					if f, err := os.Create(heap); err == nil {
						pprof.Lookup("heap").WriteTo(f, 0)
						f.Close()
					}
					writeMemStats(heap + ".memstats")
				}
				switch {
				case window == "":
				case cpu == nil:
					if f, err := os.Create(window); err == nil && pprof.StartCPUProfile(f) == nil {
						cpu = f
					}
				default:
					pprof.StopCPUProfile()
					cpu.Close()
					cpu = nil
				}
			}
		}()
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

// writeMemStats writes the runtime's view of its memory to p, one "Name value" a line: the
// live heap and what the runtime keeps beside it (free spans not returned, stacks, metadata),
// all of which RSS counts.
func writeMemStats(p string) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f, err := os.Create(p)
	if err != nil {
		return
	}
	defer f.Close()
	for _, kv := range []struct {
		name string
		v    uint64
	}{{"HeapAlloc", ms.HeapAlloc}, {"HeapInuse", ms.HeapInuse}, {"HeapIdle", ms.HeapIdle},
		{"HeapReleased", ms.HeapReleased}, {"StackInuse", ms.StackInuse}, {"MSpanInuse", ms.MSpanInuse},
		{"GCSys", ms.GCSys}, {"OtherSys", ms.OtherSys}, {"BuckHashSys", ms.BuckHashSys}, {"Sys", ms.Sys},
		{"NextGC", ms.NextGC}, {"NumGC", uint64(ms.NumGC)}} {
		fmt.Fprintf(f, "%s %d\n", kv.name, kv.v)
	}
}
