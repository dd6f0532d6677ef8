package cgroup

import (
	"path"
	"strings"
)

// SlicePath is the cgroup of a slice relative to flint's root, as systemd nests them:
// "-.slice" is the root itself, "a-b-c.slice" is "a.slice/a-b.slice/a-b-c.slice". An invalid
// slice name (empty parts, no .slice suffix) gives "" and false.
func SlicePath(slice string) (string, bool) {
	if slice == "-.slice" {
		return "", true
	}
	stem, ok := strings.CutSuffix(slice, ".slice")
	if !ok || stem == "" || strings.HasPrefix(stem, "-") || strings.HasSuffix(stem, "-") || strings.Contains(stem, "--") {
		return "", false
	}
	var parts []string
	for i := 0; i < len(stem); i++ {
		if stem[i] == '-' {
			parts = append(parts, Escape(stem[:i]+".slice"))
		}
	}
	parts = append(parts, Escape(slice))
	return strings.Join(parts, "/"), true
}

// SliceParent is the slice a slice is in: "a-b.slice" is in "a.slice", a top-level slice and
// "-.slice" are in "-.slice" ("" for "-.slice" itself).
func SliceParent(slice string) string {
	if slice == "-.slice" {
		return ""
	}
	stem := strings.TrimSuffix(slice, ".slice")
	if i := strings.LastIndexByte(stem, '-'); i > 0 {
		return stem[:i] + ".slice"
	}
	return "-.slice"
}

// UnitPath is the cgroup of a unit in a slice, relative to flint's root:
// UnitPath("system.slice", "foo.service") is "system.slice/foo.service".
func UnitPath(slice, unit string) (string, bool) {
	sp, ok := SlicePath(slice)
	if !ok {
		return "", false
	}
	return path.Join(sp, Escape(unit)), true
}

// v1Files and the controller names make systemd's cg_escape: a name that could be taken for
// a cgroupfs file of its own gets a '_' in front.
var reservedNames = []string{"notify_on_release", "release_agent", "tasks"}

var controllerNames = []string{"cpu", "cpuacct", "cpuset", "io", "blkio", "memory", "devices", "pids",
	"freezer", "net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc", "cgroup"}

// Escape is systemd's cg_escape: "_" before a name starting with '_' or '.', one of the
// files every v1 group has, or one starting with a controller's name and a dot
// ("cpu.service" -> "_cpu.service").
func Escape(name string) string {
	if name == "" || name[0] == '_' || name[0] == '.' {
		return "_" + name
	}
	for _, r := range reservedNames {
		if name == r {
			return "_" + name
		}
	}
	if dot := strings.IndexByte(name, '.'); dot > 0 {
		for _, c := range controllerNames {
			if name[:dot] == c {
				return "_" + name
			}
		}
	}
	return name
}
