package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
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
	// A counter systemd has no data for is the largest uint64, which ParseUint takes too.
	rd, err1 := strconv.ParseUint(p["IOReadBytes"], 10, 64)
	wr, err2 := strconv.ParseUint(p["IOWriteBytes"], 10, 64)
	if err1 == nil && err2 == nil && rd != math.MaxUint64 && wr != math.MaxUint64 {
		fmt.Fprintf(w, "         IO: %s read, %s written\n", formatBytes(int(rd)), formatBytes(int(wr)))
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
	printCgroupTree(w, "             ", "", procs)
	return true
}

// printCgroupTree prints the processes in cgroup dir (relative to the unit's, "" for the
// unit's own) and then its subgroups with theirs, as systemctl's show_cgroup_by_path draws
// them: processes by pid, then each subgroup by name, the last item of a level with └─.
func printCgroupTree(w io.Writer, prefix, dir string, procs []client.Process) {
	var here []client.Process
	var subs []string
	for _, pr := range procs {
		if pr.CGroup == dir {
			here = append(here, pr)
			continue
		}
		rest := pr.CGroup
		if dir != "" {
			var ok bool
			if rest, ok = strings.CutPrefix(pr.CGroup, dir+"/"); !ok {
				continue
			}
		}
		name, _, _ := strings.Cut(rest, "/")
		if !slices.Contains(subs, name) {
			subs = append(subs, name)
		}
	}
	slices.SortFunc(here, func(a, b client.Process) int { return a.PID - b.PID })
	slices.Sort(subs)
	n := len(here) + len(subs)
	branch := func(i int) (string, string) {
		if i == n-1 {
			return glyphs().treeRight, "  "
		}
		return glyphs().treeBranch, glyphs().treeVertical
	}
	for i, pr := range here {
		b, _ := branch(i)
		fmt.Fprintf(w, "%s%s%d %s\n", prefix, b, pr.PID, unit.Printable(pr.Command))
	}
	for i, name := range subs {
		b, more := branch(len(here) + i)
		fmt.Fprintf(w, "%s%s%s\n", prefix, b, unit.Printable(name))
		sub := name
		if dir != "" {
			sub = dir + "/" + name
		}
		printCgroupTree(w, prefix+more, sub, procs)
	}
}
