package manager

import (
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/cgroup"
	"github.com/flint-init/flint/unit"
)

// Scope units (systemd.scope(5)): processes that flint did not start, handed to it by
// StartTransientUnit's PIDs= (systemd-run --scope passes its own pid, then executes the
// command). The start moves them into the scope's cgroup (its slice's, as a service's)
// and the scope runs until its processes are all gone; a stop signals them (KillSignal=,
// then SIGKILL after TimeoutStopSec=). The processes are not flint's children: flint watches
// them with pidfds, and when one ends it lists the scope's processes anew (from the cgroup
// when there is one, so that a child left behind keeps the scope).
//
// A scope unit flint did not make (a unit file, or one of systemd's names such as
// init.scope) is taken as present: it runs with no processes of its own until stopped.

// scopeRun is a transient scope's runtime: its settings (from StartTransientUnit) and what
// watches its processes. The manager goroutine's.
type scopeRun struct {
	pids        []int // PIDs=: moved into the scope at its start
	slice       string
	timeoutStop time.Duration
	killSignal  syscall.Signal
	sendSIGKILL bool
	sendSIGHUP  bool
	// killMode is KillMode=: control-group (""), mixed, process or none.
	killMode string
	// controller is Controller=: the bus name a stop asks (RequestStop) instead of
	// signalling the processes; "" for none, or once the name has gone from the bus.
	controller string

	// tracked are the processes when there is no cgroup to list them.
	tracked []int
	// gen invalidates an earlier watcher, timerGen an earlier timer.
	gen, timerGen int
	timer         stopper
	// cancel ends the current watch.
	cancel func()
	// procs sees the processes (pidfdProcs; the table tests' fake).
	procs scopeProcs
}

func newScopeRun() *scopeRun {
	return &scopeRun{timeoutStop: unit.DefaultTimeout, killSignal: syscall.SIGTERM, sendSIGKILL: true, procs: pidfdProcs{}}
}

// scopeProcs is how a scope sees processes that are not flint's children.
type scopeProcs interface {
	// alive reports whether pid runs (a zombie does not); tree lists the live processes
	// among pids and their descendants.
	alive(pid int) bool
	tree(pids []int) []int
	// watch runs gone on the manager goroutine (through post) once one of pids has ended,
	// unless cancel was called before.
	watch(post func(func()), pids []int, gone func()) (cancel func(), err error)
}

// pidfdProcs watches with pidfds, polled on a goroutine of its own.
type pidfdProcs struct{}

func (pidfdProcs) alive(pid int) bool { return procAlive(pid) }

func (pidfdProcs) tree(pids []int) []int {
	roots := make(map[int]bool, len(pids))
	for _, pid := range pids {
		roots[pid] = true
	}
	out := descendants(roots)
	slices.Sort(out)
	return out
}

func (pidfdProcs) watch(post func(func()), pids []int, gone func()) (func(), error) {
	var fds []unix.PollFd
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // gone meanwhile: the next look sees it
		}
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		for _, f := range fds {
			unix.Close(int(f.Fd))
		}
		return nil, err
	}
	fds = append(fds, unix.PollFd{Fd: int32(p[0]), Events: unix.POLLIN})
	go func() {
		// The goroutine owns the pidfds and the pipe's read end; cancel closes the write end.
		defer func() {
			for _, f := range fds {
				unix.Close(int(f.Fd))
			}
		}()
		for {
			_, err := unix.Poll(fds, -1)
			if err == unix.EINTR {
				continue
			}
			if fds[len(fds)-1].Revents != 0 {
				return // canceled
			}
			break
		}
		post(gone)
	}()
	var once sync.Once
	return func() { once.Do(func() { unix.Close(p[1]) }) }, nil
}

