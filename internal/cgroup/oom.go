package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// WatchOOM calls fn when the OOM killer may have acted in g's memory controller: on cgroup2
// at each change of memory.events (its oom_kill counter), on v1 at each OOM notification of
// memory.oom_control (an eventfd registered in cgroup.event_control; the kernel sends it
// before it kills, so the caller reads the oom_kill counter again until it rose). fn runs on
// a goroutine of the watcher's. stop ends the watch. An error when g is in no memory
// hierarchy.
func (w *Watcher) WatchOOM(g *Group, fn func()) (stop func(), err error) {
	h := g.controller("memory")
	if h == nil {
		return nil, errors.New("no memory controller")
	}
	dir := h.Dir(g.Rel)
	if h.V2 {
		file := filepath.Join(dir, "memory.events")
		if err := w.Watch(file, fn); err != nil {
			return nil, err
		}
		return func() { w.Unwatch(file) }, nil
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, os.NewSyscallError("eventfd", err)
	}
	ev := os.NewFile(uintptr(efd), "oom-eventfd")
	ctl, err := os.Open(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		ev.Close()
		return nil, err
	}
	defer ctl.Close()
	reg := fmt.Sprintf("%d %d", efd, ctl.Fd())
	if err := os.WriteFile(filepath.Join(dir, "cgroup.event_control"), []byte(reg), 0); err != nil {
		ev.Close()
		return nil, err
	}
	go func() {
		var buf [8]byte
		for {
			if _, err := ev.Read(buf[:]); err != nil {
				return // closed by stop
			}
			fn()
		}
	}()
	return func() { ev.Close() }, nil
}
