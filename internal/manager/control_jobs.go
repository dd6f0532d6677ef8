package manager

import (
	"errors"
	"fmt"
	"slices"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/unit"
)

// runJobs enqueues one job per unit (globs expanded as systemctl does, see expandUnits) and
// (unless no_block) waits for all of them. It answers one JobResult per unit, in order: a unit whose job cannot be enqueued (not found, masked,
// refused, reload not applicable) gets Error, the others their job's result and, on failure,
// the unit's Result, from which the client words systemctl's message.
func (m *Manager) runJobs(req *api.Request) ([]api.JobResult, error) {
	if len(req.Units) == 0 {
		return nil, &reqError{"bad-request", "Too few arguments."}
	}
	verb := string(req.Verb)
	type pending struct {
		idx int
		ch  chan string
	}
	mode := req.Mode
	if mode == "" {
		mode = "replace"
	}
	var out []api.JobResult
	var ps []pending
	m.call(func() {
		// The jobs run after this event, once the answer is on its way (holdDispatch).
		defer m.holdDispatch()()
		names := m.expandUnits(req.Units)
		out = make([]api.JobResult, len(names))
		for i, n := range names {
			out[i] = api.JobResult{Unit: n, Job: verb}
			u := m.load(n)
			out[i].Unit = u.Name
			if !slices.Contains(unit.JobModes, mode) {
				out[i].Error, out[i].ErrorCode = fmt.Sprintf("Job mode %s invalid", mode), "invalid-args"
				continue
			}
			if code, msg := m.jobRefusal(u, verb); code != "" {
				out[i].Error, out[i].ErrorCode = msg, code
				continue
			}
			if verb == "reload" && u.job == nil && !isActiveOrReloading(u.activeState()) {
				out[i].Result = "invalid" // systemd: "foo.service is not active, cannot reload."
				continue
			}
			ch := make(chan string, 1)
			if verb == "stop" && u.isService() {
				u.service().stopRequested = true
			}
			err := m.enqueueErr(verb, u, mode, func(r string) {
				select {
				case ch <- r:
				default:
				}
			})
			if err != nil {
				// The transaction could not be made consistent (conflicting jobs, an
				// unbreakable ordering cycle, a missing requirement): nothing was queued.
				m.logUnit(u, "%v", err)
				out[i].Error, out[i].ErrorCode = err.Error(), "transaction"
				if re := (*reqError)(nil); errors.As(err, &re) {
					out[i].ErrorCode = re.code // a required unit that did not load
				}
				continue
			}
			out[i].NeedDaemonReload = m.loader.NeedDaemonReload(u.cfg)
			ps = append(ps, pending{i, ch})
		}
	})
	if req.NoBlock {
		for _, p := range ps {
			out[p.idx].Result = "queued"
		}
		return out, nil
	}
	for _, p := range ps {
		var r string
		select {
		case r = <-p.ch:
		case <-m.quit:
			// A job that finished as the manager quit (its unit's SuccessAction=) has its
			// result.
			select {
			case r = <-p.ch:
			default:
				r = "canceled"
			}
		}
		out[p.idx].Result = r
		failed := r != "done" && r != "skipped"
		if !failed && verb != "stop" {
			continue
		}
		name := out[p.idx].Unit
		m.call(func() {
			u := m.units[name]
			if u == nil {
				return
			}
			if failed {
				out[p.idx].UnitResult = u.result.String()
			}
			if verb == "stop" {
				out[p.idx].ActiveTriggers = m.activeTriggers(u)
			}
		})
	}
	return out, nil
}

// activeTriggers are the units that trigger u and are active or reloading, which systemctl
// names after stopping u (warn_triggering_units).
func (m *Manager) activeTriggers(u *Unit) []string {
	var out []string
	for _, n := range u.cfg.TriggeredBy {
		if t, ok := m.units[n]; ok && (t.activeState() == Active || t.activeState() == Reloading) {
			out = append(out, t.Name)
		}
	}
	return out
}

