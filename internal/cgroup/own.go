package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// ForManager is the layout a manager of pid uses: Detect's, keeping only the hierarchies
// where pid's cgroup is its own — pid 1 (a container's init, whose cgroup is the namespace's
// root) or the only process in it (a subtree made for it, as a test does, or a delegated
// one). A manager started in a cgroup shared with other processes makes no groups there:
// its units would mix with theirs and another manager's; without the tracking hierarchy it
// falls back to session tracking and Why says so.
func ForManager(pid int) *Layout {
	l := Detect()
	if l.Kind == None {
		return l
	}
	own := func(h *Hierarchy) bool {
		procs := h.Dir("cgroup.procs")
		if filepath.Base(h.Base) == "init.scope" {
			// Where the manager moved itself before (prepare): its base is the parent.
			h.Base = filepath.Dir(h.Base)
		}
		if isRoot(h) {
			// The hierarchy's root: only the machine's own init manages it. A container's
			// init that sees it (a cgroup namespace over the host's root) shares it with
			// processes it cannot even see.
			return pid == 1 && os.Getenv("container") == ""
		}
		pids, err := readPIDs(procs)
		return err == nil && len(pids) == 1 && pids[0] == pid
	}
	if !own(l.Tracking) {
		return &Layout{Why: fmt.Sprintf("cgroup %s is shared with other processes", filepath.Join("/", l.Tracking.Base))}
	}
	var keep []*Hierarchy
	for _, h := range l.All {
		if own(h) {
			keep = append(keep, h)
		}
	}
	l.All = keep
	if err := l.prepare(pid); err != nil {
		return &Layout{Why: err.Error()}
	}
	return l
}

// prepare readies a cgroup2 hierarchy with controllers for groups below the manager: a
// cgroup with processes cannot pass controllers to its children (but the root), so the
// manager moves itself into init.scope, as systemd does, and enables them below the base.
func (l *Layout) prepare(pid int) error {
	h := l.Tracking
	if !h.V2 || len(h.Controllers) == 0 || h.Base == "/" {
		return nil
	}
	want := ""
	for _, c := range h.Controllers {
		want += "+" + c + " "
	}
	ctl := h.Dir("cgroup.subtree_control")
	err := os.WriteFile(ctl, []byte(want), 0)
	if err == nil || !errors.Is(err, syscall.EBUSY) {
		return nil // enabled, or refused for another reason: tracking works without them
	}
	init := h.Dir("init.scope")
	if err := os.MkdirAll(init, 0o755); err != nil {
		return fmt.Errorf("cgroup %s: %w", init, err)
	}
	if err := os.WriteFile(filepath.Join(init, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		return fmt.Errorf("cgroup move to %s: %w", init, err)
	}
	os.WriteFile(ctl, []byte(want), 0)
	return nil
}

// isRoot reports whether flint's cgroup in h is the hierarchy's root cgroup: on cgroup2 the
// root alone has no cgroup.events, on v1 it alone has release_agent.
func isRoot(h *Hierarchy) bool {
	if h.V2 {
		return !exists(h.Dir("cgroup.events"))
	}
	return exists(h.Dir("release_agent"))
}
