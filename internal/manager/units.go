package manager

import (
	"cmp"
	"slices"
	"sort"
	"time"

	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/show"
)

// Unit is the runtime side of one unit: its loaded configuration and its state machine.
// Thousands of them are loaded at once: what only a unit that ran needs is in h, a
// service's state in svc (allocated at its first use), and the small fields come last,
// together, without padding (TestUnitSize).
type Unit struct {
	Name string
	cfg  *unit.Unit

	sub subState // its type's state; ActiveState follows from it
	job *job

	seq    uint64 // registration order: m.order is sorted by it
	gcMark uint64 // collectGarbage's mark: its generation plus gcInPath, gcUnsure, gcGood or gcBad
	// aliases are the names other than Name under which Manager.units holds it (bind);
	// nil for most units (a pointer: 8 bytes rather than a slice's 24 in every Unit).
	// keyAt walks them all, Name first.
	aliases *[]string

	// h is what u keeps of its runs, nil until its first state change or start: a unit
	// never started (a service waiting for its socket's first connection) holds none.
	h *unitHist

	sock *socketRT
	svc  *serviceRT
	rec  *unitRecord // its lines in the state file, nil if none (leftovers.go)
	// more holds what few units have: a timer's or path's runtime, a cooldown, a run's
	// dynamic user, PrivateTmp= directories; nil for the others (mo reads, wmore writes).
	more *unitMore

	result Result // resultSuccess or the first failure: exit-code, signal, timeout, ...
	// cleanResult is the last clean's (CleanResult=; clean.go); resultNone: never cleaned.
	cleanResult Result
	gcQueued    bool // in Manager.gcQueue
	transient   bool
	recFresh    bool // rec is up to date
	recQueued   bool // u is in the state file's list of stale units (stateFile.stale)
}

// unitMore is the part of a Unit that most units (sockets, services, targets) do without.
type unitMore struct {
	tmr      *timerRT
	pth      *pathRT
	cooldown *cooldown  // a pending re-arm after trigger-limit-hit (cooldown.go)
	run      *runCreds  // the user and group of the current run, nil when none (dynuser.go)
	fsrt     *fsRuntime // the PrivateTmp= directories of its run, shared by its group (sandbox_fs.go)
}

// noMore is the unitMore of a unit without one: the zero one, read only.
var noMore unitMore

// mo is u's unitMore to read: noMore while it has none.
func (u *Unit) mo() *unitMore {
	if u.more == nil {
		return &noMore
	}
	return u.more
}

// wmore is u's unitMore to write, allocated at the first write.
func (u *Unit) wmore() *unitMore {
	if u.more == nil {
		u.more = &unitMore{}
	}
	return u.more
}

// unitHist is what a unit keeps of its runs: its invocation, the times of its state
// changes, its conditions' results, its commands' status and CPU time.
type unitHist struct {
	invocationID string
	stateChange  stamp
	activeEnter  stamp
	inactiveExit stamp
	// inactiveExitSeq is the log's last line at inactiveExit: status shows the lines after it,
	// as systemctl shows the journal entries since the unit last left the inactive state.
	inactiveExitSeq uint64
	conditionResult bool
	assertResult    bool
	conditionStamp  stamp // when the conditions were last checked (ConditionTimestamp)
	assertStamp     stamp
	// unmet lists the conditions and assertions systemctl status names after a failed check,
	// in file order (unmetConditions); nil when every check passed.
	unmet *unmetChecks
	// x is what a unit that stopped, ran commands or failed a condition keeps besides:
	// nil for a socket that only listens (ex reads, wex writes).
	x *histExtra
}

// histExtra is the part of a unitHist that a socket that only listens does without.
type histExtra struct {
	// the times it last left the active states and entered the inactive ones (it stopped)
	activeExit, inactiveEnter stamp
	conditionFailed           string // "ConditionPathExists=/x" that failed
	assertFailed              string
	// cpu is the CPU time of the processes of u reaped since it last started (rusage):
	// "Consumed ... CPU time." when it goes down (journal.go).
	cpu time.Duration
	// runs are the runtime states of its commands since it last started (systemd's
	// ExecStatus): what `show` gives with Exec*= and `status` as "Process:" lines.
	runs map[execKey]*show.ExecRun
}

