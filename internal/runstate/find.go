package runstate

import (
	"sort"
	"strconv"
	"syscall"
	"time"
)

// Process is what Find needs to know of one running process (a thread-group leader).
type Process struct {
	PID, PPID, PGID, SID int
	Start                uint64 // /proc/PID/stat field 22
	Zombie               bool
	Comm                 string
}

// Proc is the process's identity.
func (p Process) Proc() Proc { return Proc{PID: p.PID, Start: p.Start} }

// System is the machine Find and Stop work on: ProcSystem reads /proc and signals through
// pidfds; the tests use a scripted one.
type System interface {
	// Processes lists the live processes, zombies included (marked).
	Processes() (map[int]Process, error)
	// InvocationID is the INVOCATION_ID in p's initial environment, "" if none (or unreadable).
	InvocationID(p Process) string
	// SocketHolders maps each of inodes that some process holds a descriptor of to those
	// processes.
	SocketHolders(procs map[int]Process, inodes map[uint64]bool) map[uint64][]int
	// SocketAddress is the local address of socket inode in the family's /proc/net table of
	// process pid's network namespace, as Socket.Address spells it.
	SocketAddress(pid int, inode uint64, family string) (string, bool)
	// Signal sends sig to p if p (pid and start time) still exists; false if it is gone.
	Signal(p Process, sig syscall.Signal) bool
	// Wait returns after d, or earlier when a signalled process has exited.
	Wait(d time.Duration)
	// Now is the time deadlines are measured in.
	Now() time.Time
}

// Found is what Find found of a state file's units still running.
type Found struct {
	Units    []UnitFound // parallel to State.Units
	Replaced []Replaced  // recorded pids that now name other processes: left alone
}

// UnitFound lists one unit's processes still running.
type UnitFound struct {
	Unit  *Unit
	Procs []Leftover // by pid
}

// Leftover is a running process of a unit and why it is the unit's.
type Leftover struct {
	Process
	Role string // the recorded role; RoleOther for the processes found otherwise
	Why  string // "recorded", "INVOCATION_ID", "session of 1234", "child of 1234", "holds ADDRESS"
}

// Replaced is a recorded process whose pid a process with another start time has now.
type Replaced struct {
	Unit     string
	Recorded UnitProc
	Now      Process
}

