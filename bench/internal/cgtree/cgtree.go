// Package cgtree gives a flint under benchmark a cgroup subtree of its own in every
// hierarchy: flint uses cgroups only where its cgroup is its own, so that its services then
// get system.slice/NAME below the subtree.
package cgtree

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/flint-init/flint/internal/cgroup"
)

// Tree is a cgroup subtree made for one manager.
type Tree struct{ top *cgroup.Group }

// New makes the subtree PREFIX-PID-NANOS in every hierarchy of the benchmark's own cgroup
// layout. It fails where there are no cgroups or the subtree cannot be made.
func New(prefix string) (*Tree, error) {
	l := cgroup.Detect()
	if l.Kind == cgroup.None {
		return nil, fmt.Errorf("no cgroups: %s", l.Describe())
	}
	top := &cgroup.Group{L: l, Rel: fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), time.Now().UnixNano())}
	if err := top.Create(); err != nil {
		return nil, err
	}
	return &Tree{top: top}, nil
}

// Wrap is a command that moves itself into the subtree in every hierarchy, then execs the
// command line that follows it: append(t.Wrap(), flint, "run", ...).
func (t *Tree) Wrap() []string {
	var script strings.Builder
	for _, f := range t.top.ProcsFiles() {
		script.WriteString("echo $$ >" + f + " || exit 1; ")
	}
	script.WriteString(`exec "$@"`)
	return []string{"/bin/sh", "-c", script.String(), "sh"}
}

// Remove kills (SIGKILL) whatever is left in the subtree and removes it, retrying for up to
// two seconds while the killed processes leave.
func (t *Tree) Remove() {
	for i := 0; i < 100; i++ {
		pids, _ := t.top.PIDs()
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
		if t.top.Remove() == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
