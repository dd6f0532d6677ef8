package manager

import (
	"io"
	"syscall"
	"time"

	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// system is what the unit state machines need of the operating system: to start processes,
// signal them, list a unit's processes, and wait. The manager's is the real one (realSystem);
// the state machines' table tests give a fake that records each request and runs no process
// and no clock (machine_test.go).
type system interface {
	// spawn starts cmd as a process of u (exec.go's spawnCommand).
	spawn(m *Manager, u *Unit, cmd unit.ExecCommand, ec *unit.ExecContext, p *execParams) (*spawn.Process, error)
	// afterExec runs fn on the manager goroutine once sp's execve succeeded (nil) or failed
	// (Type=exec).
	afterExec(m *Manager, sp *spawn.Process, fn func(err error))
	// kill sends sig to pid.
	kill(pid int, sig syscall.Signal)
	// unitPIDs lists the processes of u.
	unitPIDs(m *Manager, u *Unit) []int
	// afterFunc runs fn on the manager goroutine after d, unless stopped before.
	afterFunc(m *Manager, d time.Duration, fn func()) stopper
	// later runs fn on the manager goroutine on a later turn of the loop.
	later(m *Manager, fn func())
	// watchPath watches spec's path with inotify; got runs on the manager goroutine for each
	// batch of events read (path.go).
	watchPath(m *Manager, spec unit.PathSpec, got func(primary bool)) (io.Closer, error)
	// now is the wall clock, monoNow CLOCK_MONOTONIC.
	now() time.Time
	monoNow() time.Duration
}

// stopper is an armed timer (*time.Timer is one).
type stopper interface{ Stop() bool }

// realSystem is the system itself.
type realSystem struct{}

func (realSystem) spawn(m *Manager, u *Unit, cmd unit.ExecCommand, ec *unit.ExecContext, p *execParams) (*spawn.Process, error) {
	return m.spawnCommand(u, cmd, ec, p)
}

func (realSystem) afterExec(m *Manager, sp *spawn.Process, fn func(err error)) {
	go func() {
		err := sp.ExecResult()
		m.post(func() { fn(err) })
	}()
}

func (realSystem) kill(pid int, sig syscall.Signal) { syscall.Kill(pid, sig) }

func (realSystem) unitPIDs(m *Manager, u *Unit) []int { return m.unitPIDs(u) }

func (realSystem) afterFunc(m *Manager, d time.Duration, fn func()) stopper {
	return time.AfterFunc(d, func() { m.post(fn) })
}

func (realSystem) later(m *Manager, fn func()) { go m.post(fn) }

func (realSystem) watchPath(m *Manager, spec unit.PathSpec, got func(primary bool)) (io.Closer, error) {
	w, err := watchPath(spec)
	if err != nil {
		return nil, err
	}
	go w.read(m.post, got)
	return w, nil
}

func (realSystem) now() time.Time { return time.Now() }

func (realSystem) monoNow() time.Duration { return monoNow() }

// sys is m's system: the real one unless a test set another.
func (m *Manager) sys() system {
	if m.osys == nil {
		return realSystem{}
	}
	return m.osys
}
