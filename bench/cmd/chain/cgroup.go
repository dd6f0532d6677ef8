package main

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/flint-init/flint/internal/cgroup"
)

// startFlintCgroup is startFlint in a cgroup subtree made for it in every hierarchy (flint uses
// cgroups only where its cgroup is its own), so that each chain service gets
// system.slice/NAME; the subtree goes when the manager is closed. Manager "flint-cgroups".
func startFlintCgroup(flint, dir string) (*manager, error) {
	l := cgroup.Detect()
	if l.Kind == cgroup.None {
		return nil, fmt.Errorf("no cgroups: %s", l.Describe())
	}
	top := &cgroup.Group{L: l, Rel: fmt.Sprintf("flint-chain-%d-%d", os.Getpid(), time.Now().UnixNano())}
	if err := top.Create(); err != nil {
		return nil, err
	}
	script := ""
	for _, f := range top.ProcsFiles() {
		script += "echo $$ >" + f + " || exit 1; "
	}
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
	m, err := startFlint(flint, dir, "/bin/sh", "-c", script+`exec "$@"`, "sh")
	if err != nil {
		remove()
		return nil, err
	}
	stop := m.close
	m.close = func() { stop(); remove() }
	return m, nil
}
