// Package cgroup gives each unit a control group in systemd's layout (system.slice/foo.service,
// slices nested as a.slice/a-b.slice), under the subtree flint owns: the cgroup flint was
// started in (the cgroup namespace's root when flint is a container's PID 1; on a host, the
// cgroup of whoever started it, so that a flint under test never touches other processes'
// cgroups).
//
// Three layouts, as systemd knows them (Detect):
//
//   - unified: one cgroup2 hierarchy holds both tracking and the controllers.
//   - hybrid: a cgroup2 hierarchy without controllers (/sys/fs/cgroup/unified) tracks the
//     processes; the controllers are cgroup v1 hierarchies (/sys/fs/cgroup/memory, ...).
//   - legacy: cgroup v1 only; the named hierarchy name=systemd (else the pids one) tracks.
//
// Only hierarchies flint can write are used; where the tracking one is not writable the
// layout is None and the manager keeps its process-group tracking. Of the v1 hierarchies only
// those systemd itself manages are used (cpu, cpuacct, blkio, memory, pids): a fresh v1
// cpuset group has no CPUs, so a process could not even be placed in it.
package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Kind is the layout of the cgroup hierarchies.
type Kind int

const (
	None    Kind = iota // nothing writable: no cgroups
	Unified             // cgroup v2 only
	Hybrid              // v1 controllers, cgroup2 for tracking
	Legacy              // v1 only
)

func (k Kind) String() string {
	switch k {
	case Unified:
		return "unified"
	case Hybrid:
		return "hybrid"
	case Legacy:
		return "legacy"
	}
	return "none"
}

// Hierarchy is one mounted cgroup hierarchy as flint uses it.
type Hierarchy struct {
	Mount       string   // directory the hierarchy is mounted on
	V2          bool     // cgroup2
	Controllers []string // v1: the controllers of the mount ("name=systemd" for the named one); v2: those enabled at Base
	Base        string   // flint's own cgroup in the hierarchy, "/" or "/a/b"
}

// Dir is the absolute directory of the cgroup rel (relative to Base).
func (h *Hierarchy) Dir(rel string) string {
	return filepath.Join(h.Mount, h.Base, rel)
}

// Has reports whether the hierarchy carries controller c.
func (h *Hierarchy) Has(c string) bool { return slices.Contains(h.Controllers, c) }

// Layout is what Detect found.
type Layout struct {
	Kind     Kind
	Tracking *Hierarchy   // where a unit's processes are listed
	All      []*Hierarchy // every hierarchy a unit's processes are placed in (Tracking first)
	// Why is set when Kind is None: what kept cgroups out of use.
	Why string
}

// managedV1 are the v1 controllers flint places units in, as systemd does.
var managedV1 = []string{"cpu", "cpuacct", "blkio", "memory", "pids"}

// Detect finds the layout at the usual places: the hierarchies mounted under /sys/fs/cgroup
// and flint's cgroups from /proc/self/cgroup.
// A hierarchy whose mount shows another cgroup than its root (mountinfo's root field, as
// "/../.." inside a cgroup namespace over the host's mounts) is left out: flint's cgroup is
// not below that mount.
func Detect() *Layout {
	l := DetectAt("/sys/fs/cgroup", "/proc/self/cgroup")
	if l.Kind == None {
		return l
	}
	roots := mountRoots("/proc/self/mountinfo")
	keep := l.All[:0]
	for _, h := range l.All {
		if r, ok := roots[h.Mount]; !ok || r == "/" {
			keep = append(keep, h)
		}
	}
	l.All = keep
	if len(l.All) == 0 || l.All[0] != l.Tracking {
		return &Layout{Why: fmt.Sprintf("flint's cgroup is not below the mount at %s", l.Tracking.Mount)}
	}
	return l
}

// mountRoots maps the mount points of cgroup file systems to the cgroup mounted there
// (mountinfo's fourth field).
func mountRoots(file string) map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile(file)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		i := slices.Index(f, "-")
		if len(f) < 5 || i < 0 || i+1 >= len(f) || (f[i+1] != "cgroup" && f[i+1] != "cgroup2") {
			continue
		}
		out[f[4]] = f[3]
	}
	return out
}

