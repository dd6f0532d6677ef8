package manager

import (
	"slices"
	"sort"
	"time"

	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/unit"
)

// job is a pending state change of one unit (systemd's Job). A unit has at most one job; a new
// job for the same unit merges with it or replaces it.
type job struct {
	id      int
	u       *Unit
	typ     string // start, stop, restart, reload, verify-active, try-restart
	running bool   // the unit's state machine has been told to act
	// acted: the unit was not in the job's goal already when told to act (systemd's job that
	// did not end with -EALREADY): only then does a job that is done say so in the log.
	acted        bool
	waiters      []func(result string)
	created      time.Time
	irreversible bool
	ignoreOrder  bool // --job-mode=ignore-dependencies: runs regardless of After=/Before=
	// again: a reload was requested while this reload job ran; it runs once more when the
	// current reload is over (systemd's job_install re-runs a running job that a reload
	// merged into).
	again bool
	// JobTimeoutSec= / JobRunningTimeoutSec=: the deadline in force (zero: none) and the
	// timer that cancels the job then (armJobTimer).
	deadline time.Time
	timer    *time.Timer
}

// jobCallback receives a job's result: done, failed, canceled, timeout, dependency, skipped,
// assert, unsupported, invalid.
type jobCallback func(result string)

// enqueue is enqueueErr for callers that only log a failed transaction.
func (m *Manager) enqueue(typ string, u *Unit, mode string, cb jobCallback) {
	if err := m.enqueueErr(typ, u, mode, cb); err != nil {
		m.consolef("%s: %v", u.Name, err)
		m.logUnit(u, "%v", err)
	}
}

// enqueueErr builds a transaction for a job of type typ on u with its dependency closure
// (transaction.go), installs it and dispatches runnable jobs. mode is systemd's job mode
// (unit.JobModes; what each does is in transaction.go). cb (may be nil) gets the result of
// the job on u. A transaction that cannot be made consistent (conflicting required jobs, an
// unbreakable ordering cycle, a destructive job with mode fail) returns an error and
// installs nothing; cb is then not called.
func (m *Manager) enqueueErr(typ string, u *Unit, mode string, cb jobCallback) error {
	// Once an objective is set, the manager only stops what is left (actions.go): systemd
	// still runs the jobs already in its run queue in that event (the start half of a
	// restart), then kills them with the rest. Before that, a shutdown in progress takes
	// only the jobs that may replace its own.
	if (m.objective != "" || m.shuttingDown && mode != "replace-irreversibly") && typ != "stop" {
		if cb != nil {
			cb("canceled")
		}
		return nil
	}
	switch typ {
	case "try-restart":
		if isInactiveOrFailed(u.activeState()) && u.job == nil {
			if cb != nil {
				cb("done")
			}
			return nil
		}
		typ = "restart"
	case "reload-or-restart":
		typ = m.jobType(u, typ)
	case "try-reload-or-restart", "try-reload":
		if typ = m.jobType(u, typ); typ == "try-restart" {
			return m.enqueueErr(typ, u, mode, cb)
		}
		if !isActiveOrReloading(u.activeState()) {
			// systemd collapses the job to a no-op.
			if cb != nil {
				cb("done")
			}
			return nil
		}
		typ = "reload"
	}
	if (typ == "start" || typ == "restart" || typ == "reload") && !u.loaded() {
		if cb != nil {
			cb("invalid")
		}
		return nil
	}
	// systemd's manager_add_job checks these before building the transaction.
	if mode == "isolate" && typ != "start" {
		return &reqError{"invalid-args", "Isolate is only valid for start."}
	}
	if mode == "isolate" && !u.cfg.Unit.AllowIsolate {
		return &reqError{"refused", "Operation refused, unit may not be isolated."}
	}
	tx := m.newTransaction(mode)
	anchor, err := tx.addAnchor(u, typ, cb)
	if err != nil {
		return err
	}
	if mode == "isolate" {
		tx.addIsolateJobs(anchor)
	}
	if err := tx.activate(); err != nil {
		return err
	}
	m.dispatch()
	return nil
}

