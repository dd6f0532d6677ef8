package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/unit"
)

// printCgroup prints the lines systemctl 252 prints from a unit's cgroup — Tasks: with its
// limit, Memory: with the limits set, CPU:, and CGroup: with the group's processes — and
// reports whether the unit has a cgroup (else the caller prints the processes flint tracks
// by session).
func printCgroup(w io.Writer, p map[string]string, procs []client.Process) bool {
	cg := p["ControlGroup"]
	if cg == "" {
		return false
	}
	if n, err := strconv.ParseUint(p["TasksCurrent"], 10, 64); err == nil {
		fmt.Fprintf(w, "      Tasks: %d", n)
		if lim, err := strconv.ParseUint(p["TasksMax"], 10, 64); err == nil {
			fmt.Fprintf(w, " (limit: %d)", lim)
		}
		fmt.Fprintln(w)
	}
	if n, err := strconv.ParseUint(p["MemoryCurrent"], 10, 64); err == nil {
		fmt.Fprintf(w, "     Memory: %s", formatBytes(int(n)))
		var limits []string
		for _, l := range []struct{ prop, label string }{{"MemoryMin", "min"}, {"MemoryLow", "low"},
			{"MemoryHigh", "high"}, {"MemoryMax", "max"}, {"MemorySwapMax", "swap max"}, {"MemoryLimit", "limit"},
			{"MemoryAvailable", "available"}} {
			v, err := strconv.ParseUint(p[l.prop], 10, 64)
			if err != nil || v == 0 && (l.prop == "MemoryMin" || l.prop == "MemoryLow") {
				continue // infinity, or no protection
			}
			limits = append(limits, l.label+": "+formatBytes(int(v)))
		}
		if len(limits) > 0 {
			fmt.Fprintf(w, " (")
			for i, l := range limits {
				if i > 0 {
					fmt.Fprint(w, " ")
				}
				fmt.Fprint(w, l)
			}
			fmt.Fprint(w, ")")
		}
		fmt.Fprintln(w)
	}
	if n, err := strconv.ParseUint(p["CPUUsageNSec"], 10, 64); err == nil {
		d := time.Duration(n).Truncate(time.Microsecond)
		fmt.Fprintf(w, "        CPU: %s\n", unit.FormatTimespanAccuracy(d, time.Millisecond))
	}
	fmt.Fprintf(w, "     CGroup: %s\n", unit.Printable(cg))
	sorted := slices.Clone(procs)
	slices.SortFunc(sorted, func(a, b client.Process) int { return a.PID - b.PID })
	for i, pr := range sorted {
		pre := "             ├─"
		if i == len(sorted)-1 {
			pre = "             └─"
		}
		fmt.Fprintf(w, "%s%d %s\n", pre, pr.PID, unit.Printable(pr.Command))
	}
	return true
}
