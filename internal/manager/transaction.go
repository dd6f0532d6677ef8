package manager

import (
	"fmt"
	"slices"
	"strings"
)

// txJob is one job of a transaction before it is installed.
type txJob struct {
	u         *Unit
	typ       string
	anchor    bool
	essential bool // its failure or removal breaks an anchor (pulled by Requires=, BindsTo=, ...)
	cbs       []jobCallback
	by        []*txJob // the jobs that pulled this one in
	// requiredBy: those of by that cannot do without it (Requires=, BindsTo=, Requisite=,
	// Conflicts=, stop and restart propagation): deleting it deletes them.
	requiredBy []*txJob
	deleted    bool
}

// transaction is systemd's Transaction: the jobs one request implies, checked for
// consistency (conflicting jobs, ordering cycles) before any of them is installed.
//
// The job mode decides how it meets the jobs already installed (systemctl(1)'s
// --job-mode=): replace replaces conflicting ones, fail refuses to (and first drops the jobs
// that do not matter to the request and would stop a running unit or change a queued job),
// replace-irreversibly also replaces irreversible ones and makes its own irreversible,
// isolate (start only) adds a stop job for every other active unit without
// IgnoreOnIsolate=yes and cancels every other queued job, flush cancels them too,
// ignore-requirements adds no dependency jobs and ignore-dependencies moreover runs the job
// regardless of ordering.
type transaction struct {
	m     *Manager
	mode  string
	jobs  map[*Unit]*txJob
	order []*txJob
	// noDeps: the mode adds the requested job only (ignore-requirements, -dependencies).
	noDeps bool
}

func (m *Manager) newTransaction(mode string) *transaction {
	return &transaction{m: m, mode: mode, jobs: map[*Unit]*txJob{},
		noDeps: mode == "ignore-requirements" || mode == "ignore-dependencies"}
}

// addIsolateJobs adds a stop job, as one the anchor cannot do without, for every unit that
// is active or has a job, is not in the transaction and has no IgnoreOnIsolate=yes
// (systemd's transaction_add_isolate_jobs). A stop job that cannot be added is ignored.
func (tx *transaction) addIsolateJobs(anchor *txJob) {
	for _, u := range tx.m.order {
		if u.cfg.Unit.IgnoreOnIsolate || (isInactiveOrFailed(u.activeState()) && u.job == nil) {
			continue
		}
		if _, ok := tx.jobs[u]; ok {
			continue
		}
		if _, err := tx.add(u, "stop", anchor, true); err != nil {
			tx.m.logUnit(u, "Cannot add isolate job, ignoring: %v", err)
		}
	}
}

// mergeJobTypes merges two job types for one unit as systemd's job_type_merge does; ok is
// false when they conflict (a stop and anything else).
func mergeJobTypes(a, b string, u *Unit) (string, bool) {
	norm := func(t string) string {
		switch t {
		case "try-restart":
			return "restart"
		case "try-reload":
			return "reload"
		}
		return t
	}
	if a == b {
		return a, true
	}
	a, b = norm(a), norm(b)
	if a == b {
		return a, true
	}
	if a == "stop" || b == "stop" {
		return "", false
	}
	has := func(x string) bool { return a == x || b == x }
	switch {
	case has("restart"):
		return "restart", true
	case has("start") && has("verify-active"):
		return "start", true
	case has("reload") && has("start"):
		if isActiveOrReloading(u.activeState()) {
			return "reload", true
		}
		return "start", true
	case has("reload") && has("verify-active"):
		return "reload", true
	}
	return "", false
}

// addAnchor adds the requested job itself.
func (tx *transaction) addAnchor(u *Unit, typ string, cb jobCallback) (*txJob, error) {
	j, err := tx.add(u, typ, nil, true)
	if err != nil {
		return nil, err
	}
	j.anchor = true
	if cb != nil {
		j.cbs = append(j.cbs, cb)
	}
	return j, nil
}