// installJob merges typ into u's job or replaces it. It returns nil if u has an irreversible
// job that may not be replaced. The caller dispatches.
func (m *Manager) installJob(typ string, u *Unit, mode string) *job {
	if j := u.job; j != nil {
		if merged, ok := mergeJobTypes(j.typ, typ, u); ok {
			if merged != j.typ && !j.running {
				j.typ = merged
			}
			if j.running && j.typ == "reload" && (typ == "reload" || typ == "try-reload" || typ == "start") {
				// As systemd's job_install: a reload (or a start, not a subset of a reload)
				// merged into a running reload job makes it run again, so that the unit
				// reloads after the request.
				j.again = true
			}
			return j
		}
		if j.irreversible && mode != "replace-irreversibly" {
			return nil
		}
		// Replace: the old job is canceled. Without dispatching yet: the transaction's
		// other jobs are not all installed (a start ordered after this unit's new job would
		// run at once); the caller dispatches once they are.
		m.dropJob(j, "canceled")
	}
	m.nextJob++
	j := &job{id: m.nextJob, u: u, typ: typ, created: time.Now(), irreversible: mode == "replace-irreversibly"}
	u.job = j
	m.jobs[j.id] = j
	m.dbusJobNew(j)
	m.armJobTimer(j, j.created, u.cfg.Unit.JobTimeout)
	return j
}

// setRunning marks j as handed to its unit, and starts its JobRunningTimeoutSec= when that
// ends before the deadline in force (systemd's job_start_timer).
func (m *Manager) setRunning(j *job) {
	j.running = true
	m.armJobTimer(j, time.Now(), j.u.cfg.Unit.JobRunningTimeout)
}

// armJobTimer makes from+d j's deadline unless j has an earlier one; when the deadline
// passes with j still installed, jobTimeout cancels j. d <= 0 is infinity: no timer.
func (m *Manager) armJobTimer(j *job, from time.Time, d time.Duration) {
	at := from.Add(d)
	if d <= 0 || !j.deadline.IsZero() && !at.Before(j.deadline) {
		return
	}
	if j.timer != nil {
		j.timer.Stop()
	}
	j.deadline = at
	j.timer = time.AfterFunc(time.Until(at), func() {
		m.post(func() {
			if m.jobs[j.id] == j && j.deadline.Equal(at) {
				m.jobTimeout(j)
			}
		})
	})
}

// jobTimeout ends j with result "timeout" (systemd's job_dispatch_timer): the unit goes on
// with what it was doing, jobs that needed j fail, OnFailure= units start and the unit's
// JobTimeoutAction= is carried out.
func (m *Manager) jobTimeout(j *job) {
	u := j.u
	m.logUnit(u, "Job %s/%s timed out.", u.Name, j.typ)
	m.finishJob(j, "timeout")
	m.emergencyAction(u, u.cfg.Unit.JobTimeoutAction, true, -1, "job timed out")
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
			m.setRunning(j)
			m.runJob(j)
			again = true
		}
		if !again {
			m.breakDeadlock()
			again = m.dispatchPending
			m.dispatchPending = false
		}
	}
}

// holdDispatch holds dispatch back until the returned function is called: the jobs enqueued
// meanwhile are installed but run only after the current event (the loop dispatches then),
// so that a request that enqueues them is answered first, as systemd answers a bus call
// before its run queue starts the new jobs. A start of many units (each spawn, with its
// cgroup made and the process cloned into it, takes a while) so returns at once.
func (m *Manager) holdDispatch() (release func()) {
	if m.dispatching {
		return func() {}
	}
	m.dispatching = true
	return func() { m.dispatching = false }
}

// waitsForStop: j starts a unit that is still stopping (its stop job was replaced, or it
// stops by itself); it runs once the unit is down, as systemd's service_start() and
// socket_start() answer -EAGAIN in the stop states and the job waits. unitStateChanged
// dispatches again when the unit leaves deactivating.
func waitsForStop(j *job) bool {
	// A unit being cleaned starts once the clean is over, as service_start's -EAGAIN in
	// the cleaning state (cleanDone dispatches again).
	return j.typ == "start" && (j.u.activeState() == Deactivating || j.u.activeState() == Maintenance)
}

// breakDeadlock runs the oldest waiting job when jobs wait for each other and none can run
// (an ordering cycle across separately installed transactions): never a hang.
func (m *Manager) breakDeadlock() {
	var waiting *job
	for _, j := range m.sortedJobs() {
		if j.running || waitsForStop(j) {
			return // progress will come from the running job, or the unit's stop
		}
		if waiting == nil {
			waiting = j
		}
	}
	if waiting == nil {
		return
	}
	m.consolef("%s: Jobs wait for each other in a cycle; running %s/%s first.", waiting.u.Name, waiting.u.Name, waiting.typ)
	m.setRunning(waiting)
	m.runJob(waiting)
	m.dispatchPending = true
}

func (m *Manager) sortedJobs() []*job {
	out := make([]*job, 0, len(m.jobs))
	for _, j := range m.jobs {
		out = append(out, j)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].id < out[k].id })
	return out
}