// scopeHost is a scope's host: the scope's runtime (nil for a scope flint did not make),
// its cgroup (scopeAttach makes it and moves pids in, or refuses when its slice's BPF
// programs cannot be attached; scopeCgroupPIDs lists its processes,
// ok false without one; scopeRemoveCgroup removes it), and post, which runs fn on the
// manager goroutine (from a watcher's goroutine).
type scopeHost interface {
	host
	scopeRunOf(u *Unit) *scopeRun
	scopeAttach(u *Unit, pids []int) error
	scopeCgroupPIDs(u *Unit) (pids []int, ok bool)
	scopeRemoveCgroup(u *Unit)
	// scopeRequestStop sends RequestStop to the scope's controller; false when it cannot.
	scopeRequestStop(u *Unit, controller string) bool
	post(fn func())
}

// scopeMachine is a scope's state machine.
type scopeMachine struct{ scopeHost }

func (s scopeMachine) reload(u *Unit)    { s.setState(u, u.sub) }
func (scopeMachine) processGone(u *Unit) {}

// scopeRunOf is u's runtime, nil unless StartTransientUnit made u.
func (m *Manager) scopeRunOf(u *Unit) *scopeRun {
	if m.dbus == nil {
		return nil
	}
	return m.dbus.scopes[u]
}

func (s scopeMachine) start(u *Unit) {
	sr := s.scopeRunOf(u)
	if sr != nil && !u.hs().inactiveExit.isZero() {
		// A scope's processes were handed over once: a scope is started once only
		// (systemd's once_only), its job fails as "once".
		if u.job != nil {
			s.finishJob(u.job, "once")
		}
		return
	}
	u.result = resultSuccess
	u.hist().invocationID = newInvocationID()
	if sr == nil {
		s.setState(u, scopeRunning)
		return
	}
	var alive []int
	for _, pid := range sr.pids {
		if sr.procs.alive(pid) && !slices.Contains(alive, pid) {
			alive = append(alive, pid)
		}
	}
	if len(alive) == 0 {
		s.logUnit(u, "No PIDs left to attach to the scope's control group, refusing.")
		u.setResult(resultResources)
		s.setState(u, scopeFailed)
		return
	}
	if err := s.scopeAttach(u, alive); err != nil {
		s.logUnit(u, "%v", err)
		u.setResult(resultResources)
		s.setState(u, scopeFailed)
		return
	}
	sr.tracked = alive
	s.setState(u, scopeRunning)
	s.watch(u, sr)
}

// scopeAttach makes the scope's cgroup (when there are cgroups) and moves pids into it,
// once the programs of its slices' BPF settings are attached (bpf.go): where they cannot
// be, the processes are not moved and the start fails.
func (m *Manager) scopeAttach(u *Unit, pids []int) error {
	ug := m.scopeGroup(u)
	if err := m.sliceBPFReady(u); err != nil {
		return err
	}
	if ug == nil {
		return nil
	}
	for _, pid := range pids {
		if err := ug.g.Attach(pid); err != nil {
			m.logUnit(u, "Failed to add PID %d to the scope's control group: %v", pid, err)
		}
	}
	return nil
}

// scopeCgroupPIDs are the processes in the scope's cgroup; ok is false without one.
func (m *Manager) scopeCgroupPIDs(u *Unit) ([]int, bool) {
	ug := m.cg.groups[u.Name]
	if ug == nil {
		return nil, false
	}
	pids, err := ug.g.PIDs()
	return pids, err == nil
}

// scopeRemoveCgroup removes the scope's cgroup, if it has one (and it is empty).
func (m *Manager) scopeRemoveCgroup(u *Unit) {
	if ug := m.cg.groups[u.Name]; ug != nil {
		m.removeGroup(u.Name, ug)
	}
}

// scopeGroup makes the scope's cgroup, nil without cgroups.
func (m *Manager) scopeGroup(u *Unit) *unitGroup {
	if !m.cgroupsOn() {
		return nil
	}
	if ug := m.cg.groups[u.Name]; ug != nil {
		ug.idle = false
		return ug
	}
	slice := m.scopeSlice(u)
	rel, ok := cgroup.UnitPath(slice, u.Name)
	if !ok {
		slice = m.unitSlice(nil, nil)
		rel, _ = cgroup.UnitPath(slice, u.Name)
	}
	m.sliceGroup(slice) // its settings (and BPF programs) in place first, as a unit's (cgroup.go)
	g := &cgroup.Group{L: m.opt.Cgroups, Rel: rel}
	if err := g.Create(); err != nil {
		m.logUnit(u, "Failed to create cgroup %s: %v", g.Path(), err)
		return nil
	}
	ug := &unitGroup{g: g, dirFD: -1}
	if m.cg.groups == nil {
		m.cg.groups = map[string]*unitGroup{}
	}
	m.cg.groups[u.Name] = ug
	return ug
}