// Find lists the processes of s's units that still run, in the order of certainty:
//
//  1. a recorded process whose pid has the recorded start time (a pid with another start time
//     is another process: it is listed in Replaced and never touched);
//  2. a process whose environment has a unit's INVOCATION_ID (flint gives it to every process
//     it starts; 128 random bits);
//  3. a member of the session or process group of a recorded process (flint starts every
//     process as a session leader) — when that leader still runs with its recorded start
//     time, or when the member started before the file was written: the kernel does not
//     reuse a pid while it names a session or group with members, so such a session is the
//     recorded process's;
//  4. a process holding a recorded listening socket (the same inode, bound to the same
//     address), whatever started it: it is what keeps the address in use;
//  5. a descendant, by parent pid, of any of those.
//
// A process is the first unit's that finds it, and stays the unit's while it lives: those in
// earlier (a Found of the same State, or nil) that still run with their start time are listed
// first, as they were, though the session leader that made them the unit's may have exited
// since. self (the caller's pid), its ancestors, pid 1 and zombies are never listed.
func Find(s *State, sys System, self int, earlier *Found) (*Found, error) {
	procs, err := sys.Processes()
	if err != nil {
		return nil, err
	}
	f := &Found{Units: make([]UnitFound, len(s.Units))}
	protected := map[int]bool{0: true, 1: true}
	for pid, depth := self, 0; pid > 1 && depth < 4096; depth++ {
		protected[pid] = true
		p, ok := procs[pid]
		if !ok {
			break
		}
		pid = p.PPID
	}
	owner := map[int]int{} // pid -> unit index
	claim := func(p Process, ui int, role, why string) {
		if protected[p.PID] || p.Zombie {
			return
		}
		if _, taken := owner[p.PID]; taken {
			return
		}
		owner[p.PID] = ui
		f.Units[ui].Procs = append(f.Units[ui].Procs, Leftover{Process: p, Role: role, Why: why})
	}

	// 0. Found before.
	if earlier != nil {
		for ui := range earlier.Units {
			for _, l := range earlier.Units[ui].Procs {
				if p, ok := procs[l.PID]; ok && p.Start == l.Start {
					claim(p, ui, l.Role, l.Why)
				}
			}
		}
	}

	// 1. Recorded processes.
	type leader struct {
		ui    int
		alive bool // runs with its recorded start time
	}
	leaders := map[int]leader{}
	for ui := range s.Units {
		u := &s.Units[ui]
		f.Units[ui].Unit = u
		for _, rp := range u.Procs {
			p, ok := procs[rp.PID]
			alive := ok && p.Start == rp.Start
			if l, dup := leaders[rp.PID]; !dup || !l.alive {
				leaders[rp.PID] = leader{ui, alive}
			}
			switch {
			case !ok || p.Zombie:
			case !alive:
				f.Replaced = append(f.Replaced, Replaced{Unit: u.Name, Recorded: rp, Now: p})
			default:
				claim(p, ui, rp.Role, "recorded")
			}
		}
	}
	pids := make([]int, 0, len(procs))
	for pid := range procs {
		pids = append(pids, pid)
	}
	sort.Ints(pids)

	// 2. INVOCATION_ID.
	byInvocation := map[string]int{}
	for ui := range s.Units {
		if id := s.Units[ui].InvocationID; id != "" {
			byInvocation[id] = ui
		}
	}
	if len(byInvocation) > 0 {
		for _, pid := range pids {
			p := procs[pid]
			if _, taken := owner[pid]; taken || protected[pid] || p.Zombie {
				continue
			}
			if ui, ok := byInvocation[sys.InvocationID(p)]; ok {
				claim(p, ui, RoleOther, "INVOCATION_ID")
			}
		}
	}

	// 3. Sessions and process groups of recorded processes.
	for _, pid := range pids {
		p := procs[pid]
		for _, g := range []struct {
			id   int
			what string
		}{{p.SID, "session of "}, {p.PGID, "process group of "}} {
			if l, ok := leaders[g.id]; ok && g.id != pid && (l.alive || p.Start < s.Written) {
				claim(p, l.ui, RoleOther, g.what+strconv.Itoa(g.id))
			}
		}
	}

	// 4. Holders of the recorded listening sockets.
	inodes := map[uint64]bool{}
	for ui := range s.Units {
		for _, k := range s.Units[ui].Sockets {
			inodes[k.Inode] = true
		}
	}
	if len(inodes) > 0 {
		holders := sys.SocketHolders(procs, inodes)
		for ui := range s.Units {
			for _, k := range s.Units[ui].Sockets {
				for _, pid := range holders[k.Inode] {
					if _, taken := owner[pid]; taken || protected[pid] {
						continue
					}
					if addr, ok := sys.SocketAddress(pid, k.Inode, k.Family); ok && addr == k.Address {
						claim(procs[pid], ui, RoleOther, "holds "+k.Address)
					}
				}
			}
		}
	}

	// 5. Descendants.
	for _, pid := range pids {
		p := procs[pid]
		chain := []Process{}
		for q, depth := p, 0; depth < 4096; depth++ {
			if _, taken := owner[q.PID]; taken || protected[q.PID] {
				break
			}
			chain = append(chain, q)
			parent, ok := procs[q.PPID]
			if !ok {
				chain = nil
				break
			}
			q = parent
		}
		if len(chain) == 0 {
			continue
		}
		top := chain[len(chain)-1]
		ui, ok := owner[top.PPID]
		if !ok {
			continue
		}
		for i := len(chain) - 1; i >= 0; i-- {
			claim(chain[i], ui, RoleOther, "child of "+strconv.Itoa(chain[i].PPID))
		}
	}

	for ui := range f.Units {
		ps := f.Units[ui].Procs
		sort.Slice(ps, func(i, j int) bool { return ps[i].PID < ps[j].PID })
	}
	return f, nil
}