// DetectAt finds the layout of the hierarchies mounted under root (a cgroup2 mount itself, or
// a directory of mounts) for the process whose /proc/PID/cgroup is selfFile. A scratch
// directory laid out as a cgroupfs with the files a kernel has (cgroup.controllers in a v2
// directory, cgroup.procs in every one) is detected as the kernel's would be.
func DetectAt(root, selfFile string) *Layout {
	self, err := readSelf(selfFile)
	if err != nil {
		return &Layout{Why: err.Error()}
	}
	var v2 *Hierarchy
	var v1 []*Hierarchy
	if exists(filepath.Join(root, "cgroup.controllers")) {
		v2 = &Hierarchy{Mount: root, V2: true}
	} else {
		ents, err := os.ReadDir(root)
		if err != nil {
			return &Layout{Why: err.Error()}
		}
		for _, e := range ents {
			if !e.IsDir() { // a symlink such as cpu -> cpu,cpuacct is the same mount again
				continue
			}
			dir := filepath.Join(root, e.Name())
			switch {
			case exists(filepath.Join(dir, "cgroup.controllers")):
				if v2 == nil {
					v2 = &Hierarchy{Mount: dir, V2: true}
				}
			case exists(filepath.Join(dir, "cgroup.procs")):
				var cs []string
				if e.Name() == "systemd" {
					cs = []string{"name=systemd"}
				} else {
					cs = strings.Split(e.Name(), ",")
				}
				v1 = append(v1, &Hierarchy{Mount: dir, Controllers: cs})
			}
		}
	}
	l := &Layout{}
	if v2 != nil {
		base, ok := self["0:"]
		if !ok {
			base = "/"
		}
		v2.Base = base
		if b, err := os.ReadFile(v2.Dir("cgroup.controllers")); err == nil {
			v2.Controllers = strings.Fields(string(b))
		}
	}
	for _, h := range v1 {
		h.Base = "/"
		for _, c := range h.Controllers {
			if b, ok := self[c]; ok {
				h.Base = b
				break
			}
		}
	}
	switch {
	case v2 != nil && len(v1) == 0:
		l.Kind, l.Tracking = Unified, v2
	case v2 != nil:
		l.Kind, l.Tracking = Hybrid, v2
	case len(v1) > 0:
		l.Kind = Legacy
		for _, want := range []string{"name=systemd", "pids"} {
			for _, h := range v1 {
				if h.Has(want) && l.Tracking == nil {
					l.Tracking = h
				}
			}
		}
		if l.Tracking == nil {
			l.Tracking = v1[0]
		}
	default:
		return &Layout{Why: "no cgroup hierarchy under " + root}
	}
	if !writable(l.Tracking.Dir("")) {
		return &Layout{Why: fmt.Sprintf("%s is not writable", l.Tracking.Dir(""))}
	}
	l.All = append(l.All, l.Tracking)
	for _, h := range v1 {
		if h == l.Tracking {
			continue
		}
		managed := false
		for _, c := range h.Controllers {
			managed = managed || slices.Contains(managedV1, c)
		}
		if managed && writable(h.Dir("")) {
			l.All = append(l.All, h)
		}
	}
	return l
}

// readSelf parses /proc/PID/cgroup: "ID:controllers:path" lines, keyed by each controller
// ("memory", "name=systemd"), and the cgroup2 line ("0::/path") under "0:".
func readSelf(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		cs, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if id == "0" && cs == "" {
			out["0:"] = path
			continue
		}
		for _, c := range strings.Split(cs, ",") {
			out[c] = path
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func writable(dir string) bool {
	return unix.Access(dir, unix.W_OK) == nil
}

// ErrNoCgroups is returned by the operations of a Group when the layout is None.
var ErrNoCgroups = errors.New("cgroups not available")

// Controller reports the hierarchy carrying controller c (v2: enabled at flint's base), or nil.
func (l *Layout) Controller(c string) *Hierarchy {
	for _, h := range l.All {
		if h.Has(c) {
			return h
		}
	}
	return nil
}

// Describe is a one-line summary for `status` and logs.
func (l *Layout) Describe() string {
	if l.Kind == None {
		return "no cgroups (" + l.Why + "): processes tracked by session"
	}
	var cs []string
	for _, h := range l.All {
		cs = append(cs, h.Controllers...)
	}
	return fmt.Sprintf("%s cgroup hierarchy, tracking in %s, controllers %s", l.Kind, l.Tracking.Dir(""), strings.Join(cs, " "))
}

// Sub is the layout with flint's base moved down to rel in every hierarchy (tests give a
// flint a subtree of their own this way).
func (l *Layout) Sub(rel string) *Layout {
	if l.Kind == None {
		return l
	}
	n := &Layout{Kind: l.Kind, Why: l.Why}
	for _, h := range l.All {
		c := *h
		c.Base = filepath.Join(h.Base, rel)
		n.All = append(n.All, &c)
		if h == l.Tracking {
			n.Tracking = n.All[len(n.All)-1]
		}
	}
	return n
}