// scopeSlice is the slice of a transient scope: its Slice=, else the manager's default
// (system.slice, app.slice); "" (-.slice) for a scope flint did not make (init.scope). The
// slice is the scope's as a service's is: its start pulls the slice's in and waits for it,
// a stop of the slice stops it (slice.go).
func (m *Manager) scopeSlice(u *Unit) string {
	sr := m.scopeRunOf(u)
	switch {
	case sr == nil:
		return ""
	case sr.slice != "":
		return sr.slice
	}
	return m.unitSlice(u, nil)
}

// pids are the scope's live processes: its cgroup's, else those it was given and their
// descendants (a zombie is gone).
func (s scopeMachine) pids(u *Unit, sr *scopeRun) []int {
	var out []int
	if pids, ok := s.scopeCgroupPIDs(u); ok {
		for _, pid := range pids {
			if sr.procs.alive(pid) {
				out = append(out, pid)
			}
		}
		return out
	}
	// Without a cgroup, the processes given and their descendants, each tracked once seen
	// (a child whose parent ends before flint looks is lost: it is reparented).
	sr.tracked = sr.procs.tree(sr.tracked)
	return slices.Clone(sr.tracked)
}

// scopeUnitPIDs are a transient scope's processes, for status, GetProcesses and kill; ok is
// false for other units.
func (m *Manager) scopeUnitPIDs(u *Unit) ([]int, bool) {
	sr := m.scopeRunOf(u)
	if sr == nil || u.cfg.Type != unit.TypeScope {
		return nil, false
	}
	if isInactiveOrFailed(u.activeState()) && m.cg.groups[u.Name] == nil {
		return nil, true
	}
	return scopeMachine{m}.pids(u, sr), true
}

// watch waits until one of the scope's processes ends, then looks whether any is left.
func (s scopeMachine) watch(u *Unit, sr *scopeRun) {
	if sr.cancel != nil {
		sr.cancel()
		sr.cancel = nil
	}
	pids := s.pids(u, sr)
	if len(pids) == 0 {
		s.end(u, sr)
		return
	}
	sr.gen++
	gen := sr.gen
	cancel, err := sr.procs.watch(s.post, pids, func() {
		if s.scopeRunOf(u) != sr || sr.gen != gen {
			return
		}
		s.watch(u, sr)
	})
	if err != nil {
		s.logUnit(u, "Cannot watch the scope's processes: %v", err)
		return
	}
	sr.cancel = cancel
}

// unwatch stops the scope's process watch and its stop timer; what they already posted is
// ignored (the generations move on).
func (sr *scopeRun) unwatch() {
	if sr.cancel != nil {
		sr.cancel()
		sr.cancel = nil
	}
	if sr.timer != nil {
		sr.timer.Stop()
		sr.timer = nil
	}
	sr.gen++
	sr.timerGen++
}

// end: the scope's processes are all gone.
func (s scopeMachine) end(u *Unit, sr *scopeRun) {
	sr.unwatch()
	if isInactiveOrFailed(u.activeState()) {
		return
	}
	s.scopeRemoveCgroup(u)
	s.logUnitResult(u)
	if u.result != resultSuccess {
		s.setState(u, scopeFailed)
		return
	}
	s.setState(u, scopeDead)
}

func (s scopeMachine) stop(u *Unit) {
	if isInactiveOrFailed(u.activeState()) {
		s.jobCheck(u)
		return
	}
	sr := s.scopeRunOf(u)
	if sr == nil {
		s.setState(u, scopeDead)
		return
	}
	if u.sub == scopeStopSigterm || u.sub == scopeStopSigkill {
		return // stopping already
	}
	s.signal(u, sr, scopeStopSigterm)
}

