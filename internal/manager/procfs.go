package manager

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// What process tracking reads from /proc (tracking.go decides what it means).

// procInfo is what tracking needs from /proc/PID/stat.
type procInfo struct {
	ppid, sid int
	zombie    bool
	start     uint64 // start time in clock ticks after boot (CLOCK_BOOTTIME)
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
	fd, err := syscall.Open("/proc/"+strconv.Itoa(pid)+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return procInfo{}, false
	}
	defer syscall.Close(fd)
	var data [1024]byte
	n, err := syscall.Read(fd, data[:])
	if err != nil || n <= 0 {
		return procInfo{}, false
	}
	return parseProcStat(data[:n])
}

// parseProcStat reads the fields of procInfo from the text of /proc/PID/stat.
func parseProcStat(data []byte) (procInfo, bool) {
	f := statFields(data)
	if len(f) < 20 {
		return procInfo{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	sid, err2 := strconv.Atoi(f[3])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || len(f[0]) != 1 {
		return procInfo{}, false
	}
	return procInfo{ppid: ppid, sid: sid, zombie: f[0] == "Z", start: start}, true
}

// statFields splits /proc/PID/stat after the command name (which may hold spaces and
// parentheses): f[0] is the state, f[1] the ppid, f[2] the process group, f[3] the session,
// f[17] the thread count, f[19] the start time. nil if the line is malformed.
func statFields(data []byte) []string {
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// procAlive reports whether pid exists and is not a zombie.
func procAlive(pid int) bool {
	pi, ok := readProcInfo(pid)
	return ok && !pi.zombie
}

// procPPid reads the parent pid of pid from /proc (0 if unknown).
func procPPid(pid int) int {
	pi, _ := readProcInfo(pid)
	return pi.ppid
}

// procInvocation reads what the INVOCATION_ID rule needs of pid (tracking.go): the
// INVOCATION_ID= of its environment, as its initial stack holds it, and its real uid. ok is
// false when either cannot be read (a process that is gone, or whose environment holds none).
func procInvocation(pid int) (id string, ruid int, ok bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	env, err := readFileSmall(dir + "/environ")
	if err != nil {
		return "", 0, false
	}
	for e := range bytes.SplitSeq(env, []byte{0}) {
		if v, found := bytes.CutPrefix(e, []byte("INVOCATION_ID=")); found {
			id = string(v)
			break
		}
	}
	if id == "" {
		return "", 0, false
	}
	status, err := readFileSmall(dir + "/status")
	if err != nil {
		return "", 0, false
	}
	for line := range bytes.SplitSeq(status, []byte{'\n'}) {
		if v, found := bytes.CutPrefix(line, []byte("Uid:")); found {
			f := bytes.Fields(v)
			if len(f) == 0 {
				return "", 0, false
			}
			ruid, err = strconv.Atoi(string(f[0]))
			return id, ruid, err == nil
		}
	}
	return "", 0, false
}

// procComm is pid's command name, for messages.
func procComm(pid int) string {
	b, err := readFileSmall("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's start time (100 on every Linux ABI).
const clockTicks = 100

// bootTick is the current CLOCK_BOOTTIME in clock ticks, rounded down as the kernel rounds
// a process's start time: a process whose start time is below bootTick() started before the
// call.
func bootTick() uint64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts) != nil {
		return 0
	}
	return uint64(ts.Nano()) / (1e9 / clockTicks)
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
