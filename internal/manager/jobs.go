package manager

import (
	"fmt"
	"time"
)

// job is a pending state change of one unit (systemd's Job). A unit has at most one job; a new
// job for the same unit merges with it or replaces it.
type job struct {
	id           int
	u            *Unit
	typ          string // start, stop, restart, reload, verify-active, try-restart
	running      bool   // the unit's state machine has been told to act
	waiters      []func(result string)
	created      time.Time
	irreversible bool
}

// jobCallback receives a job's result: done, failed, canceled, timeout, dependency, skipped,
// assert, unsupported, invalid.
type jobCallback func(result string)

// enqueue installs a job for u and its dependency closure, then dispatches runnable jobs.
// mode is systemd's job mode (replace, fail, replace-irreversibly). cb (may be nil) gets the
// result of the job on u itself.
func (m *Manager) enqueue(typ string, u *Unit, mode string, cb jobCallback) {
	if m.shuttingDown && typ != "stop" && mode != "replace-irreversibly" {
		if cb != nil {
			cb("canceled")
		}
		return
	}
	if typ == "try-restart" {
		if isInactiveOrFailed(u.activeState()) {
			if cb != nil {
				cb("done")
			}
			return
		}
		typ = "restart"
	}
	if typ == "reload-or-restart" {
		if u.svc != nil && len(u.cfg.Service.ExecReload) > 0 && isActiveOrReloading(u.activeState()) {
			typ = "reload"
		} else {
			typ = "restart"
		}
	}
	if (typ == "start" || typ == "restart" || typ == "reload") && !u.loaded() {
		if cb != nil {
			cb("invalid")
		}
		return
	}
	visited := map[*Unit]bool{}
	m.addJob(typ, u, mode, cb, visited, true)
	m.dispatch()
}

// addJob installs one job and recursively the jobs its dependencies imply (a transaction,
// without systemd's global consistency check: conflicts between jobs resolve by replacement).
func (m *Manager) addJob(typ string, u *Unit, mode string, cb jobCallback, visited map[*Unit]bool, anchor bool) {
	if visited[u] {
		if cb != nil && u.job != nil {
			u.job.waiters = append(u.job.waiters, cb)
		}
		return
	}
	visited[u] = true
	if !u.loaded() && typ != "stop" {
		if cb != nil {
			cb("invalid")
		}
		return
	}
	switch typ {
	case "start", "restart", "verify-active":
		if typ == "start" && u.job == nil && isActiveOrReloading(u.activeState()) {
			if cb != nil {
				cb("done")
			}
			// still pull in dependencies, as systemd does for an active unit? No: a start job for
			// an active unit is trivially done and pulls nothing new.
			return
		}
	case "stop":
		if u.job == nil && isInactiveOrFailed(u.activeState()) {
			if cb != nil {
				cb("done")
			}
			// Units that require u must still stop (they are stopped with it).
		}
	}
	j := m.installJob(typ, u, mode)
	if j == nil {
		if cb != nil {
			cb("canceled")
		}
		return
	}
	if cb != nil {
		j.waiters = append(j.waiters, cb)
	}
	c := &u.cfg.Unit
	switch typ {
	case "start", "restart":
		for _, n := range c.Requires {
			m.addJob("start", m.load(n), mode, nil, visited, false)
		}
		for _, n := range c.BindsTo {
			m.addJob("start", m.load(n), mode, nil, visited, false)
		}
		for _, n := range c.Wants {
			d := m.load(n)
			if d.loaded() {
				m.addJob("start", d, mode, nil, visited, false)
			}
		}
		for _, n := range c.Requisite {
			d := m.load(n)
			if !isActiveOrReloading(d.activeState()) && d.job == nil {
				m.failJob(j, "dependency")
				return
			}
		}
		for _, n := range c.Conflicts {
			d := m.load(n)
			if !isInactiveOrFailed(d.activeState()) || d.job != nil {
				m.addJob("stop", d, mode, nil, visited, false)
			}
		}
		// ConflictedBy: units that list u in Conflicts=
		for _, o := range m.order {
			if o != u && contains(o.cfg.Unit.Conflicts, u.Name) && (!isInactiveOrFailed(o.activeState()) || o.job != nil) {
				m.addJob("stop", o, mode, nil, visited, false)
			}
		}
		if typ == "restart" {
			m.propagateStop(u, mode, visited, true)
		}
	case "stop":
		m.propagateStop(u, mode, visited, false)
	}
}