// noExtra is the histExtra of a unitHist without one: the zero one, read only.
var noExtra histExtra

// ex is h's histExtra to read: noExtra while it has none.
func (h *unitHist) ex() *histExtra {
	if h.x == nil {
		return &noExtra
	}
	return h.x
}

// wex is h's histExtra to write, allocated at the first write.
func (h *unitHist) wex() *histExtra {
	if h.x == nil {
		h.x = &histExtra{}
	}
	return h.x
}

// resetRuns forgets the commands' status and CPU time, as a start does.
func (h *unitHist) resetRuns() {
	if h.x != nil {
		h.x.runs, h.x.cpu = nil, 0
	}
}

// stamp is one time of a unit's history in 16 bytes rather than a time.Time's 24, as
// systemd's dual_timestamp: the wall clock (Unix nanoseconds) and CLOCK_MONOTONIC (monoOf)
// read at the same moment. The zero stamp is the zero time.
type stamp struct {
	wall, mono int64
}

// stampOf is t as a stamp.
func stampOf(t time.Time) stamp {
	if t.IsZero() {
		return stamp{}
	}
	return stamp{wall: t.UnixNano(), mono: int64(monoOf(t))}
}

func (s stamp) isZero() bool { return s == stamp{} }

// time is the stamp's wall clock time (the zero time for the zero stamp).
func (s stamp) time() time.Time {
	if s.isZero() {
		return time.Time{}
	}
	return time.Unix(0, s.wall)
}

// monotonic is the stamp on CLOCK_MONOTONIC, as monoOf (0 for the zero stamp).
func (s stamp) monotonic() time.Duration { return time.Duration(s.mono) }

// unmetChecks are the conditions and assertions a unit's last check found unmet.
type unmetChecks struct{ conditions, asserts []string }

// noHist is the unitHist of a unit that has none yet: the zero one, read only.
var noHist unitHist

// hs is u's unitHist to read: noHist while it has none.
func (u *Unit) hs() *unitHist {
	if u.h == nil {
		return &noHist
	}
	return u.h
}

// hist is u's unitHist to write, allocated at the first write.
func (u *Unit) hist() *unitHist {
	if u.h == nil {
		u.h = &unitHist{}
	}
	return u.h
}

// reloadStamp is one daemon-reload: the time it took place, and Manager.nextSeq then (the
// units loaded before it have a lower or equal seq).
type reloadStamp struct {
	seq uint64
	at  time.Time
}

// stateChangeOf is u's StateChangeTimestamp: its last state change, else the first
// daemon-reload since it was loaded (systemd's units come back from a reload with a state
// change at its time when they had none), except for a transient unit.
func (m *Manager) stateChangeOf(u *Unit) stamp {
	if t := u.hs().stateChange; !t.isZero() || u.transient {
		return t
	}
	if i, _ := slices.BinarySearchFunc(m.reloads, u.seq, func(r reloadStamp, seq uint64) int {
		return cmp.Compare(r.seq, seq)
	}); i < len(m.reloads) {
		return stampOf(m.reloads[i].at)
	}
	return stamp{}
}

// execKey names one command of a unit: its Exec*= setting and its index there.
type execKey struct {
	setting string // "ExecStartPre", "ExecStart", ...
	index   int
}

func (u *Unit) typ() unit.Type { return u.cfg.Type }

// isService reports whether u is a service: one that has, or will have at its first use, a
// serviceRT.
func (u *Unit) isService() bool {
	return u.svc != nil || u.cfg != nil && u.cfg.Type == unit.TypeService
}

// service is u's runtime state as a service, allocated at its first use; nil for other
// types. Paths that only read, and may run for every loaded unit (show, the state file, a
// search by pid), use svcState or u.svc instead.
func (u *Unit) service() *serviceRT {
	if u.svc == nil && u.isService() {
		u.svc = &serviceRT{}
	}
	return u.svc
}

// idleService is the runtime state of a service that has none yet (never started): the
// zero serviceRT, read only.
var idleService serviceRT

// svcState is u's runtime state as a service to read, without allocating it: idleService
// for one that has none yet, nil for other types.
func (u *Unit) svcState() *serviceRT {
	switch {
	case u.svc != nil:
		return u.svc
	case u.isService():
		return &idleService
	}
	return nil
}

