package manager

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process tracking without cgroups. A unit's processes are found from its roots (main and
// control processes, every process flint started for it, and the orphans it adopted) as
// their descendants by parent pid, plus every process in the sessions the roots lead (flint
// starts each process as a session leader). A daemon that calls setsid() leaves the session
// but stays a descendant while its parent lives; when the parent exits the kernel reparents
// it to flint (a child subreaper), and flint adopts it into the unit of the process it is
// reaping at that moment (adoptOrphans), or, when its parent was reaped by one of the
// unit's own processes instead, by the INVOCATION_ID it inherited.

// procInfo is what tracking needs from /proc/PID/stat.
type procInfo struct {
	ppid, sid int
	zombie    bool
	start     uint64 // start time in clock ticks after boot
}

// readProcs reads the parent pid, session and state of every process.
func readProcs() map[int]procInfo {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	pids := make([]int, 0, len(ents))
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return collectProcs(pids, readProcInfo, os.Getpid())
}

// collectProcs reads each pid's procInfo with read; self is flint's pid.
func collectProcs(pids []int, read func(int) (procInfo, bool), self int) map[int]procInfo {
	out := make(map[int]procInfo, len(pids))
	for _, pid := range pids {
		if pi, ok := read(pid); ok {
			out[pid] = pi
		}
	}
	// The files are read one after the other, not at one instant: a process read before its
	// parent exited (and was reaped) names a parent that is no longer there, although by then
	// it has been reparented — to flint, when flint is its subreaper. Read it again, so that
	// such an orphan is seen as flint's child and recognised as its unit's (an old parent
	// would make it nobody's: a stop would not signal it and then wait for it).
	for round := 0; round < 4; round++ {
		again := false
		for pid, pi := range out {
			if pi.ppid <= 1 || pi.ppid == self {
				continue
			}
			if _, ok := out[pi.ppid]; ok {
				continue
			}
			if fresh, ok := read(pid); !ok {
				delete(out, pid)
			} else if fresh.ppid != pi.ppid {
				out[pid] = fresh
				again = true
			}
		}
		if !again {
			break
		}
	}
	return out
}

// readProcInfo reads /proc/PID/stat.
func readProcInfo(pid int) (procInfo, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	return parseProcInfo(data)
}

