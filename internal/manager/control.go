package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flint-init/flint/internal/api"
	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/unit"
)

// handleRequest serves one control request (on the API server's goroutine; state is only
// touched inside m.call closures).
func (m *Manager) handleRequest(ctx context.Context, req *api.Request, peer *api.Peer, send func(*api.Response) error) {
	reply := func(v any, err error) {
		if err != nil {
			code := "failed"
			if e, ok := err.(*reqError); ok {
				code = e.code
			}
			send(&api.Response{Done: true, Error: err.Error(), Code: code})
			return
		}
		var data json.RawMessage
		if v != nil {
			b, merr := json.Marshal(v)
			if merr != nil {
				send(&api.Response{Done: true, Error: merr.Error(), Code: "failed"})
				return
			}
			data = b
		}
		send(&api.Response{Done: true, Data: data})
	}
	switch req.Verb {
	case "ping":
		var ov api.Overview
		m.call(func() { ov = m.overview() })
		ov.PID, ov.StartMonotonicUsec = syscall.Getpid(), monotonicUsec(m.bootTime)
		ov.Connections, ov.Follows = m.api.Counts()
		ov.Goroutines = runtime.NumGoroutine()
		reply(ov, nil)
	case "start", "stop", "restart", "reload", "try-restart", "reload-or-restart", "try-reload-or-restart":
		res, err := m.runJobs(req)
		reply(res, err)
	case "status", "show":
		var out []api.UnitStatus
		var err error
		m.call(func() { out, err = m.statusOf(req, peer.ReadsLogs) })
		reply(out, err)
	case "list-units":
		var out []api.UnitInfo
		m.call(func() { out = m.listUnits(req) })
		reply(out, nil)
	case "list-sockets":
		var out []api.SocketInfo
		m.call(func() { out = m.listSockets(req) })
		reply(out, nil)
	case "list-timers":
		var out []api.TimerInfo
		m.call(func() { out = m.listTimers(req) })
		reply(out, nil)
	case "is-active", "is-failed":
		var out []string
		m.call(func() {
			for _, n := range req.Units {
				u, ok := m.units[n]
				if !ok {
					out = append(out, "inactive")
					continue
				}
				out = append(out, string(u.activeState()))
			}
		})
		reply(out, nil)
	case "daemon-reload":
		m.call(func() { m.daemonReload() })
		reply(nil, nil)
	case "kill":
		var err error
		m.call(func() { err = m.killRequest(req) })
		reply(nil, err)
	case "reset-failed":
		var err error
		m.call(func() { err = m.resetFailed(req.Units) })
		reply(nil, err)
	case "list-jobs":
		var out []api.JobInfo
		m.call(func() {
			for _, j := range m.sortedJobs() {
				st := "waiting"
				if j.running {
					st = "running"
				}
				out = append(out, api.JobInfo{ID: j.id, Unit: j.u.Name, Type: j.typ, State: st})
			}
		})
		reply(out, nil)
	case "list-dependencies":
		var out []api.DepNode
		var err error
		m.call(func() { out, err = m.listDependencies(req) })
		reply(out, err)
	case "set-exit-code":
		var err error
		if req.ExitCode == nil {
			err = &reqError{"bad-request", "set-exit-code needs exit_code."}
		} else {
			m.call(func() { err = m.setExitCode(*req.ExitCode) })
		}
		reply(nil, err)
	case "exit", "poweroff", "halt", "reboot":
		// systemctl --force VERB (actions.go). The reply goes out before the objective is
		// set: the manager may be gone soon after.
		var err error
		m.call(func() { err = m.quitRefusal(req.Verb) })
		reply(nil, err)
		if err == nil {
			m.post(func() { m.quitObjective(req.Verb) })
		}
	case "logs":
		m.serveLogs(ctx, req, peer, send)
	default:
		if m.handleMore(req, reply) {
			return
		}
		send(&api.Response{Done: true, Code: "bad-request", Error: fmt.Sprintf("unknown verb %q", req.Verb)})
	}
}

// overview is what `ping` answers (and `flint status` without units shows): the manager's
// state, counts of units, jobs and failed units, and its start time.
func (m *Manager) overview() api.Overview {
	ov := api.Overview{Since: m.bootTime, Units: len(m.order), Jobs: len(m.jobs)}
	for _, u := range m.order {
		if u.activeState() == Failed {
			ov.Failed++
		}
	}
	switch {
	case m.shuttingDown:
		ov.State = "stopping"
	case ov.Jobs > 0:
		ov.State = "starting"
	case ov.Failed > 0:
		ov.State = "degraded"
	default:
		ov.State = "running"
	}
	return ov
}