// jobRefusal says why a job of this verb cannot be enqueued for u, as systemd's bus API
// refuses it (the client prints "Failed to VERB UNIT: MSG"); "" if it can.
func (m *Manager) jobRefusal(u *Unit, verb string) (code, msg string) {
	n := u.Name
	if unit.IsTemplate(n) {
		return "invalid-name", fmt.Sprintf("Unit name %s is missing the instance name.", n)
	}
	if !unit.IsValidName(n) {
		return "invalid-name", fmt.Sprintf("Unit name %s is not valid.", n)
	}
	starts := verb != "stop"
	if starts && !u.loaded() {
		return loadRefusal(u)
	}
	// systemd's bus_unit_method_start_generic: a stop of an inactive unit that did not load
	// (not found, a bad setting, a load error) is refused.
	switch u.cfg.LoadState {
	case unit.NotFound, unit.BadSetting, unit.LoadError:
		if verb == "stop" && u.activeState() == Inactive && u.job == nil {
			return "not-loaded", fmt.Sprintf("Unit %s not loaded.", n)
		}
	}
	// As systemd's bus_unit_queue_job, on the job the verb comes to for u: a reload is never
	// refused, a reload-or-restart only when it starts the unit.
	refused := fmt.Sprintf("Operation refused, unit %s may be requested by dependency only (it is configured to refuse manual start/stop).", n)
	c := &u.cfg.Unit
	switch m.jobType(u, verb) {
	case "start":
		if c.RefuseManualStart {
			return "refused", refused
		}
	case "stop":
		if c.RefuseManualStop {
			return "refused", refused
		}
	case "restart", "try-restart":
		if c.RefuseManualStart || c.RefuseManualStop {
			return "refused", refused
		}
	case "reload":
		if !m.canReload(u) {
			return "not-applicable", fmt.Sprintf("Job type reload is not applicable for unit %s.", n)
		}
	}
	return "", ""
}

// jobType is the job a verb enqueues for u: reload-or-restart and try-reload-or-restart
// reload a unit that can reload (systemd's BUS_UNIT_QUEUE_RELOAD_IF_POSSIBLE; reload-or-restart
// then starts it if it is not active, as JOB_RELOAD_OR_START collapses), and restart (or
// try-restart) one that cannot. The other verbs are their job.
func (m *Manager) jobType(u *Unit, verb string) string {
	switch verb {
	case "reload-or-restart":
		if !m.canReload(u) {
			return "restart"
		}
		if isActiveOrReloading(u.activeState()) {
			return "reload"
		}
		return "start"
	case "try-reload-or-restart":
		if m.canReload(u) {
			return "try-reload"
		}
		return "try-restart"
	}
	return verb
}

// loadRefusal is why a unit that did not load cannot be started, directly or as a
// requirement of another's job (systemd's bus_unit_validate_load_state).
func loadRefusal(u *Unit) (code, msg string) {
	switch u.cfg.LoadState {
	case unit.Masked:
		return "masked", fmt.Sprintf("Unit %s is masked.", u.Name)
	case unit.BadSetting, unit.LoadError:
		return "bad-setting", fmt.Sprintf("Unit %s has a bad unit file setting.", u.Name)
	}
	return "not-found", fmt.Sprintf("Unit %s not found.", u.Name)
}

// canReload is systemd's unit_can_reload(): a service reloads with ExecReload= (or
// Type=notify-reload); another unit when it propagates reloads to others
// (PropagatesReloadTo=, or another unit's ReloadPropagatedFrom= naming it).
func (m *Manager) canReload(u *Unit) bool {
	if u.cfg.Type == unit.TypeService {
		return u.cfg.Service != nil && (len(u.cfg.Service.ExecReload) > 0 || u.cfg.Service.Type == unit.NotifyReload)
	}
	return len(m.reloadPropagatesTo(u)) > 0
}

// reloadPropagatesTo are the units a reload of u propagates to: its PropagatesReloadTo= and
// the units whose ReloadPropagatedFrom= names it.
func (m *Manager) reloadPropagatesTo(u *Unit) []*Unit {
	var out []*Unit
	seen := map[*Unit]bool{u: true}
	for _, n := range u.cfg.Unit.PropagatesReloadTo {
		if d := m.load(n); !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, o := range m.order {
		if !seen[o] && contains(o.cfg.Unit.ReloadPropagatedFrom, u.Name) {
			seen[o] = true
			out = append(out, o)
		}
	}
	return out
}