// execContext is the exec settings of a service or socket unit (nil for other types, and
// for one whose configuration is gone: not found after a daemon-reload).
func (u *Unit) execContext() *unit.ExecContext {
	switch {
	case u.isService() && u.cfg.Service != nil:
		return u.cfg.Service.Exec
	case u.sock != nil && u.cfg.Socket != nil:
		return u.cfg.Socket.Exec
	}
	return nil
}

// activeState derives ActiveState from the substate.
func (u *Unit) activeState() ActiveState { return u.sub.active() }

// load returns the unit named name, loading it (and registering all its names) if needed,
// with the units it refers to (loadReferred). It never returns nil: a unit that cannot be
// loaded is kept with its LoadState.
func (m *Manager) load(name string) *Unit {
	if u, ok := m.units[name]; ok {
		return u
	}
	cfg := m.loader.Load(name)
	if cfg.LoadState == unit.NotFound {
		if b := m.loader.Builtin(name); b != nil {
			cfg = b
		}
	}
	if cfg.Name != "" && cfg.Name != name {
		if u, ok := m.units[cfg.Name]; ok {
			m.bind(name, u)
			return u
		}
	}
	return m.register(name, cfg)
}

// bind makes name one of u's names in the registry.
func (m *Manager) bind(name string, u *Unit) {
	m.units[name] = u
	if name != u.Name && !slices.Contains(u.aliasList(), name) {
		if u.aliases == nil {
			u.aliases = &[]string{name}
		} else {
			*u.aliases = append(*u.aliases, name)
		}
	}
}

// aliasList is u's aliases, nil for none.
func (u *Unit) aliasList() []string {
	if u.aliases == nil {
		return nil
	}
	return *u.aliases
}

// nkeys is how many names u is registered under (bind): its Name and its aliases.
func (u *Unit) nkeys() int { return 1 + len(u.aliasList()) }

// keyAt is the i-th of them, Name first.
func (u *Unit) keyAt(i int) string {
	if i == 0 {
		return u.Name
	}
	return (*u.aliases)[i-1]
}

// register adds a loaded configuration to the registry under name and all its names.
func (m *Manager) register(name string, cfg *unit.Unit) *Unit {
	m.nextSeq++
	u := &Unit{Name: name, cfg: cfg, sub: deadState(cfg.Type), result: resultSuccess, seq: m.nextSeq}
	if cfg.Name != "" {
		u.Name = cfg.Name
	}
	m.bind(u.Name, u)
	m.bind(name, u)
	for _, n := range cfg.Names {
		if _, ok := m.units[n]; !ok {
			m.bind(n, u)
		}
	}
	m.order = append(m.order, u)
	if len(m.order) >= m.releaseMark+1024 {
		// A burst of loading (a target that wants thousands of units) leaves garbage like a
		// boot's: given back once no job is left. Units that come and go (Accept=yes
		// instances) do not add up to one.
		m.releaseMemory, m.releaseMark = true, len(m.order)
	}
	m.dbusUnitNew(u)
	m.gcEnqueue(u)
	m.indexOrdering(u)
	m.indexRefs(u)
	m.refQueue = append(m.refQueue, u)
	if cfg.Unit.StopWhenUnneeded {
		m.unneeded = append(m.unneeded, u)
	}
	if len(cfg.Unit.Upholds) > 0 {
		m.upholders = append(m.upholders, u)
	}
	switch cfg.Type {
	case unit.TypeSocket:
		u.sock = &socketRT{}
		if cfg.LoadState == unit.Loaded && !cfg.Socket.Accept {
			// As systemd (the socket's Triggers= dependency), the service is loaded with its
			// socket: the first connection then starts a unit in memory, without reading its
			// file on the activation path.
			m.load(cfg.SocketService())
		}
	case unit.TypeService:
		// Its serviceRT comes at its first use (service): thousands of services wait for
		// their socket's first connection.
	case unit.TypeTimer:
		u.wmore().tmr = &timerRT{}
	case unit.TypePath:
		u.wmore().pth = &pathRT{}
	}
	for _, d := range cfg.Diagnostics {
		if d.Severity == unit.Error {
			// In the unit's log too, where `flint status` shows why it did not load.
			m.consolef("%s", d.String())
			m.logUnit(u, "%s", d.String())
		}
	}
	m.loadReferred()
	return u
}

