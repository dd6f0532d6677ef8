package spawn

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// UserNS is PrivateUsers=: the child runs in a user namespace of its own in which root and
// the unit's user and group map to themselves and every other id to nobody, as systemd
// 252's setup_private_users(). systemd unshares it in the child right before the uid
// switch; a multi-threaded Go process cannot unshare a user namespace, so the child is
// cloned into it (the parent writes the maps) and every step runs inside. Two things
// follow and are documented (docs/compatibility.md): the supplementary groups are mapped
// too, so that the child can still set them (systemd sets them before it unshares, and
// they show as nobody inside), and /proc/self/setgroups says "allow" (systemd: "deny").
type UserNS struct {
	// UIDs and GIDs are the ids mapped to themselves: root (when the parent is root) and
	// the unit's user and group, the supplementary groups with them.
	UIDs, GIDs []int
	// Setgroups leaves setgroups(2) allowed in the namespace (the parent must be root).
	Setgroups bool
}

// sysProcAttr is the clone's attributes for u (nil for none).
func (u *UserNS) sysProcAttr() *syscall.SysProcAttr {
	if u == nil {
		return nil
	}
	return &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER,
		UidMappings:                idMap(u.UIDs),
		GidMappings:                idMap(u.GIDs),
		GidMappingsEnableSetgroups: u.Setgroups,
	}
}

// idMap maps each of ids to itself, one line each.
func idMap(ids []int) []syscall.SysProcIDMap {
	var all []int
	for _, id := range ids {
		if id >= 0 {
			all = append(all, id)
		}
	}
	slices.Sort(all)
	all = slices.Compact(all)
	m := make([]syscall.SysProcIDMap, len(all))
	for i, id := range all {
		m[i] = syscall.SysProcIDMap{ContainerID: id, HostID: id, Size: 1}
	}
	return m
}

// forkShimIn is forkShim on a thread that has joined namespaces first (none: the caller's
// thread). The thread is never given back: it ends with its goroutine, so that no other
// goroutine runs in those namespaces.
func forkShimIn(namespaces []*os.File, files []uintptr, ctl int, verb string, sys *syscall.SysProcAttr) (int, error) {
	if len(namespaces) == 0 {
		return forkShim(files, ctl, verb, sys)
	}
	type result struct {
		pid int
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread()
		for _, ns := range namespaces {
			fd, err := fileFD(ns)
			if err == nil {
				err = unix.Setns(fd, 0)
			}
			if err != nil {
				ch <- result{0, fmt.Errorf("join namespace %s: %w", ns.Name(), err)}
				return
			}
		}
		pid, err := forkShim(files, ctl, verb, sys)
		ch <- result{pid, err}
	}()
	r := <-ch
	return r.pid, r.err
}