// add puts a job for u into the transaction and, when it is new, the jobs its dependencies
// imply (systemd's transaction_add_job_and_dependencies).
func (tx *transaction) add(u *Unit, typ string, by *txJob, essential bool) (*txJob, error) {
	if skip, err := tx.m.perpetualStop(u, typ, by); skip {
		return nil, err // slice.go
	}
	if !u.loaded() && typ != "stop" {
		if essential {
			code, msg := loadRefusal(u)
			return nil, &reqError{code, msg}
		}
		return nil, nil // Wants= on a missing unit is ignored
	}
	if j, ok := tx.jobs[u]; ok {
		merged, ok := mergeJobTypes(j.typ, typ, u)
		if !ok {
			// Conflicting jobs: keep the essential one.
			switch {
			case !essential && (j.essential || j.anchor):
				return nil, nil
			case !j.essential && !j.anchor:
				j.deleted = true
				delete(tx.jobs, u)
			default:
				return nil, fmt.Errorf("Transaction contains conflicting jobs '%s' and '%s' for %s. Probably contradicting requirement dependencies configured.", j.typ, typ, u.Name)
			}
		} else {
			j.typ = merged
			j.essential = j.essential || essential
			if by != nil {
				j.by = append(j.by, by)
			}
			return j, nil
		}
	}
	j := &txJob{u: u, typ: typ, essential: essential}
	if by != nil {
		j.by = append(j.by, by)
	}
	tx.jobs[u] = j
	tx.order = append(tx.order, j)
	if tx.noDeps {
		return j, nil
	}
	return j, tx.addDependencies(j)
}

// addDependencies pulls in the jobs j implies.
func (tx *transaction) addDependencies(j *txJob) error {
	m := tx.m
	u := j.u
	c := &u.cfg.Unit
	pull := func(names []string, typ string, matters bool) error {
		for _, n := range names {
			d := m.load(n)
			if d == u {
				continue
			}
			dj, err := tx.add(d, typ, j, j.essential && matters)
			if err != nil {
				if j.essential && matters {
					return err
				}
			}
			if dj != nil && matters {
				dj.requiredBy = append(dj.requiredBy, j)
			}
		}
		return nil
	}
	switch j.typ {
	case "start", "restart":
		if err := pull(c.Requires, "start", true); err != nil {
			return err
		}
		if err := pull(m.sliceStarts(u), "start", true); err != nil {
			return err // slice.go: the implicit Requires= on its slice
		}
		if err := pull(c.BindsTo, "start", true); err != nil {
			return err
		}
		if err := pull(c.Requisite, "verify-active", true); err != nil {
			return err
		}
		pull(c.Wants, "start", false)
		pull(c.Upholds, "start", false)
		if err := pull(c.Conflicts, "stop", true); err != nil {
			return err
		}
		// ConflictedBy=: units that list u in Conflicts= stop, non-essentially.
		var by []string
		var b [1]*Unit
		for _, o := range m.refBy.get(u.Name, &b) {
			if o != u && contains(o.cfg.Unit.Conflicts, u.Name) {
				by = append(by, o.Name)
			}
		}
		pull(by, "stop", false)
		if j.typ == "restart" {
			if err := pull(tx.dependents(u), "try-restart", true); err != nil {
				return err
			}
		}
	case "stop":
		if err := pull(tx.dependents(u), "stop", true); err != nil {
			return err
		}
		// PropagatesStopTo= and, the other way round, StopPropagatedFrom=: a stop only (in
		// systemd 252 neither propagates a restart).
		pull(m.propagatesStopTo(u), "stop", false)
	case "reload":
		tx.addReloadPropagation(j)
	}
	return nil
}

// addReloadPropagation adds the reloads that a reload of j's unit propagates to (systemd's
// transaction_add_propagate_reload_jobs): of the units that are active and can reload; their
// reloads propagate further in turn.
func (tx *transaction) addReloadPropagation(j *txJob) {
	m := tx.m
	for _, d := range m.reloadPropagatesTo(j.u) {
		if !isActiveOrReloading(d.activeState()) {
			continue // try-reload of an inactive unit: nothing to do
		}
		if !m.canReload(d) {
			m.logUnit(d, "Cannot add dependency reload job, ignoring: Job type reload is not applicable for unit %s.", d.Name)
			continue
		}
		tx.add(d, "reload", j, false)
	}
}

// propagateReload enqueues, in mode fail, the reloads that a reload of u propagates to,
// without a job for u itself (systemd's manager_propagate_reload(), for a service that
// reloads by itself: RELOADING=1). The transaction's anchor is a no-op job for u.
func (m *Manager) propagateReload(u *Unit) {
	tx := m.newTransaction("fail")
	anchor := &txJob{u: u, typ: "nop", anchor: true}
	tx.jobs[u] = anchor
	tx.order = append(tx.order, anchor)
	tx.addReloadPropagation(anchor)
	if err := tx.activate(); err != nil {
		m.logUnit(u, "Failed to schedule propagation of reload: %v", err)
		return
	}
	m.dispatch()
}

// dependents are the units that must stop (or restart) with u: RequiredBy=, BoundBy=,
// RequisiteOf= and ConsistsOf= (PartOf= the other way round).
func (tx *transaction) dependents(u *Unit) []string {
	var out []string
	var b [1]*Unit
	for _, o := range tx.m.refBy.get(u.Name, &b) {
		if o == u {
			continue
		}
		c := &o.cfg.Unit
		if contains(c.Requires, u.Name) || contains(c.BindsTo, u.Name) || contains(c.Requisite, u.Name) ||
			contains(c.PartOf, u.Name) {
			out = append(out, o.Name)
		}
	}
	return append(out, tx.m.sliceMembers(u)...) // slice.go
}