// loaded reports whether the unit can be started.
func (u *Unit) loaded() bool { return u.cfg.LoadState == unit.Loaded }

// setState changes the substate and runs everything that hangs on state changes: job
// completion, socket re-arming, BindsTo/OnFailure propagation, the timers and path units that start u.
func (m *Manager) setState(u *Unit, sub subState) {
	defer m.dbusUnitChanged(u)
	if !u.sub.next(sub) {
		m.bug("%s: illegal transition from %s (%T) to %s (%T)", u.Name, u.sub, u.sub, sub, sub)
	}
	if m.traceState != nil {
		m.traceState(u, sub)
	}
	m.stateChanged(u)
	old := u.activeState()
	u.sub = sub
	now := stampOf(m.sys().now())
	u.hist().stateChange = now
	nu := u.activeState()
	if isInactiveOrFailed(nu) {
		m.gcEnqueue(u) // u, and the units only it refers to, may go
	}
	if u.mo().run != nil && (isInactiveOrFailed(nu) || sub == svcAutoRestart) {
		m.releaseRunCreds(u)
	}
	if isInactiveOrFailed(nu) || sub == svcAutoRestart {
		m.releaseFSRuntime(u)
	}
	m.cgroupStateChanged(u, sub)
	if old == nu {
		m.cooldownFollow(u)
		m.unitStateChanged(u, old, nu)
		m.notifyTriggers(u)
		return
	}
	// As systemd's unit_notify: entering and leaving the inactive states, and the active
	// ones (a unit that fails while starting was never active: no ActiveExitTimestamp).
	switch {
	case isInactiveOrFailed(old) && !isInactiveOrFailed(nu):
		u.hist().inactiveExit, u.hist().inactiveExitSeq = now, m.logs.LastSeq()
	case !isInactiveOrFailed(old) && isInactiveOrFailed(nu):
		u.hist().wex().inactiveEnter = now
	}
	switch {
	case isActiveOrReloading(old) && !isActiveOrReloading(nu):
		u.hist().wex().activeExit = now
	case !isActiveOrReloading(old) && isActiveOrReloading(nu):
		u.hist().activeEnter = now
	}
	m.cooldownFollow(u)
	m.unitStateChanged(u, old, nu)
	if isInactiveOrFailed(nu) && !isInactiveOrFailed(old) {
		m.logResources(u) // after the job's message, as systemd's unit_notify
	}
	m.notifyTriggers(u)
}

// unitStateChanged is systemd's unit_notify: finish jobs, propagate to dependents, run
// SuccessAction=/FailureAction=.
func (m *Manager) unitStateChanged(u *Unit, old, nu ActiveState) {
	// A stop that a stop or restart job asked for is expected: its transaction holds the
	// stops it propagates.
	expected := u.job != nil && (u.job.typ == "stop" || u.job.typ == "restart")
	if u.job != nil {
		m.jobCheck(u)
	}
	if old == nu {
		return
	}
	if old == Deactivating && u.job != nil && !u.job.running {
		m.dispatch() // a start job waited for the stop to end (waitsForStop)
	}
	// A service that stopped hands its sockets back to the listening state; one that runs
	// holds them.
	if u.isService() && isInactiveOrFailed(nu) {
		for _, s := range m.socketsOf(u) {
			socketMachine{m}.socketServiceStopped(s, u)
		}
	}
	if u.isService() && nu == Active && u.sub == svcRunning {
		for _, s := range m.socketsOf(u) {
			socketMachine{m}.socketServiceRunning(s)
		}
	}
	if isInactiveOrFailed(nu) && !isInactiveOrFailed(old) {
		if s := u.svc; s != nil {
			s.activationEnv = nil // the details of an activation last until it is over
		}
		m.stopBound(u, !expected)
		if nu != Failed && (old == Active || old == Reloading || old == Deactivating) {
			m.startTriggered(u, "OnSuccess=", u.cfg.Unit.OnSuccess, u.cfg.Unit.OnSuccessJobMode)
		}
		if u.cfg.Type == unit.TypeService && u.isService() && u.svcState().instanceOf != nil && nu == Inactive {
			// Accept=yes instances are collected once they are done.
			m.collectInstance(u)
		}
	}
	if nu == Failed && old != Failed {
		// As systemd's unit_notify, every entry into failed starts the OnFailure= units, also
		// from inactive: a service whose automatic restart is refused by its start limit
		// (auto-restart, dead, then failed) runs them once, when it gives up.
		m.startOnFailure(u)
	}
	m.unitActions(u, old, nu)
	if !m.shuttingDown {
		m.checkUnneeded()
		m.checkUpholds()
	}
	if m.shuttingDown {
		m.checkShutdownDone()
	}
}

