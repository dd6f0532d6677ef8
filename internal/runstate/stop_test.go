package runstate

import (
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStop: Stop's phases (KillSignal=, TimeoutStopSec=, SIGKILL) per KillMode= and
// SendSIGKILL=, against scripted processes and a clock that only Wait moves.
func TestStop(t *testing.T) {
	forksOnTerm := func(p *fakeProc) *fakeProc {
		p.onSignal = func(s *fakeSystem, q *fakeProc, sig syscall.Signal) {
			if sig == syscall.SIGTERM {
				child := proc(301, 1, 9500).in(q.PID)
				child.inv = invA
				s.procs[301] = child
				delete(s.procs, q.PID)
			}
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		unit    func(u *Unit)
		procs   []*fakeProc
		sent    []string
		res     Result
		elapsed time.Duration // clock at the end
		log     string        // a message that must be logged
	}{
		{name: "nothing left", res: Result{}},
		{name: "control-group", procs: []*fakeProc{proc(100, 1, 1000), proc(300, 1, 6000).in(100)},
			sent: []string{"100 TERM", "300 TERM"}, res: Result{Signalled: 2}, elapsed: 100 * time.Millisecond,
			log: "a.service: Found left-over process 100 (p100) of the previous manager (recorded); sending SIGTERM."},
		{name: "KillSignal", unit: func(u *Unit) { u.KillSignal = syscall.SIGINT }, procs: []*fakeProc{proc(100, 1, 1000)},
			sent: []string{"100 INT"}, res: Result{Signalled: 1}, elapsed: 100 * time.Millisecond},
		{name: "SIGTERM ignored", unit: func(u *Unit) { u.StopTimeout = 5 * time.Second }, procs: []*fakeProc{proc(100, 1, 1000).ignoring()},
			sent: []string{"100 TERM", "100 CONT", "100 KILL"}, res: Result{Signalled: 2}, elapsed: 5100 * time.Millisecond,
			log: "a.service: Left-over processes still running after 5s. Killing."},
		{name: "infinite timeout is bounded", unit: func(u *Unit) { u.StopTimeout = 0 }, procs: []*fakeProc{proc(100, 1, 1000).ignoring()},
			sent: []string{"100 TERM", "100 CONT", "100 KILL"}, res: Result{Signalled: 2}, elapsed: 90100 * time.Millisecond},
		{name: "exits before the timeout", unit: func(u *Unit) { u.StopTimeout = 5 * time.Second },
			procs: []*fakeProc{func() *fakeProc { p := proc(100, 1, 1000).ignoring(); p.exitAt = time.Unix(1002, 0); return p }()},
			sent:  []string{"100 TERM", "100 CONT"}, res: Result{Signalled: 1}, elapsed: 2 * time.Second},
		{name: "SendSIGKILL=no", unit: func(u *Unit) { u.SendSIGKILL, u.StopTimeout = false, time.Second }, procs: []*fakeProc{proc(100, 1, 1000).ignoring()},
			sent: []string{"100 TERM", "100 CONT"}, res: Result{Signalled: 1, Left: 1}, elapsed: time.Second,
			log: "a.service: Left-over process 100 (p100) still running after 1s; SendSIGKILL=no, leaving it."},
		{name: "SIGKILL without effect", unit: func(u *Unit) { u.StopTimeout = time.Second }, procs: []*fakeProc{proc(100, 1, 1000).unkillable()},
			sent: []string{"100 TERM", "100 CONT", "100 KILL"}, res: Result{Signalled: 2, Left: 1}, elapsed: 11 * time.Second,
			log: "a.service: Left-over process 100 (p100) did not exit after SIGKILL; going on."},
		{name: "mixed: the rest killed when main is gone", unit: func(u *Unit) { u.KillMode = "mixed" },
			procs: []*fakeProc{proc(100, 1, 1000), proc(300, 1, 6000).in(100).ignoring()},
			sent:  []string{"100 TERM", "300 KILL"}, res: Result{Signalled: 2}, elapsed: 200 * time.Millisecond},
		{name: "mixed: main ignores SIGTERM", unit: func(u *Unit) { u.KillMode, u.StopTimeout = "mixed", 3*time.Second },
			procs: []*fakeProc{proc(100, 1, 1000).ignoring(), proc(300, 1, 6000).in(100).ignoring()},
			sent:  []string{"100 TERM", "100 CONT", "100 KILL", "300 KILL"}, res: Result{Signalled: 3}, elapsed: 3100 * time.Millisecond},
		{name: "process", unit: func(u *Unit) { u.KillMode = "process" },
			procs: []*fakeProc{proc(100, 1, 1000), proc(300, 1, 6000).in(100)},
			sent:  []string{"100 TERM"}, res: Result{Signalled: 1, Left: 1}, elapsed: 100 * time.Millisecond,
			log: "a.service: Leaving left-over process 300 (p300) of the previous manager running (KillMode=process)."},
		{name: "none", unit: func(u *Unit) { u.KillMode = "none" },
			procs: []*fakeProc{proc(100, 1, 1000), proc(300, 1, 6000).in(100)},
			res:   Result{Left: 2}},
		// The child forked at SIGTERM is in the session of a leader that is gone by the next
		// look, and started after the file was written: its INVOCATION_ID makes it the unit's.
		{name: "forked while stopping", unit: func(u *Unit) { u.InvocationID = invA }, procs: []*fakeProc{forksOnTerm(proc(100, 1, 1000))},
			sent: []string{"100 TERM", "301 TERM"}, res: Result{Signalled: 2}, elapsed: 200 * time.Millisecond},
		{name: "pid reused", procs: []*fakeProc{proc(100, 1, 1500)}, res: Result{Replaced: 1},
			log: "a.service: Process 100 is not the one the previous manager recorded (started 15.00s after boot, not 10.00s); leaving it alone."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &State{Written: 5000, Units: []Unit{{Name: "a.service", KillMode: "control-group", KillSignal: syscall.SIGTERM,
				SendSIGKILL: true, StopTimeout: 90 * time.Second, Procs: []UnitProc{{Proc{100, 1000}, RoleMain}}}}}
			if tc.unit != nil {
				tc.unit(&s.Units[0])
			}
			sys := newFakeSystem(append([]*fakeProc{proc(1, 0, 1), proc(50, 1, 50)}, tc.procs...)...)
			start := sys.now
			var log []string
			res, err := Stop(s, sys, 50, StopOptions{Log: func(u, msg string) { log = append(log, u+": "+msg) }})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sys.sent, tc.sent) {
				t.Errorf("signals %q, want %q", sys.sent, tc.sent)
			}
			if res != tc.res {
				t.Errorf("result %+v, want %+v", res, tc.res)
			}
			if got := sys.now.Sub(start); got != tc.elapsed {
				t.Errorf("took %v, want %v", got, tc.elapsed)
			}
			if tc.log != "" && !strings.Contains(strings.Join(log, "\n"), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, strings.Join(log, "\n"))
			}
			if _, ok := sys.procs[50]; !ok {
				t.Errorf("the caller was stopped")
			}
		})
	}
}
