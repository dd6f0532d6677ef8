package manager

import (
	"io"
	"syscall"
	"time"

	"github.com/flint-init/flint/unit"
)

// host is what a unit state machine may ask of the manager: the one way from a machine's
// code (timer.go, path.go, target.go, ...) into the rest of the package. A machine holds a
// host, not the *Manager: it changes its unit's state, ends or queues jobs, logs, and reaches
// the OS and the clocks through it; everything a state change brings about (the job's end,
// OnFailure=, BindsTo=, the units that trigger it) runs behind setState. *Manager is the
// host.
type host interface {
	// setState enters sub: the type's table must allow it; every consequence of the change
	// runs before it returns (units.go).
	setState(u *Unit, sub subState)
	// jobCheck ends u's job if u's state completes it; finishJob ends job j with result
	// ("done", "failed", "dependency", ...); enqueueErr queues a job as a request would.
	jobCheck(u *Unit)
	finishJob(j *job, result string)
	enqueueErr(typ string, u *Unit, mode string, cb jobCallback) error

	// lookup is the unit registered under name, or nil; load loads it if need be.
	lookup(name string) *Unit
	load(name string) *Unit

	// logUnit writes "u: text" to u's log, logUnitResult the "Failed with result" or
	// "Deactivated successfully" line of a unit that went down; consolef is a status line.
	logUnit(u *Unit, format string, a ...any)
	logUnitResult(u *Unit)
	consolef(format string, a ...any)

	// sys is the operating system (processes, signals, the clocks).
	sys() system
	// after runs fn on the manager goroutine once d passed, unless stopped before; later
	// runs fn on a later turn of the loop.
	after(d time.Duration, fn func()) stopper
	later(fn func())
	// watchPath watches spec's path (inotify); got runs on the manager goroutine for each
	// batch of events, primary telling whether the path itself was touched.
	watchPath(spec unit.PathSpec, got func(primary bool)) (io.Closer, error)

	// What the manager knows of its run: when it started (calendar timers due before then
	// elapse then; OnStartupSec= counts from it), the time zone calendar timers follow, its
	// scope, and the file that keeps a Persistent= timer's last trigger.
	startTime() time.Time
	calendarZone() *time.Location
	scope() unit.Scope
	stampPath(u *Unit) string
	// runControl runs cmds as u's control processes, one after the other, in state phase,
	// then next(ok) (process.go); killProcess signals one of them.
	runControl(u *Unit, cmds []unit.ExecCommand, phase subState, next func(ok bool))
	killProcess(pid int, sig syscall.Signal)
	// enqueue queues a job; cb sees its result.
	enqueue(typ string, u *Unit, mode string, cb jobCallback)
	// stateChanged marks u's record in the state file stale (what another manager would
	// take over changed: its sockets, its processes).
	stateChanged(u *Unit)

	// The sockets' readiness: pollKey registers socket idx of u and gives its poller key,
	// pollForget drops one, poll is the poller that watches the sockets (socket.go).
	pollKey(u *Unit, idx int) uint64
	pollForget(key uint64)
	poll() fdPoller
	// newInstance registers Accept=yes instance inst of socket u's service.
	newInstance(u *Unit, inst string) (*Unit, error)
	// cooldownDue re-arms u if its trigger limit cooldown is over (cooldown.go).
	cooldownDue(u *Unit)

	// armWallClock arms the manager's wall-clock timer for the waiting timers' calendar
	// elapses (wallclock.go).
	armWallClock()
}

var _ host = (*Manager)(nil)

func (m *Manager) lookup(name string) *Unit { return m.units[name] }

func (m *Manager) after(d time.Duration, fn func()) stopper { return m.sys().afterFunc(m, d, fn) }

func (m *Manager) later(fn func()) { m.sys().later(m, fn) }

func (m *Manager) watchPath(spec unit.PathSpec, got func(primary bool)) (io.Closer, error) {
	return m.sys().watchPath(m, spec, got)
}

// fdPoller is what the sockets need of the poller (*listen.Poller).
type fdPoller interface {
	Add(fd int, key uint64) error
	Rearm(fd int, key uint64) error
	Remove(fd int) error
}

func (m *Manager) poll() fdPoller { return m.poller }

func (m *Manager) pollKey(u *Unit, idx int) uint64 {
	m.nextKey++
	m.pollRefs[m.nextKey] = &pollRef{u: u, idx: idx}
	return m.nextKey
}

func (m *Manager) pollForget(key uint64) { delete(m.pollRefs, key) }

func (m *Manager) startTime() time.Time         { return m.bootTime }
func (m *Manager) calendarZone() *time.Location { return m.localZone }
func (m *Manager) scope() unit.Scope            { return m.opt.Scope }