// parseProcInfo reads a procInfo from the content of /proc/PID/stat.
func parseProcInfo(data []byte) (procInfo, bool) {
	f := statFields(data)
	if len(f) < 4 {
		return procInfo{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	sid, _ := strconv.Atoi(f[3])
	var start uint64
	if len(f) > 19 {
		start, _ = strconv.ParseUint(f[19], 10, 64)
	}
	return procInfo{ppid: ppid, sid: sid, zombie: f[0] == "Z", start: start}, true
}

// statFields splits /proc/PID/stat after the command name (which may hold spaces and
// parentheses): f[0] is the state, f[1] the ppid, f[3] the session, f[17] the thread count,
// f[19] the start time. nil if the line is malformed.
func statFields(data []byte) []string {
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// unitPIDs lists the live processes of u (see the file comment).
func (m *Manager) unitPIDs(u *Unit) []int {
	roots := map[int]bool{}
	add := func(pid int) {
		if pid > 0 {
			roots[pid] = true
		}
	}
	if s := u.svc; s != nil {
		add(s.mainPID)
		add(s.controlPID)
		add(s.execMainPID)
		for pid := range s.adopted {
			add(pid)
		}
	}
	if u.sock != nil {
		add(u.sock.controlPID)
	}
	for _, p := range m.procs {
		if p.u == u {
			add(p.pid)
		}
	}
	// The unknown-child checks come after the look at the roots: a process orphaned while we
	// looked (its parent exiting between our reads of two children lists) has been
	// reparented to flint by then, and shows up as an unknown child.
	if !anyAlive(roots) {
		if !m.hasUnknownChild() {
			// Fast path: every root is gone with its process group, so nothing descends from
			// one; the orphans of dead roots were adopted at their reaps (roots too), and no
			// other orphan waits to be recognised: nothing to scan every process for.
			return nil
		}
	} else if m.subreaper {
		// Every process of the unit descends from a live root: an orphan would have been
		// reparented to flint (the subreaper) and adopted, or be an unknown child of ours.
		// Following the children lists from the roots reads a few small files per process
		// of the unit instead of every process's stat.
		out := descendants(roots)
		if !m.hasUnknownChild() {
			return out
		}
	}
	procs := readProcs()
	if procs == nil {
		var out []int
		for pid := range roots {
			out = append(out, pid)
		}
		return out
	}
	self := os.Getpid()
	if s := u.svc; s != nil {
		for pid := range s.adopted {
			if _, ok := procs[pid]; !ok {
				delete(s.adopted, pid)
			}
		}
		// Orphans that were reparented to flint without a reap of ours (their parent was
		// reaped by a process of the service) are recognised by the INVOCATION_ID they
		// inherited.
		if u.invocationID != "" {
			for pid, pi := range procs {
				if pi.ppid != self || pi.zombie || roots[pid] {
					continue
				}
				if _, ours := m.procs[pid]; ours || m.adoptedBy(pid) != nil {
					continue
				}
				if procHasEnv(pid, "INVOCATION_ID="+u.invocationID) {
					if s.adopted == nil {
						s.adopted = map[int]bool{}
					}
					s.adopted[pid] = true
					roots[pid] = true
				}
			}
		}
	}
	member := map[int]bool{}
	var isMember func(pid int, depth int) bool
	isMember = func(pid int, depth int) bool {
		if v, ok := member[pid]; ok {
			return v
		}
		pi, ok := procs[pid]
		v := false
		switch {
		case !ok || pid == self || pid <= 1 || depth > 64:
		case roots[pid] || roots[pi.sid]:
			v = true
		default:
			v = isMember(pi.ppid, depth+1)
		}
		member[pid] = v
		return v
	}
	var out []int
	for pid, pi := range procs {
		if !pi.zombie && isMember(pid, 0) {
			out = append(out, pid)
		}
	}
	return out
}

// procHasEnv reports whether pid's initial environment holds the entry kv.
func procHasEnv(pid int, kv string) bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		return false
	}
	for _, e := range strings.Split(string(data), "\x00") {
		if e == kv {
			return true
		}
	}
	return false
}

// adoptOrphans gives u the processes that were just reparented to flint and belong to no
// unit yet: called while reaping a process of u, whose orphans they are. Orphans older than
// u's current activation, or in the session of another unit's process, are not u's.
func (m *Manager) adoptOrphans(u *Unit) {
	if u.svc == nil {
		return
	}
	if !m.hasUnknownChild() {
		return // fast path: every child of flint is one it started or adopted
	}
	procs := readProcs()
	self := os.Getpid()
	since := bootTicks(u.inactiveExit)
	for pid, pi := range procs {
		if pi.ppid != self || pi.zombie || pi.start < since {
			continue
		}
		if _, ours := m.procs[pid]; ours || m.adoptedBy(pid) != nil {
			continue
		}
		if p, ok := m.procs[pi.sid]; ok && p.u != u {
			continue
		}
		if u.svc.adopted == nil {
			u.svc.adopted = map[int]bool{}
		}
		u.svc.adopted[pid] = true
	}
}

// adoptedBy returns the unit that adopted pid, if any.
func (m *Manager) adoptedBy(pid int) *Unit {
	for _, o := range m.order {
		if o.svc != nil && o.svc.adopted[pid] {
			return o
		}
	}
	return nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's start time (100 on every Linux ABI).
const clockTicks = 100

// bootTicks converts a wall-clock time to clock ticks after boot (0 if unknown), one second
// early to absorb rounding.
func bootTicks(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			btime, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0
			}
			d := t.Unix() - 1 - btime
			if d <= 0 {
				return 0
			}
			return uint64(d) * clockTicks
		}
	}
	return 0
}