// propagateStop adds stop (or restart) jobs for units that require u, are bound to it or part
// of it.
func (m *Manager) propagateStop(u *Unit, mode string, visited map[*Unit]bool, restart bool) {
	for _, o := range m.order {
		if o == u {
			continue
		}
		c := &o.cfg.Unit
		if contains(c.Requires, u.Name) || contains(c.BindsTo, u.Name) || contains(c.PartOf, u.Name) ||
			contains(u.cfg.Unit.PropagatesStopTo, o.Name) || contains(c.StopPropagatedFrom, u.Name) {
			if isInactiveOrFailed(o.activeState()) && o.job == nil {
				continue
			}
			if restart {
				// PartOf/Requires: restart propagates as try-restart.
				m.addJob("restart", o, mode, nil, visited, false)
			} else {
				m.addJob("stop", o, mode, nil, visited, false)
			}
		}
	}
}

// installJob merges typ into u's job or replaces it.
func (m *Manager) installJob(typ string, u *Unit, mode string) *job {
	if j := u.job; j != nil {
		if j.typ == typ || (typ == "start" && (j.typ == "restart" || j.typ == "verify-active")) {
			return j
		}
		if typ == "verify-active" && (j.typ == "start" || j.typ == "restart") {
			return j
		}
		if j.irreversible && mode != "replace-irreversibly" {
			return nil
		}
		if mode == "fail" {
			return nil
		}
		// Replace: the old job is canceled.
		m.finishJob(j, "canceled")
	}
	m.nextJob++
	j := &job{id: m.nextJob, u: u, typ: typ, created: time.Now(), irreversible: mode == "replace-irreversibly"}
	u.job = j
	m.jobs[j.id] = j
	return j
}

// dispatch starts every job whose ordering constraints are met. Jobs run in parallel wherever
// After=/Before= allow.
func (m *Manager) dispatch() {
	if m.dispatching {
		m.dispatchPending = true
		return
	}
	m.dispatching = true
	defer func() { m.dispatching = false }()
	for again := true; again; {
		again = m.dispatchPending
		m.dispatchPending = false
		for _, j := range m.sortedJobs() {
			if j.running || m.jobs[j.id] == nil {
				continue
			}
			if !m.runnable(j) {
				continue
			}
			j.running = true
			m.runJob(j)
			again = true
		}
	}
}

func (m *Manager) sortedJobs() []*job {
	out := make([]*job, 0, len(m.jobs))
	for i := 1; i <= m.nextJob; i++ {
		if j, ok := m.jobs[i]; ok {
			out = append(out, j)
		}
	}
	return out
}

func isStop(j *job) bool { return j.typ == "stop" }

// runnable applies systemd's job ordering: with both jobs present, stop jobs go first; two
// start-like jobs follow After=/Before=; two stop jobs go in reverse.
func (m *Manager) runnable(j *job) bool {
	u := j.u
	wait := func(other *Unit, jIsAfter bool) bool {
		o := other.job
		if o == nil || o == j {
			return false
		}
		if isStop(j) && !isStop(o) {
			return false
		}
		if isStop(o) && !isStop(j) {
			return true
		}
		if isStop(j) { // both stop: the later one (After) stops first
			return !jIsAfter
		}
		return jIsAfter
	}
	for _, n := range u.cfg.Unit.After {
		if o, ok := m.units[n]; ok && wait(o, true) {
			return false
		}
	}
	for _, n := range u.cfg.Unit.Before {
		if o, ok := m.units[n]; ok && wait(o, false) {
			return false
		}
	}
	// Reverse edges: units that declare Before=u are After for us, and vice versa.
	for _, o := range m.order {
		if o.job == nil || o == u {
			continue
		}
		if contains(o.cfg.Unit.Before, u.Name) && wait(o, true) {
			return false
		}
		if contains(o.cfg.Unit.After, u.Name) && wait(o, false) {
			return false
		}
	}
	return true
}