// propagatesStopTo are the units a stop of u propagates to: u's PropagatesStopTo= and those
// with u in StopPropagatedFrom=.
func (m *Manager) propagatesStopTo(u *Unit) []string {
	out := slices.Clone(u.cfg.Unit.PropagatesStopTo)
	var b [1]*Unit
	for _, o := range m.refBy.get(u.Name, &b) {
		if o != u && contains(o.cfg.Unit.StopPropagatedFrom, u.Name) && !slices.Contains(out, o.Name) {
			out = append(out, o.Name)
		}
	}
	return out
}

// live returns the jobs not deleted, in insertion order.
func (tx *transaction) live() []*txJob {
	var out []*txJob
	for _, j := range tx.order {
		if !j.deleted && tx.jobs[j.u] == j {
			out = append(out, j)
		}
	}
	return out
}

// delete deletes j and, as systemd's transaction_delete_job does, the jobs that required it.
func (tx *transaction) delete(j *txJob) {
	if j.deleted {
		return
	}
	j.deleted = true
	for _, r := range j.requiredBy {
		tx.delete(r)
	}
}

// minimizeImpact deletes the jobs that do not matter to the requested one and would stop a
// running unit or conflict with a queued job, then what only they pulled in (systemd's
// transaction_minimize_impact, for mode fail).
func (tx *transaction) minimizeImpact() {
	for _, j := range tx.live() {
		if j.anchor || j.essential || j.deleted {
			continue
		}
		st := j.u.activeState()
		stops := j.typ == "stop" && (isActiveOrReloading(st) || st == Activating)
		changes := false
		if o := j.u.job; o != nil {
			_, ok := mergeJobTypes(o.typ, j.typ, j.u)
			changes = !ok
		}
		if stops || changes {
			tx.delete(j)
		}
	}
	tx.collectGarbage()
}

// collectGarbage deletes non-anchor jobs none of whose pullers is left. An isolate
// transaction keeps them (systemd skips the step for it).
func (tx *transaction) collectGarbage() {
	if tx.mode == "isolate" {
		return
	}
	for changed := true; changed; {
		changed = false
		for _, j := range tx.live() {
			if j.anchor {
				continue
			}
			alive := false
			for _, b := range j.by {
				if !b.deleted && tx.jobs[b.u] == b {
					alive = true
					break
				}
			}
			if !alive {
				j.deleted = true
				changed = true
			}
		}
	}
}

// breakCycles finds ordering cycles among the transaction's jobs and deletes a non-essential
// job of each (systemd's transaction_verify_order); a cycle of essential jobs is an error.
func (tx *transaction) breakCycles() error {
	for attempt := 0; attempt < 1000; attempt++ {
		cycle := tx.findCycle()
		if cycle == nil {
			return nil
		}
		var victim *txJob
		for _, j := range cycle {
			if !j.anchor && !j.essential {
				victim = j
				break
			}
		}
		start := cycle[0]
		who := start.u.Name
		tx.m.consolef("%s: Found ordering cycle on %s/%s", who, start.u.Name, start.typ)
		for _, j := range cycle[1:] {
			tx.m.consolef("%s: Found dependency on %s/%s", who, j.u.Name, j.typ)
		}
		tx.m.consolef("%s: Found dependency on %s/%s", who, start.u.Name, start.typ)
		if victim == nil {
			var names []string
			for _, j := range cycle {
				names = append(names, j.u.Name+"/"+j.typ)
			}
			tx.m.consolef("%s: Unable to break cycle starting with %s/%s", who, start.u.Name, start.typ)
			return fmt.Errorf("Transaction order is cyclic (%s). See 'flint logs' for details.", strings.Join(names, " -> "))
		}
		tx.m.consolef("%s: Job %s/%s deleted to break ordering cycle starting with %s/%s", who, victim.u.Name, victim.typ, start.u.Name, start.typ)
		tx.m.logUnit(start.u, "Job %s/%s deleted to break ordering cycle starting with %s/%s", victim.u.Name, victim.typ, start.u.Name, start.typ)
		tx.delete(victim)
		tx.collectGarbage()
	}
	return fmt.Errorf("Transaction order is cyclic. See 'flint logs' for details.")
}