// anyAlive reports whether any of pids, or any member of the process groups they lead, exists.
func anyAlive(pids map[int]bool) bool {
	for pid := range pids {
		if syscall.Kill(pid, 0) != syscall.ESRCH || syscall.Kill(-pid, 0) != syscall.ESRCH {
			return true
		}
	}
	return false
}

// hasUnknownChild reports whether flint has a child process it neither started nor adopted
// (an orphan reparented to it). The kernel gives a subreaper's (or PID 1's) orphans to the
// first live thread of its thread group, the leader, which in a Go program never exits:
// so the leader's /proc/self/task/PID/children, one small file, lists every orphan flint has
// (children flint started from other threads are in those threads' lists, and are known
// anyway). Where the kernel lacks the file it answers true (take the slow path).
func (m *Manager) hasUnknownChild() bool {
	pids, ok := leaderChildren(m.childBuf[:0])
	m.childBuf = pids
	if !ok {
		return true
	}
	for _, pid := range pids {
		if _, ours := m.procs[pid]; !ours && m.adoptedBy(pid) == nil {
			return true
		}
	}
	return false
}

// leaderChildren appends to buf the children of this process's thread-group leader (ok is
// false if they cannot be read).
func leaderChildren(buf []int) (pids []int, ok bool) {
	return readPIDList("/proc/self/task/"+strconv.Itoa(os.Getpid())+"/children", buf)
}

// readPIDList appends to buf the numbers of a /proc list such as task/TID/children, read with
// plain system calls (this runs at every exit and stop of a service's process: no os.File, no
// poller registration). ok is false if the file cannot be read.
func readPIDList(path string, buf []int) (pids []int, ok bool) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return buf, false
	}
	defer syscall.Close(fd)
	var data [4096]byte
	pid, digits := 0, false
	for {
		n, err := syscall.Read(fd, data[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return buf, false
		}
		if n == 0 {
			break
		}
		for _, c := range data[:n] {
			switch {
			case c >= '0' && c <= '9':
				pid, digits = pid*10+int(c-'0'), true
			case digits:
				buf = append(buf, pid)
				pid, digits = 0, false
			}
		}
	}
	if digits {
		buf = append(buf, pid)
	}
	return buf, true
}

// procStat reads the state letter and thread count of pid from /proc/PID/stat (ok false if
// the process is gone).
func procStat(pid int) (state byte, threads int, ok bool) {
	fd, err := syscall.Open("/proc/"+strconv.Itoa(pid)+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, false
	}
	defer syscall.Close(fd)
	var data [1024]byte
	n, err := syscall.Read(fd, data[:])
	if err != nil || n <= 0 {
		return 0, 0, false
	}
	f := statFields(data[:n])
	if len(f) < 18 {
		return 0, 0, false
	}
	threads, _ = strconv.Atoi(f[17])
	return f[0][0], threads, true
}

// descendants lists the live processes among roots and everything descending from them,
// following /proc/PID/task/TID/children. Zombies are left out (and have no children).
func descendants(roots map[int]bool) []int {
	var out, kids []int
	seen := make(map[int]bool, len(roots))
	queue := make([]int, 0, len(roots))
	for pid := range roots {
		seen[pid] = true
		queue = append(queue, pid)
	}
	for len(queue) > 0 {
		pid := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		state, threads, ok := procStat(pid)
		if !ok || state == 'Z' {
			continue
		}
		out = append(out, pid)
		dir := "/proc/" + strconv.Itoa(pid) + "/task/"
		tids := []int{pid}
		if threads > 1 {
			tids = tids[:0]
			if ents, err := os.ReadDir(dir); err == nil {
				for _, e := range ents {
					if tid, err := strconv.Atoi(e.Name()); err == nil {
						tids = append(tids, tid)
					}
				}
			}
		}
		for _, tid := range tids {
			kids, _ = readPIDList(dir+strconv.Itoa(tid)+"/children", kids[:0])
			for _, c := range kids {
				if !seen[c] {
					seen[c] = true
					queue = append(queue, c)
				}
			}
		}
	}
	return out
}