type reqError struct {
	code string
	msg  string
}

func (e *reqError) Error() string { return e.msg }

// runJobs enqueues one job per unit (globs expanded as systemctl does, see expandUnits) and
// (unless no_block) waits for all of them. It answers one JobResult per unit, in order: a unit whose job cannot be enqueued (not found, masked,
// refused, reload not applicable) gets Error, the others their job's result and, on failure,
// the unit's Result, from which the client words systemctl's message.
func (m *Manager) runJobs(req *api.Request) ([]api.JobResult, error) {
	if len(req.Units) == 0 {
		return nil, &reqError{"bad-request", "Too few arguments."}
	}
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
		names := m.expandUnits(req.Units)
		out = make([]api.JobResult, len(names))
		for i, n := range names {
			out[i] = api.JobResult{Unit: n, Job: req.Verb}
			u := m.load(n)
			out[i].Unit = u.Name
			if !slices.Contains(unit.JobModes, mode) {
				out[i].Error, out[i].ErrorCode = fmt.Sprintf("Job mode %s invalid", mode), "invalid-args"
				continue
			}
			if code, msg := m.jobRefusal(u, req.Verb); code != "" {
				out[i].Error, out[i].ErrorCode = msg, code
				continue
			}
			if req.Verb == "reload" && u.job == nil && !isActiveOrReloading(u.activeState()) {
				out[i].Result = "invalid" // systemd: "foo.service is not active, cannot reload."
				continue
			}
			ch := make(chan string, 1)
			if req.Verb == "stop" && u.svc != nil {
				u.svc.stopRequested = true
			}
			err := m.enqueueErr(req.Verb, u, mode, func(r string) {
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
		if !failed && req.Verb != "stop" {
			continue
		}
		name := out[p.idx].Unit
		m.call(func() {
			u := m.units[name]
			if u == nil {
				return
			}
			if failed {
				out[p.idx].UnitResult = u.result
			}
			if req.Verb == "stop" {
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

// normalizeName adds ".service" to a name without a unit suffix, as systemctl does.
func normalizeName(n string) string {
	for _, suf := range []string{".service", ".socket", ".target", ".timer", ".path", ".mount", ".slice", ".scope", ".device", ".swap", ".automount"} {
		if strings.HasSuffix(n, suf) {
			return n
		}
	}
	return n + ".service"
}

func (m *Manager) matchUnits(patterns []string, all bool) []*Unit {
	var out []*Unit
	seen := map[*Unit]bool{}
	if len(patterns) == 0 {
		for _, u := range m.order {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	}
	for _, p := range patterns {
		if strings.ContainsAny(p, "*?[") {
			for _, u := range m.order {
				if ok, _ := filepath.Match(p, u.Name); ok && !seen[u] {
					seen[u] = true
					out = append(out, u)
				}
			}
			continue
		}
		u := m.load(normalizeName(p))
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// statusOf answers status and show. The log lines of status go only to a peer that may read
// them (readsLogs); for another, LogsWithheld says that the unit has lines it does not see.
func (m *Manager) statusOf(req *api.Request, readsLogs bool) ([]api.UnitStatus, error) {
	units := m.matchUnits(req.Units, req.All)
	var out []api.UnitStatus
	for _, u := range units {
		st := api.UnitStatus{Name: u.Name, Props: m.properties(u)}
		if len(req.Props) > 0 {
			st.Props = filterProps(st.Props, req.Props)
		}
		if req.Verb == "status" {
			n := req.Lines
			if n == 0 {
				n = 10
			}
			if n > 0 {
				// As systemctl status: the last n lines, of them those since the unit last
				// left the inactive state.
				lines := m.logs.Query([]string{u.Name}, n, time.Time{})
				if !u.inactiveExit.IsZero() {
					lines = slices.DeleteFunc(lines, func(l logs.Line) bool { return l.Seq <= u.inactiveExitSeq })
				}
				if !readsLogs {
					st.LogsWithheld, lines = len(lines) > 0, nil
				}
				for _, l := range lines {
					st.Logs = append(st.Logs, m.apiLine(&l, false))
				}
			}
			for _, pid := range m.unitPIDs(u) {
				st.Processes = append(st.Processes, api.Process{PID: pid, Command: procCmdline(pid)})
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func filterProps(props []api.Property, want []string) []api.Property {
	w := map[string]bool{}
	for _, p := range want {
		for _, x := range strings.Split(p, ",") {
			w[strings.TrimSpace(x)] = true
		}
	}
	var out []api.Property
	for _, p := range props {
		if w[p.Name] {
			out = append(out, p)
		}
	}
	return out
}

// listUnits answers list-units as systemctl filters it: patterns, --type, then --state
// (matching load, active or sub state); without --all and --state only units that are not
// inactive or have a job. Sorted by unit type, then name (case-insensitively).
func (m *Manager) listUnits(req *api.Request) []api.UnitInfo {
	var out []api.UnitInfo
	for _, u := range m.matchUnits(nil, true) {
		if len(req.Units) > 0 && !matchAny(req.Units, u.Name) {
			continue
		}
		st := u.activeState()
		if len(req.Types) > 0 && !contains(req.Types, string(u.cfg.Type)) {
			continue
		}
		if len(req.States) > 0 && !contains(req.States, string(st)) && !contains(req.States, u.sub) && !contains(req.States, string(u.cfg.LoadState)) {
			continue
		}
		if !req.All && len(req.States) == 0 && st == Inactive && u.job == nil {
			continue
		}
		info := api.UnitInfo{Name: u.Name, Load: string(u.cfg.LoadState), Active: string(st), Sub: u.sub, Description: describe(u)}
		if u.job != nil {
			info.Job = u.job.typ
		}
		out = append(out, info)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ti, tj := unitSuffix(out[i].Name), unitSuffix(out[j].Name)
		if ti != tj {
			return ti < tj
		}
		return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name)
	})
	return out
}

func unitSuffix(n string) string {
	if i := strings.LastIndexByte(n, '.'); i >= 0 {
		return n[i+1:]
	}
	return ""
}

// matchAny reports whether name matches one of the glob patterns (or equals it, completed
// with .service).
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, name); ok || normalizeName(p) == name {
			return true
		}
	}
	return false
}

// listSockets answers list-sockets: one row per Listen*= of every socket unit that is not
// inactive (all of them with --all), sorted by address as systemctl 252 does. ACTIVATES is
// empty for Accept=yes sockets (they trigger no single unit).
func (m *Manager) listSockets(req *api.Request) []api.SocketInfo {
	var out []api.SocketInfo
	for _, u := range m.matchUnits(nil, true) {
		if u.sock == nil || !u.loaded() {
			continue
		}
		if len(req.Units) > 0 && !matchAny(req.Units, u.Name) {
			continue
		}
		if !req.All && isInactiveOrFailed(u.activeState()) {
			continue
		}
		var act []string
		if !u.cfg.Socket.Accept {
			act = []string{u.cfg.SocketService()}
		}
		for _, l := range u.cfg.Socket.Listen {
			out = append(out, api.SocketInfo{Listen: unit.FormatListenAddress(l), Type: listenTypeName(l), Unit: u.Name, Activates: act})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Listen != out[j].Listen {
			return out[i].Listen < out[j].Listen
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// listTimers answers list-timers: every timer unit that is active or failed (all of them with
// --all), the next to elapse first and those without a next elapse last, as systemctl 252.
func (m *Manager) listTimers(req *api.Request) []api.TimerInfo {
	var out []api.TimerInfo
	for _, u := range m.matchUnits(nil, true) {
		if u.tmr == nil || !u.loaded() {
			continue
		}
		if len(req.Units) > 0 && !matchAny(req.Units, u.Name) {
			continue
		}
		if !req.All && u.activeState() == Inactive {
			continue // failed ones are listed, as by systemctl
		}
		out = append(out, api.TimerInfo{Next: u.tmr.nextElapse(), Last: u.tmr.lastTrigger, Unit: u.Name,
			Activates: []string{u.cfg.TimerUnit()}})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Next, out[j].Next
		if a.IsZero() != b.IsZero() {
			return b.IsZero()
		}
		if !a.Equal(b) {
			return a.Before(b)
		}
		return out[i].Unit < out[j].Unit
	})
	return out
}

// listenTypeName is the type column of list-sockets and the "(Stream)" of Listen=.
func listenTypeName(l unit.Listen) string {
	switch l.Kind {
	case unit.ListenStream:
		return "Stream"
	case unit.ListenDatagram:
		return "Datagram"
	case unit.ListenSequentialPacket:
		return "SequentialPacket"
	case unit.ListenFIFO:
		return "FIFO"
	case unit.ListenSpecial:
		return "Special"
	case unit.ListenNetlink:
		return "Netlink"
	case unit.ListenMessageQueue:
		return "MessageQueue"
	case unit.ListenUSBFunction:
		return "USBFunction"
	}
	return string(l.Kind)
}

// killRequest sends a signal to a unit's processes as systemctl kill does: --kill-whom=all
// (default) every process of the unit, main or control one process. A unit that is loaded
// but not running has nothing to kill (success); an unknown unit is an error.
func (m *Manager) killRequest(req *api.Request) error {
	sig := syscall.Signal(req.Signal)
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	if sig < 0 || sig > 64 {
		return &reqError{"bad-request", fmt.Sprintf("Invalid signal %d.", req.Signal)}
	}
	whom := req.KillWhom
	switch whom {
	case "", "all":
		whom = "all"
	case "main", "control":
	default:
		return &reqError{"bad-request", fmt.Sprintf("Invalid kill-whom %q (all, main or control).", whom)}
	}
	if len(req.Units) == 0 {
		return &reqError{"bad-request", "Too few arguments."}
	}
	for _, n := range req.Units {
		name := normalizeName(n)
		u, ok := m.units[name]
		if !ok || (u.cfg.LoadState == unit.NotFound && isInactiveOrFailed(u.activeState())) {
			return &reqError{"not-found", fmt.Sprintf("Failed to kill unit %s: Unit %s not loaded.", name, name)}
		}
		switch whom {
		case "main":
			if u.svc == nil {
				return &reqError{"failed", fmt.Sprintf("Failed to kill unit %s: %s units have no main processes", u.Name, u.cfg.Type)}
			}
			if u.svc.mainPID == 0 {
				return &reqError{"failed", fmt.Sprintf("Failed to kill unit %s: No main process to kill", u.Name)}
			}
			syscall.Kill(u.svc.mainPID, sig)
		case "control":
			pid := 0
			if u.svc != nil {
				pid = u.svc.controlPID
			} else if u.sock != nil {
				pid = u.sock.controlPID
			}
			if pid == 0 {
				return &reqError{"failed", fmt.Sprintf("Failed to kill unit %s: No control process to kill", u.Name)}
			}
			syscall.Kill(pid, sig)
		default:
			for _, pid := range m.unitPIDs(u) {
				syscall.Kill(pid, sig)
			}
		}
	}
	return nil
}

// resetFailed forgets the failed state (and the start-limit counters) of the named units, of
// every unit if none is named.
func (m *Manager) resetFailed(names []string) error {
	for _, n := range names {
		if strings.ContainsAny(n, "*?[") {
			continue
		}
		name := normalizeName(n)
		if u, ok := m.units[name]; !ok || u.cfg.LoadState == unit.NotFound {
			return &reqError{"not-found", fmt.Sprintf("Failed to reset failed state of unit %s: Unit %s not loaded.", name, name)}
		}
	}
	for _, u := range m.matchUnits(names, true) {
		if u.sub == "failed" {
			u.result = "success"
			m.setState(u, "dead")
		}
		u.result = "success"
		if u.svc != nil {
			u.svc.startLimit = rateLimit{} // as unit_reset_failed (the trigger limit stays)
			u.svc.nRestarts = 0
		}
	}
	return nil
}

// listDependencies walks the dependency tree of a unit (default.target if none) as systemctl
// list-dependencies does: Requires=, Requisite=, Wants=, BindsTo= and the units that are
// PartOf= it (ConsistsOf=) — or, with reverse, the units that have those on it; targets are
// expanded, other units only with --all; each level sorted with targets last.
func (m *Manager) listDependencies(req *api.Request) ([]api.DepNode, error) {
	name := "default.target"
	if len(req.Units) > 0 {
		name = normalizeName(req.Units[0])
	}
	root := m.load(name)
	var out []api.DepNode
	onPath := map[*Unit]bool{}
	var walk func(u *Unit, depth int)
	walk = func(u *Unit, depth int) {
		out = append(out, api.DepNode{Unit: u.Name, Active: string(u.activeState()), Depth: depth})
		if onPath[u] || (depth > 0 && !req.All && u.cfg.Type != unit.TypeTarget) || len(out) > 10000 {
			return
		}
		onPath[u] = true
		defer delete(onPath, u)
		seen := map[string]bool{}
		var deps []*Unit
		add := func(n string) {
			if !seen[n] {
				seen[n] = true
				deps = append(deps, m.load(n))
			}
		}
		if req.Reverse {
			for _, o := range append([]*Unit(nil), m.order...) {
				c := &o.cfg.Unit
				if contains(c.Requires, u.Name) || contains(c.Wants, u.Name) || contains(c.BindsTo, u.Name) || contains(c.Requisite, u.Name) || contains(u.cfg.Unit.PartOf, o.Name) {
					add(o.Name)
				}
			}
		} else {
			c := &u.cfg.Unit
			for _, list := range [][]string{c.Requires, c.Requisite, c.Wants, c.BindsTo} {
				for _, d := range list {
					add(d)
				}
			}
			for _, o := range append([]*Unit(nil), m.order...) {
				if contains(o.cfg.Unit.PartOf, u.Name) {
					add(o.Name)
				}
			}
		}
		sort.SliceStable(deps, func(i, j int) bool {
			ti, tj := deps[i].cfg.Type == unit.TypeTarget, deps[j].cfg.Type == unit.TypeTarget
			if ti != tj {
				return tj
			}
			return deps[i].Name < deps[j].Name
		})
		for _, d := range deps {
			walk(d, depth+1)
		}
	}
	walk(root, 0)
	return out, nil
}

// daemonReload re-reads unit files. Running units keep running; sockets whose Listen= did not
// change keep their fds (and pending connections).
func (m *Manager) daemonReload() {
	m.dbusReloading(true)
	defer m.dbusReloading(false)
	m.releaseMemory = true
	m.gcAll, m.gcPending = true, true
	m.consolef("Reloading.")
	m.loader.Reload()
	m.presets = nil
	now := time.Now()
	for _, u := range append([]*Unit(nil), m.order...) {
		if u.transient {
			continue
		}
		if u.stateChange.IsZero() {
			// systemd's units come back from a reload with a state change at its time
			// when they had none (a unit loaded but never started).
			u.stateChange = now
		}
		cfg := m.loader.Load(u.Name)
		if cfg.LoadState == unit.NotFound {
			if b := m.loader.Builtin(u.Name); b != nil {
				cfg = b
			}
		}
		if cfg.LoadState != unit.Loaded && u.loaded() && !isInactiveOrFailed(u.activeState()) {
			// Masked, broken or deleted while it runs (then daemon-reload): the unit takes
			// the new load state (no new start; systemd 252 shows "not-found (Reason: Unit X
			// not found.)" for a deleted one) but keeps running on its old configuration,
			// which its state machine needs until it stops. A deleted unit's Description=
			// went with its file.
			keep := *cfg
			keep.Type, keep.Unit, keep.Install = u.cfg.Type, u.cfg.Unit, u.cfg.Install
			if cfg.LoadState == unit.NotFound {
				keep.Unit.Description, keep.Unit.Documentation = "", nil
			}
			keep.Socket, keep.Service, keep.Target = u.cfg.Socket, u.cfg.Service, u.cfg.Target
			keep.Timer, keep.Path = u.cfg.Timer, u.cfg.Path
			keep.Triggers, keep.TriggeredBy = u.cfg.Triggers, u.cfg.TriggeredBy
			cfg = &keep
		}
		if u.sock != nil && cfg.Socket != nil && len(u.sock.socks) > 0 && !sameListen(u.cfg.Socket.Listen, cfg.Socket.Listen) {
			// The addresses changed. The open sockets (u.sock.socks, each with its own Spec)
			// stay in service, pending connections included, until the socket unit is
			// restarted; sockOpen then opens the new Listen= (the new configuration is kept).
			m.logUnit(u, "Listen= changed; the new addresses take effect when the socket is restarted.")
		}
		u.cfg = cfg
		// As systemd's serialization, only the commands still running keep their status.
		for k, r := range u.runs {
			if !r.Exit.IsZero() {
				delete(u.runs, k)
			}
		}
		for _, n := range cfg.Names {
			if _, ok := m.units[n]; !ok {
				m.bind(n, u)
			}
		}
	}
	m.reindexOrdering()
	m.stateReloaded()
	for _, u := range m.order {
		m.cooldownReload(u)
	}
	// Waiting timers compute their next elapse from their new values, as systemd's coldplug
	// after a reload.
	for _, u := range m.timerUnits() {
		if u.sub == "waiting" && u.cfg.Timer != nil {
			m.timerEnterWaiting(u, false)
		}
	}
	// Path units watch their new paths (path_coldplug).
	for _, u := range m.order {
		if u.pth != nil && m.units[u.Name] == u && (u.sub == "waiting" || u.sub == "running") && u.cfg.Path != nil {
			m.pathEnterWaiting(u, true, false)
		}
	}
}

func sameListen(a, b []unit.Listen) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || a[i].Raw != b[i].Raw {
			return false
		}
	}
	return true
}

func procCmdline(pid int) string {
	data, err := readFileSmall("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
}
