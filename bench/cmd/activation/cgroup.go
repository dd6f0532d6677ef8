package main

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/flint-init/flint/internal/cgroup"
)

// startFlintCgroup is startFlint in a cgroup subtree made for it in every hierarchy (flint
// uses cgroups only where its cgroup is its own), removed when the manager is closed.
func startFlintCgroup(flint, work, foobard string, port int) (*manager, error) {
	l := cgroup.Detect()
	if l.Kind == cgroup.None {
		return nil, fmt.Errorf("%w: %s", errUnavailable, l.Describe())
	}
	top := &cgroup.Group{L: l, Rel: fmt.Sprintf("flint-bench-%d-%d", os.Getpid(), time.Now().UnixNano())}
	if err := top.Create(); err != nil {
		return nil, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	script := ""
	for _, f := range top.ProcsFiles() {
		script += "echo $$ >" + f + " || exit 1; "
	}
	m, err := startFlint(flint, work, foobard, port, "/bin/sh", "-c", script+`exec "$@"`, "sh")
	remove := func() {
		for i := 0; i < 100; i++ {
			pids, _ := top.PIDs()
			for _, p := range pids {
				syscall.Kill(p, syscall.SIGKILL)
			}
			if top.Remove() == nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err != nil {
		remove()
		return nil, err
	}
	m.name = sideRunCg
	stop := m.close
	m.close = func() { stop(); remove() }
	return m, nil
}
