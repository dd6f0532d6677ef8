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
// code (timer.go, path.go, target.go, socket.go, service*.go) into the rest of the package.
// A machine holds a host, not the *Manager: it changes its unit's state, ends or queues
// jobs, logs, and reaches the OS and the clocks through it; everything a state change brings
// about (the job's end, OnFailure=, BindsTo=, the units that trigger it) runs behind
// setState. A type that needs more has a host of its own that adds it (timerHost,
// socketHost, serviceHost). *Manager is every host.
type host interface {
	// setState enters sub: the type's table must allow it; every consequence of the change
	// runs before it returns (units.go).
	setState(u *Unit, sub subState)
	// jobCheck ends u's job if u's state completes it; finishJob ends job j with result
	// ("done", "failed", "dependency", ...); enqueue and enqueueErr queue a job as a request
	// would (cb sees its result).
	jobCheck(u *Unit)
	finishJob(j *job, result string)
	enqueue(typ string, u *Unit, mode string, cb jobCallback)
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
	// runControl runs cmds as u's control processes, one after the other, in state phase,
	// then next(ok) (process.go); killProcess signals one of them.
	runControl(u *Unit, cmds []unit.ExecCommand, phase subState, next func(ok bool))
	killProcess(pid int, sig syscall.Signal)
	// stateChanged marks u's record in the state file stale (what another manager would
	// take over changed: its sockets, its processes).
	stateChanged(u *Unit)
	// scope is the manager's: system or user.
	scope() unit.Scope
}

// timerHost is a timer's host: what the manager knows of its run (when it started:
// calendar timers due before then elapse then, OnStartupSec= counts from it; the time zone
// calendar timers follow), the file that keeps a Persistent= timer's last trigger, and the
// manager's wall-clock timer, armed for the waiting timers' calendar elapses (wallclock.go).
type timerHost interface {
	host
	startTime() time.Time
	calendarZone() *time.Location
	stampPath(u *Unit) string
	armWallClock()
}

// socketHost is a socket's host: the poller that watches its sockets (pollKey registers
// socket idx of u and gives its key, pollForget drops one), its Accept=yes instances
// (newInstance registers instance inst of u's service), and cooldownDue, which re-arms u if
// its trigger limit cooldown is over (cooldown.go); socketCgroup readies u's cgroup BPF
// filters for the sockets made until leave is called (bpf.go).
type socketHost interface {
	host
	pollKey(u *Unit, idx int) uint64
	pollForget(key uint64)
	poll() fdPoller
	newInstance(u *Unit, inst string) (*Unit, error)
	cooldownDue(u *Unit)
	socketCgroup(u *Unit) (leave func(), err error)
}

var (
	_ timerHost  = (*Manager)(nil)
	_ socketHost = (*Manager)(nil)
)

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
	// cgroupWatchEmpty runs gone whenever u's cgroup's population changes, until it returns
	// true; false where u has no group to watch (cgroup_events.go).
	cgroupWatchEmpty(u *Unit, gone func() bool) bool
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
	// The sockets that activate u, those of them handed over at its start, and their
	// machine, which a service going down or failing its start limit tells.
	socketsOf(u *Unit) []*Unit
	listenFiles(u *Unit) ([]*os.File, []string)
	sockets() socketMachine
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
func (m *Manager) sockets() socketMachine    { return socketMachine{m} }
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
	m.pollRefs[m.nextKey] = pollRef{u: u, idx: idx}
	return m.nextKey
}

func (m *Manager) pollForget(key uint64) { delete(m.pollRefs, key) }

func (m *Manager) startTime() time.Time         { return m.bootTime }
func (m *Manager) calendarZone() *time.Location { return m.localZone }
func (m *Manager) scope() unit.Scope            { return m.opt.Scope }