// findCycle returns the jobs of one ordering cycle (each ordered after the next), or nil.
func (tx *transaction) findCycle() []*txJob {
	live := tx.live()
	in := map[*Unit]*txJob{}
	for _, j := range live {
		in[j.u] = j
	}
	const (
		white = iota
		grey
		black
	)
	color := map[*txJob]int{}
	var stack []*txJob
	var found []*txJob
	// successors: the transaction's jobs that j is ordered after (j.After= and Before=j).
	succ := func(j *txJob) []*txJob {
		var out []*txJob
		for _, n := range j.u.cfg.Unit.After {
			if t, ok := tx.m.units[n]; ok && t != j.u {
				if o, ok := in[t]; ok {
					out = append(out, o)
				}
			}
		}
		var b [1]*Unit
		for _, t := range tx.m.orderIndex.before.get(j.u, &b) {
			if o, ok := in[t]; ok && t != j.u {
				out = append(out, o)
			}
		}
		return out
	}
	var visit func(j *txJob) bool
	visit = func(j *txJob) bool {
		color[j] = grey
		stack = append(stack, j)
		for _, o := range succ(j) {
			if o == j {
				continue
			}
			switch color[o] {
			case grey:
				for i, s := range stack {
					if s == o {
						found = append([]*txJob(nil), stack[i:]...)
						return true
					}
				}
			case white:
				if visit(o) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[j] = black
		return false
	}
	for _, j := range live {
		if color[j] == white && visit(j) {
			return found
		}
	}
	return nil
}

// activate checks the transaction and installs its jobs.
func (tx *transaction) activate() error {
	m := tx.m
	if tx.mode == "fail" {
		tx.minimizeImpact()
	}
	tx.collectGarbage()
	if err := tx.breakCycles(); err != nil {
		return err
	}
	live := tx.live()
	// Drop jobs that would do nothing (start of an active unit, stop of an inactive one)
	// unless they are anchors; their dependencies stay.
	var keep []*txJob
	for _, j := range live {
		st := j.u.activeState()
		redundant := j.u.job == nil && ((j.typ == "start" || j.typ == "verify-active") && isActiveOrReloading(st) ||
			j.typ == "stop" && isInactiveOrFailed(st) || j.typ == "reload" && st == Reloading ||
			(j.typ == "try-restart" || j.typ == "try-reload") && isInactiveOrFailed(st))
		if redundant && !j.anchor {
			continue
		}
		keep = append(keep, j)
	}
	// Destructive check: with mode fail, no installed job may be replaced. The error's code
	// "destructive" is systemd's TransactionIsDestructive, for which systemctl exits 4.
	if tx.mode == "fail" {
		for _, j := range keep {
			if o := j.u.job; o != nil && j.typ != "nop" { // a no-op conflicts with nothing
				if _, ok := mergeJobTypes(o.typ, j.typ, j.u); !ok {
					return &reqError{"destructive", fmt.Sprintf("Transaction for %s/%s is destructive (%s has '%s' job queued, but '%s' is included in transaction).", keep[0].u.Name, keep[0].typ, j.u.Name, o.typ, j.typ)}
				}
			}
		}
	}
	for _, j := range keep {
		if o := j.u.job; o != nil && o.irreversible && tx.mode != "replace-irreversibly" && j.typ != "nop" {
			if _, ok := mergeJobTypes(o.typ, j.typ, j.u); !ok {
				return &reqError{"destructive", fmt.Sprintf("Transaction for %s/%s is destructive (%s has irreversible '%s' job queued).", keep[0].u.Name, keep[0].typ, j.u.Name, o.typ)}
			}
		}
	}
	if tx.mode == "isolate" || tx.mode == "flush" {
		// Every other queued job is canceled, without the consequences of a failed job
		// (systemd's transaction_apply).
		in := map[*Unit]bool{}
		for _, j := range keep {
			in[j.u] = true
		}
		for _, o := range m.sortedJobs() {
			if !in[o.u] && !o.u.cfg.Unit.IgnoreOnIsolate {
				m.dropJob(o, "canceled")
			}
		}
	}
	for _, j := range keep {
		typ := j.typ
		switch typ {
		case "nop":
			continue
		case "try-restart":
			if isInactiveOrFailed(j.u.activeState()) && j.u.job == nil {
				for _, cb := range j.cbs {
					cb("done")
				}
				continue
			}
			typ = "restart"
		case "try-reload":
			if !isActiveOrReloading(j.u.activeState()) {
				continue
			}
			typ = "reload"
		}
		ij := m.installJob(typ, j.u, tx.mode)
		if ij == nil {
			for _, cb := range j.cbs {
				cb("canceled")
			}
			continue
		}
		if j.anchor && tx.mode == "ignore-dependencies" {
			ij.ignoreOrder = true
		}
		for _, cb := range j.cbs {
			ij.waiters = append(ij.waiters, cb)
		}
	}
	return nil
}