// stopBound stops the units that are up and bound to u (BindsTo=), as u went away, and
// when that was unexpected (no stop job: u failed, or was killed) those that u's stop
// propagates to (PropagatesStopTo=, StopPropagatedFrom=), as systemd's
// retroactively_stop_dependencies.
func (m *Manager) stopBound(u *Unit, unexpected bool) {
	var propagated []string
	if unexpected {
		propagated = m.propagatesStopTo(u)
	}
	// The candidates: the units that name u (BindsTo=, StopPropagatedFrom=) and those u's
	// PropagatesStopTo= names, in load order. A copy: the stops may unload instances.
	var b [1]*Unit
	cand := slices.Clone(m.refBy.get(u.Name, &b))
	for _, n := range u.cfg.Unit.PropagatesStopTo {
		if o := m.units[n]; o != nil && !slices.Contains(cand, o) {
			cand = append(cand, o)
		}
	}
	slices.SortFunc(cand, func(a, b *Unit) int { return cmp.Compare(a.seq, b.seq) })
	for _, o := range cand {
		if o == u || isInactiveOrFailed(o.activeState()) || o.job != nil && o.job.typ == "stop" {
			continue
		}
		if contains(o.cfg.Unit.BindsTo, u.Name) {
			m.consolef("%s: bound to %s, which went away; stopping.", o.Name, u.Name)
			m.enqueue("stop", o, "replace", nil)
		} else if slices.Contains(propagated, o.Name) {
			m.enqueue("stop", o, "replace", nil)
		}
	}
}

// checkUnneeded stops active units with StopWhenUnneeded=yes that no active (or starting)
// unit requires, wants or is bound to any more (systemd's unit_check_unneeded).
func (m *Manager) checkUnneeded() {
	for _, u := range m.unneeded {
		if !u.cfg.Unit.StopWhenUnneeded || u.job != nil || isInactiveOrFailed(u.activeState()) {
			continue
		}
		needed := false
		var b [1]*Unit
		for _, o := range m.refBy.get(u.Name, &b) {
			if o == u {
				continue
			}
			if isInactiveOrFailed(o.activeState()) && (o.job == nil || o.job.typ == "stop") {
				continue
			}
			c := &o.cfg.Unit
			if contains(c.Requires, u.Name) || contains(c.Wants, u.Name) || contains(c.BindsTo, u.Name) ||
				contains(c.Requisite, u.Name) || contains(c.Upholds, u.Name) {
				needed = true
				break
			}
		}
		if !needed {
			m.logUnit(u, "Unit not needed anymore. Stopping.")
			m.enqueue("stop", u, "fail", nil)
		}
	}
}

// checkUpholds starts units that an active unit upholds (Upholds=) once they are down.
func (m *Manager) checkUpholds() {
	for _, o := range m.upholders {
		if !isActiveOrReloading(o.activeState()) {
			continue
		}
		for _, n := range o.cfg.Unit.Upholds {
			u, ok := m.units[n]
			if !ok {
				u = m.load(n)
			}
			if u.job != nil || !isInactiveOrFailed(u.activeState()) || !u.loaded() {
				continue
			}
			if u.isService() && (u.result == resultStartLimitHit || u.svcState().limitHit) {
				continue
			}
			m.logUnit(u, "Upheld by %s, starting.", o.Name)
			m.enqueue("start", u, "replace", nil)
		}
	}
}

