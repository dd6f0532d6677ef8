package runstate

import (
	"fmt"
	"sort"
	"syscall"
	"time"
)

// fakeProc is a process of fakeSystem: how it reacts to signals is scripted.
type fakeProc struct {
	Process
	inv   string
	socks map[uint64]string // socket inode -> local address
	// onSignal reacts to a signal (nil: any signal but SIGCONT ends it).
	onSignal func(sys *fakeSystem, p *fakeProc, sig syscall.Signal)
	exitAt   time.Time // ends by itself then (zero: never)
}

// fakeSystem is a System with scripted processes and a clock that Wait advances.
type fakeSystem struct {
	procs map[int]*fakeProc
	now   time.Time
	sent  []string // "PID SIG" in order
}

func newFakeSystem(procs ...*fakeProc) *fakeSystem {
	s := &fakeSystem{procs: map[int]*fakeProc{}, now: time.Unix(1000, 0)}
	for _, p := range procs {
		s.procs[p.PID] = p
	}
	return s
}

func (s *fakeSystem) Processes() (map[int]Process, error) {
	out := map[int]Process{}
	for pid, p := range s.procs {
		out[pid] = p.Process
	}
	return out, nil
}

func (s *fakeSystem) InvocationID(p Process) string { return s.procs[p.PID].inv }

func (s *fakeSystem) SocketHolders(procs map[int]Process, inodes map[uint64]bool) map[uint64][]int {
	out := map[uint64][]int{}
	for pid, p := range s.procs {
		for ino := range p.socks {
			if inodes[ino] {
				out[ino] = append(out[ino], pid)
			}
		}
	}
	for _, pids := range out {
		sort.Ints(pids)
	}
	return out
}

func (s *fakeSystem) SocketAddress(pid int, inode uint64, family string) (string, bool) {
	a, ok := s.procs[pid].socks[inode]
	return a, ok
}

func (s *fakeSystem) Signal(p Process, sig syscall.Signal) bool {
	q, ok := s.procs[p.PID]
	if !ok || q.Start != p.Start {
		return false
	}
	s.sent = append(s.sent, fmt.Sprintf("%d %s", p.PID, sigName(sig)))
	if q.onSignal != nil {
		q.onSignal(s, q, sig)
	} else if sig != syscall.SIGCONT {
		delete(s.procs, p.PID)
	}
	return true
}

func (s *fakeSystem) Wait(d time.Duration) {
	s.now = s.now.Add(d)
	for pid, p := range s.procs {
		if !p.exitAt.IsZero() && !s.now.Before(p.exitAt) {
			delete(s.procs, pid)
		}
	}
}

func (s *fakeSystem) Now() time.Time { return s.now }

func sigName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGKILL:
		return "KILL"
	case syscall.SIGCONT:
		return "CONT"
	case syscall.SIGINT:
		return "INT"
	}
	return fmt.Sprint(int(sig))
}

// proc builds a fake process in its own session and process group.
func proc(pid, ppid int, start uint64) *fakeProc {
	return &fakeProc{Process: Process{PID: pid, PPID: ppid, PGID: pid, SID: pid, Start: start, Comm: fmt.Sprintf("p%d", pid)}}
}

// in puts p in the session and process group of leader.
func (p *fakeProc) in(leader int) *fakeProc { p.SID, p.PGID = leader, leader; return p }

// ignoring makes p survive everything but SIGKILL.
func (p *fakeProc) ignoring() *fakeProc {
	p.onSignal = func(s *fakeSystem, q *fakeProc, sig syscall.Signal) {
		if sig == syscall.SIGKILL {
			delete(s.procs, q.PID)
		}
	}
	return p
}

// unkillable makes p survive every signal.
func (p *fakeProc) unkillable() *fakeProc {
	p.onSignal = func(*fakeSystem, *fakeProc, syscall.Signal) {}
	return p
}
