package manager

import (
	"io"
	"os"
	"syscall"
	"time"

	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/internal/spawn"
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
	// bug reports an internal error: a machine asked for what its table forbids (states.go).
	bug(format string, a ...any)

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

// serviceHost is what a service needs of the manager beyond what every machine does: the
// process layer (process.go, pidfile.go, tracking.go, exec.go), its sockets, and the
// consequences of a service going down that systemd runs on its way to auto-restart.
type serviceHost interface {
	host

	// spawn starts cmd as a process of u, afterExec runs fn once its execve succeeded or
	// failed; trackMain makes pid, running path, u's main process, whose exit the reaper
	// hands to the service (mainExited). processesOf lists u's processes.
	spawn(u *Unit, cmd unit.ExecCommand, ec *unit.ExecContext, p *execParams) (*spawn.Process, error)
	afterExec(sp *spawn.Process, fn func(err error))
	trackMain(u *Unit, pid int, sp *spawn.Process, path string)
	processesOf(u *Unit) []int
	// runControlWithMain is runControl for commands that may refer to $MAINPID; killUnit
	// signals u's processes as KillMode= says and counts them.
	runControlWithMain(u *Unit, cmds []unit.ExecCommand, phase subState, next func(ok bool))
	killUnit(u *Unit, sig syscall.Signal, sighupToo bool) int
	// The main process: adopt one (MAINPID=, PIDFile=), guess it, read the PID file, see
	// whether it names another, wait for it to appear; whether an exit is clean, and killed
	// by the OOM killer.
	adoptMain(u *Unit, pid int)
	guessMainPID(u *Unit) int
	loadPIDFile(u *Unit) (int, error)
	pidFileMoved(u *Unit, warn bool) bool
	awaitPIDFile(u *Unit)
	cleanExit(cfg *unit.ServiceSection, ws syscall.WaitStatus) bool
	cgroupOOMKilled(u *Unit) bool
	// The commands' status (show's Exec*=) and their log lines.
	execStarted(u *Unit, setting string, index, pid int)
	execExited(u *Unit, setting string, index, pid int, code string, status int)
	logProcessExit(u *Unit, kind, command, code string, status int, clean bool)
	logUnitAt(u *Unit, prio int, fields []logs.Field, format string, a ...any)
	logRestartScheduled(u *Unit, n int)
	logResources(u *Unit)
	logSeq() uint64
	// The sockets that activate u, and those of them handed over at its start.
	socketsOf(u *Unit) []*Unit
	listenFiles(u *Unit) ([]*os.File, []string)
	// StartLimitBurst= (which counts the start), StartLimitAction=, PropagatesReloadTo=; and
	// what u's going down runs: SuccessAction=/FailureAction=, the units bound to it.
	startLimitHit(u *Unit) bool
	emergencyAction(u *Unit, action string, warn bool, exitStatus int, reason string)
	propagateReload(u *Unit)
	unitActions(u *Unit, old, nu ActiveState)
	stopBound(u *Unit, unexpected bool)
	// isShuttingDown: the manager stops everything (no restarts).
	isShuttingDown() bool
}

var _ serviceHost = (*Manager)(nil)

func (m *Manager) spawn(u *Unit, cmd unit.ExecCommand, ec *unit.ExecContext, p *execParams) (*spawn.Process, error) {
	return m.sys().spawn(m, u, cmd, ec, p)
}

func (m *Manager) afterExec(sp *spawn.Process, fn func(err error)) { m.sys().afterExec(m, sp, fn) }

func (m *Manager) trackMain(u *Unit, pid int, sp *spawn.Process, path string) {
	m.procs[pid] = &proc{pid: pid, u: u, kind: "main", sid: pid, onExit: m.mainExitHandler(u, pid), sp: sp, path: path}
}

func (m *Manager) processesOf(u *Unit) []int { return m.sys().unitPIDs(m, u) }
func (m *Manager) logSeq() uint64            { return m.logs.LastSeq() }
func (m *Manager) isShuttingDown() bool      { return m.shuttingDown }

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