// runJob tells the unit's state machine to act on its job.
func (m *Manager) runJob(j *job) {
	u := j.u
	switch j.typ {
	case "start", "verify-active":
		if j.typ == "verify-active" {
			if isActiveOrReloading(u.activeState()) {
				m.finishJob(j, "done")
			} else {
				m.finishJob(j, "skipped")
			}
			return
		}
		// Requirements that failed fail us.
		for _, n := range append(append([]string(nil), u.cfg.Unit.Requires...), u.cfg.Unit.BindsTo...) {
			d := m.load(n)
			if !d.loaded() || (d.activeState() == Failed && d.job == nil) {
				m.finishJob(j, "dependency")
				return
			}
		}
		if isActiveOrReloading(u.activeState()) {
			m.finishJob(j, "done")
			return
		}
		m.unitStart(u)
	case "stop":
		m.unitStop(u)
	case "restart":
		if isInactiveOrFailed(u.activeState()) {
			j.typ = "start"
			m.unitStart(u)
			return
		}
		m.unitStop(u)
	case "reload":
		if !isActiveOrReloading(u.activeState()) {
			m.finishJob(j, "failed")
			return
		}
		m.unitReload(u)
	}
	if u.job == j {
		m.jobCheck(u)
	}
}

// jobCheck completes u's running job if u reached the job's goal.
func (m *Manager) jobCheck(u *Unit) {
	j := u.job
	if j == nil || !j.running {
		return
	}
	st := u.activeState()
	switch j.typ {
	case "start":
		switch {
		case st == Active:
			m.finishJob(j, "done")
		case st == Failed:
			m.finishJob(j, "failed")
		case st == Inactive && u.sub == "dead" && !u.starting():
			// A oneshot without RemainAfterExit that succeeded, or a failed condition.
			if u.result == "success" {
				m.finishJob(j, "done")
			} else {
				m.finishJob(j, "failed")
			}
		}
	case "stop":
		if isInactiveOrFailed(st) {
			m.finishJob(j, "done")
		}
	case "restart":
		if isInactiveOrFailed(st) {
			// Second half of a restart: start again.
			j.typ = "start"
			m.unitStart(u)
			m.jobCheck(u)
		}
	case "reload":
		if st == Active {
			m.finishJob(j, "done")
		} else if isInactiveOrFailed(st) {
			m.finishJob(j, "failed")
		}
	}
}

// finishJob removes j, tells its waiters, propagates failure to dependent start jobs, and
// dispatches jobs that were waiting for it.
func (m *Manager) finishJob(j *job, result string) {
	if m.jobs[j.id] == nil {
		return
	}
	delete(m.jobs, j.id)
	if j.u.job == j {
		j.u.job = nil
	}
	if result != "done" && result != "canceled" && (j.typ == "start" || j.typ == "restart") {
		m.consolef("[FAILED] Failed to start %s.", describe(j.u))
	}
	for _, w := range j.waiters {
		w(result)
	}
	if (j.typ == "start") && result != "done" && result != "skipped" {
		// Jobs of units that require this one fail with "dependency".
		for _, o := range m.order {
			if o.job == nil || o.job.typ != "start" {
				continue
			}
			c := &o.cfg.Unit
			if contains(c.Requires, j.u.Name) || contains(c.BindsTo, j.u.Name) || contains(c.Requisite, j.u.Name) {
				m.consolef("[DEPEND] Dependency failed for %s.", describe(o))
				m.finishJob(o.job, "dependency")
			}
		}
	}
	m.dispatch()
	if m.shuttingDown {
		m.checkShutdownDone()
	}
}

func (m *Manager) failJob(j *job, result string) { m.finishJob(j, result) }

func describe(u *Unit) string {
	if u.cfg.Unit.Description != "" {
		return u.cfg.Unit.Description
	}
	return u.Name
}

// jobError formats systemctl's message for a failed job.
func jobError(u *Unit, typ, result string) string {
	verb := map[string]string{"start": "start", "stop": "stop", "restart": "restart", "reload": "reload"}[typ]
	if verb == "" {
		verb = typ
	}
	switch result {
	case "dependency":
		return fmt.Sprintf("A dependency job for %s failed. See 'flint logs' for details.", u.Name)
	case "canceled":
		return fmt.Sprintf("Job for %s canceled.", u.Name)
	case "invalid":
		return fmt.Sprintf("Unit %s not found.", u.Name)
	}
	kind := "service"
	if u.cfg.Type != "" {
		kind = string(u.cfg.Type)
	}
	_ = kind
	return fmt.Sprintf("Job for %s failed.\nSee \"flint status %s\" and \"flint logs -u %s\" for details.", u.Name, u.Name, u.Name)
}