// signal enters a signal state: the scope's processes get KillSignal= (with SIGCONT,
// and SIGHUP with SendSIGHUP=) or SIGKILL, and TimeoutStopSec= runs.
//
// A scope with a controller (Controller=) is asked instead at the SIGTERM step: the
// controller gets RequestStop and its processes no signal, as in systemd's
// scope_enter_signal; when they are not gone after TimeoutStopSec=, the SIGKILL step.
//
// KillMode= decides who is signalled, as systemd's unit_kill_context() for a unit that has
// no main or control process: control-group, everyone at both steps; mixed, nobody at the
// SIGTERM step (which goes on to SIGKILL at once), everyone at the SIGKILL step; process and
// none, nobody: the scope is dead at once and its processes stay where they are.
func (s scopeMachine) signal(u *Unit, sr *scopeRun, st scopeState) {
	pids := s.pids(u, sr)
	if len(pids) == 0 {
		s.end(u, sr)
		return
	}
	asked := st == scopeStopSigterm && sr.controller != "" && s.scopeRequestStop(u, sr.controller)
	switch {
	case asked:
		pids = nil
	case sr.killMode == "mixed" && st == scopeStopSigterm:
		s.signal(u, sr, scopeStopSigkill)
		return
	case sr.killMode == "process" || sr.killMode == "none":
		s.leave(u, sr)
		return
	}
	for _, pid := range pids {
		if st == scopeStopSigkill {
			s.sys().kill(pid, syscall.SIGKILL)
			continue
		}
		s.sys().kill(pid, sr.killSignal)
		if sr.killSignal != syscall.SIGKILL && sr.killSignal != syscall.SIGCONT {
			s.sys().kill(pid, syscall.SIGCONT)
		}
		if sr.sendSIGHUP {
			s.sys().kill(pid, syscall.SIGHUP)
		}
	}
	s.setState(u, st)
	if sr.timer != nil {
		sr.timer.Stop()
		sr.timer = nil
	}
	if sr.timeoutStop <= 0 || sr.timeoutStop == unit.DurationInfinity {
		return
	}
	sr.timerGen++
	gen := sr.timerGen
	sr.timer = s.after(sr.timeoutStop, func() {
		if s.scopeRunOf(u) != sr || sr.timerGen != gen || u.sub != st {
			return
		}
		sr.timer = nil
		s.logUnit(u, "Stopping timed out. Killing.")
		u.setResult(resultTimeout)
		if st == scopeStopSigterm && sr.sendSIGKILL {
			s.signal(u, sr, scopeStopSigkill)
			return
		}
		// SIGKILL did not end them (or SendSIGKILL=no): the scope fails, what is left stays.
		if sr.cancel != nil {
			sr.cancel()
			sr.cancel = nil
		}
		sr.gen++
		s.logUnitResult(u)
		s.setState(u, scopeFailed)
	})
}

// leave: a stop that signalled nobody (KillMode=process or none) ends the scope; its
// processes are left behind, in its cgroup.
func (s scopeMachine) leave(u *Unit, sr *scopeRun) {
	sr.unwatch()
	s.logUnitResult(u)
	if u.result != resultSuccess {
		s.setState(u, scopeFailed) // a controller's stop that timed out
		return
	}
	s.setState(u, scopeDead)
}

// scopeAbandon is AbandonScope: the scope's client no longer manages it.
func (m *Manager) scopeAbandon(u *Unit) error {
	if m.scopeRunOf(u) == nil || u.sub != scopeRunning && u.sub != scopeAbandoned {
		return &reqError{"not-applicable", "Scope " + u.Name + " is not running, cannot abandon."}
	}
	m.setController(u, m.scopeRunOf(u), "") // the client no longer asks to be asked
	m.setState(u, scopeAbandoned)
	return nil
}

// scopeForget drops an unloaded scope's runtime.
func (m *Manager) scopeForget(u *Unit) {
	sr := m.scopeRunOf(u)
	if sr == nil {
		return
	}
	if sr.cancel != nil {
		sr.cancel()
	}
	if sr.timer != nil {
		sr.timer.Stop()
	}
	m.setController(u, sr, "")
	delete(m.dbus.scopes, u)
}