// socketsOf returns the socket units that activate service u, in hand-over order: the
// service's Sockets= first, in their order, then other sockets naming it (by unit name).
func (m *Manager) socketsOf(u *Unit) []*Unit {
	var out []*Unit
	seen := map[*Unit]bool{}
	if u.cfg.Service != nil {
		for _, n := range u.cfg.Service.Sockets {
			s := m.load(n)
			if s.sock != nil && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	var rest []*Unit
	// The sockets naming u refer to it (Triggers=, Before=).
	var b [1]*Unit
	for _, n := range append([]string{u.Name}, u.cfg.Names...) {
		for _, s := range m.refBy.get(n, &b) {
			if s.sock == nil || seen[s] || !s.loaded() {
				continue
			}
			if s.cfg.SocketService() == u.Name || contains(u.cfg.Names, s.cfg.SocketService()) {
				seen[s] = true
				rest = append(rest, s)
			}
		}
	}
	for _, n := range u.cfg.TriggeredBy {
		s := m.load(n)
		if s.sock != nil && !seen[s] && s.loaded() {
			seen[s] = true
			rest = append(rest, s)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Name < rest[j].Name })
	return append(out, rest...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// orderIndex holds the reverse ordering edges: before[u] are the loaded units that declare
// Before=u (so u is ordered after them), after[u] those that declare After=u. It makes job
// dispatch O(degree) instead of O(units).
type orderIndex struct {
	before, after revIndex[*Unit]
	// pending edges to units not loaded yet, by name
	pendBefore, pendAfter revIndex[string]
}

// indexOrdering records u's Before=/After= edges, and the edges of earlier units that named u.
func (m *Manager) indexOrdering(u *Unit) {
	ix := &m.orderIndex
	for _, n := range u.cfg.Unit.Before {
		if t, ok := m.units[n]; ok && t != u {
			ix.before.add(t, u)
		} else {
			ix.pendBefore.add(n, u)
		}
	}
	for _, n := range u.cfg.Unit.After {
		if t, ok := m.units[n]; ok && t != u {
			ix.after.add(t, u)
		} else {
			ix.pendAfter.add(n, u)
		}
	}
	var b [1]*Unit
	for i := -1; i < len(u.cfg.Names); i++ {
		n := u.Name
		if i >= 0 {
			n = u.cfg.Names[i]
		}
		if l := ix.pendBefore.get(n, &b); len(l) > 0 {
			ix.before.add(u, l...)
			ix.pendBefore.del(n)
		}
		if l := ix.pendAfter.get(n, &b); len(l) > 0 {
			ix.after.add(u, l...)
			ix.pendAfter.del(n)
		}
	}
}

// reindexOrdering rebuilds the indexes (after daemon-reload changed configurations).
func (m *Manager) reindexOrdering() {
	m.orderIndex = orderIndex{}
	m.refBy = revIndex[string]{}
	m.unneeded, m.upholders = nil, nil
	for _, u := range m.order {
		m.indexOrdering(u)
		m.indexRefs(u)
		if u.cfg.Unit.StopWhenUnneeded {
			m.unneeded = append(m.unneeded, u)
		}
		if len(u.cfg.Unit.Upholds) > 0 {
			m.upholders = append(m.upholders, u)
		}
	}
}

// unindexOrdering forgets u's edges (u is being unloaded, still in m.units). The edges of
// the units that named u go back to the pending lists, for a unit of that name loaded later.
func (m *Manager) unindexOrdering(u *Unit) {
	ix := &m.orderIndex
	unlink := func(idx *revIndex[*Unit], pend *revIndex[string], names []string) {
		for _, n := range names {
			if t, ok := m.units[n]; ok && t != u {
				idx.remove(t, u)
			} else {
				pend.remove(n, u)
			}
		}
	}
	unlink(&ix.before, &ix.pendBefore, u.cfg.Unit.Before)
	unlink(&ix.after, &ix.pendAfter, u.cfg.Unit.After)
	relink := func(from []*Unit, pend *revIndex[string], names func(*Unit) []string) {
		seen := map[*Unit]bool{}
		for _, x := range from {
			if seen[x] || x == u {
				continue // u's own edges went with it
			}
			seen[x] = true
			for _, n := range names(x) {
				if m.units[n] == u {
					pend.add(n, x)
				}
			}
		}
	}
	var b [1]*Unit
	relink(ix.before.get(u, &b), &ix.pendBefore, func(x *Unit) []string { return x.cfg.Unit.Before })
	relink(ix.after.get(u, &b), &ix.pendAfter, func(x *Unit) []string { return x.cfg.Unit.After })
	ix.before.del(u)
	ix.after.del(u)
}
