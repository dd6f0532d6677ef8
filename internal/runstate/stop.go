package runstate

import (
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// StopOptions tune Stop.
type StopOptions struct {
	// Log receives one message for what is done to a unit's processes; unit is its name.
	Log func(unit, msg string)
	// MaxWait bounds a unit's TimeoutStopSec= (infinity included): the next manager does not
	// wait longer before SIGKILL. Default 90s, systemd's DefaultTimeoutStopSec=.
	MaxWait time.Duration
	// KillWait is how long processes get to vanish after SIGKILL. Default 10s.
	KillWait time.Duration
	// Tick is how often the processes are listed again while waiting (for those forked in the
	// meantime). Default 100ms.
	Tick time.Duration
}

// Result counts what Stop did.
type Result struct {
	Signalled int // processes that got the kill signal or SIGKILL
	Left      int // processes left running: KillMode=, SendSIGKILL=no, SIGKILL without effect
	Replaced  int // recorded pids that name other processes now (not touched)
}

type stopPhase int

const (
	phaseTerm stopPhase = iota // KillSignal= sent, waiting for TimeoutStopSec=
	phaseKill                  // SIGKILL sent, waiting for KillWait
	phaseDone
)

// unitStop is Stop's state for one unit.
type unitStop struct {
	phase    stopPhase
	deadline time.Time
	sent     map[Proc]bool // signalled in this phase
	seen     map[Proc]bool // announced as found or left alone
	count    int           // processes signalled
}

// Stop stops the processes Find finds of s as systemd stops a unit (systemd.kill(5)), every
// unit at once: the unit's KillSignal= (followed by SIGCONT) to its processes — all of them
// with KillMode=control-group, the main and control processes with mixed and process, none
// with none — then, when TimeoutStopSec= (at most MaxWait) passes with some left and
// SendSIGKILL=yes, SIGKILL; with mixed, the rest get SIGKILL as soon as the main and control
// processes are gone. Processes are listed again every Tick, so that one forked meanwhile is
// found and signalled too. Every decision is logged through o.Log.
func Stop(s *State, sys System, self int, o StopOptions) (Result, error) {
	if o.MaxWait <= 0 {
		o.MaxWait = 90 * time.Second
	}
	if o.KillWait <= 0 {
		o.KillWait = 10 * time.Second
	}
	if o.Tick <= 0 {
		o.Tick = 100 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = func(string, string) {}
	}
	var res Result
	start := sys.Now()
	stops := make([]unitStop, len(s.Units))
	for i := range stops {
		wait := s.Units[i].StopTimeout
		if wait <= 0 || wait > o.MaxWait {
			wait = o.MaxWait
		}
		stops[i] = unitStop{deadline: start.Add(wait), sent: map[Proc]bool{}, seen: map[Proc]bool{}}
	}
	var found *Found
	for round := 0; ; round++ {
		var err error
		if found, err = Find(s, sys, self, found); err != nil {
			return res, err
		}
		if round == 0 {
			for _, r := range found.Replaced {
				res.Replaced++
				o.Log(r.Unit, fmt.Sprintf("Process %d is not the one the previous manager recorded (started %s after boot, not %s); leaving it alone.",
					r.Now.PID, ticks(r.Now.Start), ticks(r.Recorded.Start)))
			}
		}
		now := sys.Now()
		next := time.Time{}
		for ui := range s.Units {
			u, st := &s.Units[ui], &stops[ui]
			if st.phase == phaseDone {
				continue
			}
			procs := found.Units[ui].Procs
			for _, p := range procs {
				if !killed(u.KillMode, p.Role) && !st.seen[p.Proc()] {
					st.seen[p.Proc()] = true
					res.Left++
					o.Log(u.Name, fmt.Sprintf("Leaving left-over process %d (%s) of the previous manager running (KillMode=%s).", p.PID, p.Comm, u.KillMode))
				}
			}
			targets := selectTargets(procs, u.KillMode, st.phase)
			if len(targets) == 0 && st.phase == phaseTerm && u.KillMode == "mixed" {
				// The main and control processes are gone: the rest get SIGKILL at once.
				st.phase, st.deadline, st.sent = phaseKill, now.Add(o.KillWait), map[Proc]bool{}
				targets = selectTargets(procs, u.KillMode, st.phase)
			}
			if len(targets) == 0 {
				if st.count > 0 {
					o.Log(u.Name, "Left-over processes of the previous manager stopped.")
				}
				st.phase = phaseDone
				continue
			}
			if !now.Before(st.deadline) {
				switch {
				case st.phase == phaseTerm && u.SendSIGKILL:
					o.Log(u.Name, fmt.Sprintf("Left-over processes still running after %s. Killing.", now.Sub(start).Round(time.Millisecond)))
					st.phase, st.deadline, st.sent = phaseKill, now.Add(o.KillWait), map[Proc]bool{}
					targets = selectTargets(procs, u.KillMode, st.phase)
				case st.phase == phaseTerm:
					for _, p := range targets {
						res.Left++
						o.Log(u.Name, fmt.Sprintf("Left-over process %d (%s) still running after %s; SendSIGKILL=no, leaving it.", p.PID, p.Comm, now.Sub(start).Round(time.Millisecond)))
					}
					st.phase = phaseDone
					continue
				default:
					for _, p := range targets {
						res.Left++
						o.Log(u.Name, fmt.Sprintf("Left-over process %d (%s) did not exit after SIGKILL; going on.", p.PID, p.Comm))
					}
					st.phase = phaseDone
					continue
				}
			}
			sig := u.KillSignal
			if st.phase == phaseKill {
				sig = syscall.SIGKILL
			}
			for _, p := range targets {
				if st.sent[p.Proc()] {
					continue
				}
				st.sent[p.Proc()] = true
				if !sys.Signal(p.Process, sig) {
					continue // gone meanwhile
				}
				if sig != syscall.SIGKILL && sig != syscall.SIGCONT {
					sys.Signal(p.Process, syscall.SIGCONT)
				}
				st.count++
				res.Signalled++
				if st.phase == phaseKill {
					o.Log(u.Name, fmt.Sprintf("Killing left-over process %d (%s) with signal SIGKILL.", p.PID, p.Comm))
				} else {
					st.seen[p.Proc()] = true
					o.Log(u.Name, fmt.Sprintf("Found left-over process %d (%s) of the previous manager (%s); sending %s.", p.PID, p.Comm, p.Why, unix.SignalName(sig)))
				}
			}
			if next.IsZero() || st.deadline.Before(next) {
				next = st.deadline
			}
		}
		if next.IsZero() {
			return res, nil
		}
		sys.Wait(min(o.Tick, max(next.Sub(now), 0)))
	}
}

// killed reports whether a process of role is ever signalled under mode.
func killed(mode, role string) bool {
	switch mode {
	case "none":
		return false
	case "process":
		return role == RoleMain || role == RoleControl
	}
	return true
}

// selectTargets lists the processes signalled in phase under mode.
func selectTargets(procs []Leftover, mode string, phase stopPhase) []Leftover {
	var out []Leftover
	for _, p := range procs {
		switch {
		case !killed(mode, p.Role):
		case mode == "mixed" && phase == phaseTerm && p.Role != RoleMain && p.Role != RoleControl:
		default:
			out = append(out, p)
		}
	}
	return out
}

// ticks renders a start time in seconds after boot.
func ticks(t uint64) string {
	return fmt.Sprintf("%d.%02ds", t/ClockTicks, t%ClockTicks)
}