// isStop: j orders as a stop job. A restart job does until its stop half is over and it
// becomes a start job (systemd's job_compare: "JOB_RESTART is JOB_STOP in disguise").
func isStop(j *job) bool { return j.typ == "stop" || j.typ == "restart" }

// runnable applies systemd's job ordering: with both jobs present, stop jobs go first; two
// start-like jobs follow After=/Before=; two stop jobs go in reverse.
func (m *Manager) runnable(j *job) bool {
	if waitsForStop(j) {
		return false
	}
	if j.ignoreOrder {
		return true
	}
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
	if !m.sliceOrderAllows(u, wait) {
		return false // slice.go: a unit is After= its slice
	}
	// Reverse edges: units that declare Before=u are After for us, and vice versa.
	var b [1]*Unit
	for _, o := range m.orderIndex.before.get(u, &b) {
		if o.job != nil && o != u && wait(o, true) {
			return false
		}
	}
	for _, o := range m.orderIndex.after.get(u, &b) {
		if o.job != nil && o != u && wait(o, false) {
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
		j.acted = true
		m.unitStart(u)
	case "stop":
		m.cooldownCancel(u, "stopped")
		j.acted = !isInactiveOrFailed(u.activeState())
		if !m.abortClean(u) {
			m.unitStop(u)
		}
	case "restart":
		if isInactiveOrFailed(u.activeState()) {
			if s := u.svc; s != nil && s.autoRestarted {
				// systemd's restart job finds the service waiting in auto-restart and stops
				// it; flint has already moved it to dead: say it as systemd does.
				s.autoRestarted = false
				m.logJobDone(j, "restart", "done")
			}
			m.restartStartHalf(j)
			return
		}
		j.acted = true
		if !m.abortClean(u) {
			m.unitStop(u)
		}
	case "reload":
		switch u.activeState() {
		case Reloading:
			// Reloading already (RELOADING=1): as systemd's unit_reload() (-EAGAIN), the job
			// waits, and reloads once that reload is over (jobCheck).
			j.again = true
			return
		case Active:
			j.acted = true
			m.unitReload(u)
		default:
			// systemd's unit_reload(): -ENOEXEC, "not active, cannot reload".
			m.finishJob(j, "invalid")
			return
		}
	}
	if u.job == j && m.jobs[j.id] == j {
		// As systemd's job_perform_on_unit: the start message when the job is still under
		// way after the unit was told to act (a unit that is active at once gets none).
		typ := j.typ
		if typ == "restart" {
			typ = "stop"
		}
		m.logJobStart(j, typ)
	}
	if u.job == j {
		m.jobCheck(u)
	}
}

// restartStartHalf turns the restart job j, whose unit is down, into a start job that waits
// again for its turn: as systemd's job_finish_and_invalidate, which puts it back in the run
// queue, so that the start half follows the start order (the restart of a target's ordered
// parts stops them in reverse order, then starts them in order).
func (m *Manager) restartStartHalf(j *job) {
	j.typ = "start"
	j.running, j.acted = false, false
	m.dispatch()
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
		case st == Inactive && u.sub == deadState(u.cfg.Type):
			// A oneshot without RemainAfterExit that succeeded, or a failed condition (or
			// ExecCondition=).
			if u.result == resultSuccess || u.result == resultExecCondition {
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
			m.logJobDone(j, "restart", "done")
			m.restartStartHalf(j)
		}
	case "reload":
		// As systemd's unit_process_job(): a reload job is over when the unit is active again
		// (failed if the reload failed, see svcReload) or when it went down (failed only if
		// the unit failed); deactivating is not the end yet.
		switch {
		case st == Active && j.again:
			j.again = false
			m.unitReload(u)
		case st == Active && u.isService() && u.svcState().reloadResult != resultSuccess:
			m.finishJob(j, "failed")
		case st == Active:
			m.finishJob(j, "done")
		case st == Failed:
			m.finishJob(j, "failed")
		case st == Inactive:
			m.finishJob(j, "done")
		}
	}
}

// finishJob removes j, tells its waiters, propagates failure to dependent start jobs, and
// dispatches jobs that were waiting for it.
func (m *Manager) finishJob(j *job, result string) {
	if !m.dropJob(j, result) {
		return
	}
	if result != "done" && result != "canceled" {
		switch j.typ {
		case "start", "verify-active":
			// Jobs of units that require this one fail with "dependency".
			m.failStartJobs(j.u, func(c *unit.UnitSection) bool {
				return contains(c.Requires, j.u.Name) || contains(c.BindsTo, j.u.Name) || contains(c.Requisite, j.u.Name)
			})
		case "stop":
			// A stop job that failed (timed out) fails the start jobs of the units that
			// conflict with the unit (systemd's UNIT_ATOM_PROPAGATE_STOP_FAILURE, on
			// ConflictedBy=).
			m.failStartJobs(j.u, func(c *unit.UnitSection) bool { return contains(c.Conflicts, j.u.Name) })
		}
	}
	if result == "dependency" || result == "timeout" {
		// systemd's job_finish_and_invalidate: a job that failed this way never reached the
		// unit's failed state (where a "failed" job result started them), yet OnFailure=
		// units start too — after the jobs that needed this one failed, so that the OnFailure=
		// transaction's dispatch does not run them.
		m.logUnitAt(j.u, logs.PriorityNotice, []logs.Field{field("JOB_TYPE", j.typ), field("JOB_RESULT", result)},
			"Job %s/%s failed with result '%s'.", j.u.Name, j.typ, result)
		m.startOnFailure(j.u)
	}
	m.dispatch()
	if m.shuttingDown {
		m.checkShutdownDone()
	}
}

// failStartJobs ends with result "dependency" the start and verify-active jobs of the units
// that name u and whose [Unit] section dep matches (systemd's job_fail_dependencies). A
// copy of the list: the failures may unload instances.
func (m *Manager) failStartJobs(u *Unit, dep func(c *unit.UnitSection) bool) {
	var b [1]*Unit
	for _, o := range slices.Clone(m.refBy.get(u.Name, &b)) {
		if o.job != nil && (o.job.typ == "start" || o.job.typ == "verify-active") && dep(&o.cfg.Unit) {
			m.finishJob(o.job, "dependency")
		}
	}
}

// dropJob removes j and gives its waiters the result, without the consequences finishJob
// draws from it; false if j was no longer installed.
func (m *Manager) dropJob(j *job, result string) bool {
	if m.jobs[j.id] == nil {
		return false
	}
	delete(m.jobs, j.id)
	m.dbusJobRemoved(j, result)
	if j.timer != nil {
		j.timer.Stop()
	}
	if j.u.job == j {
		j.u.job = nil
	}
	if isInactiveOrFailed(j.u.activeState()) {
		m.gcEnqueue(j.u)
	}
	if msg := jobDoneStatus(j, result); msg != "" {
		m.consolef(msg, describe(j.u))
	}
	if result != "done" || j.acted {
		m.logJobDone(j, j.typ, result)
	}
	for _, w := range j.waiters {
		w(result)
	}
	return true
}

// jobDoneStatus is the status line (a format for the unit's description) that a job ending
// with result prints, for the results that systemd's job_emit_done_message prints and flint
// does not print from the unit's state change ("Started", "Stopped"); "" for none.
func jobDoneStatus(j *job, result string) string {
	switch j.typ {
	case "start", "restart":
		if j.typ == "restart" && result == "timeout" {
			return "[ TIME ] Timed out stopping %s." // the stop half of the restart
		}
		switch result {
		case "failed":
			return "[FAILED] Failed to start %s."
		case "timeout":
			return "[ TIME ] Timed out starting %s."
		case "dependency":
			return "[DEPEND] Dependency failed for %s."
		case "assert":
			return "[ASSERT] Assertion failed for %s."
		}
	case "stop":
		if result == "timeout" {
			return "[ TIME ] Timed out stopping %s."
		}
	}
	return ""
}

// startOnFailure starts u's OnFailure= units in its OnFailureJobMode=.
func (m *Manager) startOnFailure(u *Unit) {
	m.startTriggered(u, "OnFailure=", u.cfg.Unit.OnFailure, u.cfg.Unit.OnFailureJobMode)
}

// startTriggered starts the OnFailure= or OnSuccess= units names of u in the job mode the
// unit gives them (systemd's unit_start_on_failure); a job that cannot be queued (say,
// isolate of a unit without AllowIsolate=yes) is logged and ignored.
func (m *Manager) startTriggered(u *Unit, what string, names []string, mode string) {
	if mode == "" {
		mode = "replace"
	}
	for _, n := range names {
		if err := m.enqueueErr("start", m.load(n), mode, nil); err != nil {
			m.consolef("%s: Failed to enqueue %s job, ignoring: %v", u.Name, what, err)
			m.logUnit(u, "Failed to enqueue %s job, ignoring: %v", what, err)
		}
	}
}

func describe(u *Unit) string {
	if u.cfg.Unit.Description != "" {
		return u.cfg.Unit.Description
	}
	return u.Name
}
