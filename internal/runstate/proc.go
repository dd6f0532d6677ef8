package runstate

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ProcSystem is the real System: it reads /proc and signals through pidfds (pidfd_open(2),
// pidfd_send_signal(2)), which name one process and never another that later gets its pid.
// What it learns of a process (INVOCATION_ID, socket descriptors) is kept for the process's
// life (its pid and start time), as Stop asks again and again. Close releases the pidfds.
type ProcSystem struct {
	inv     map[Proc]string
	socks   map[Proc][]uint64 // the recorded socket inodes each process holds
	pidfds  map[Proc]int
	noPidfd bool // the kernel lacks pidfd_open (before Linux 5.3): kill(2) after a check
}

// NewProcSystem returns a System on this machine's /proc.
func NewProcSystem() *ProcSystem {
	return &ProcSystem{inv: map[Proc]string{}, socks: map[Proc][]uint64{}, pidfds: map[Proc]int{}}
}

// Close closes the pidfds still open.
func (s *ProcSystem) Close() {
	for p, fd := range s.pidfds {
		unix.Close(fd)
		delete(s.pidfds, p)
	}
}

// Processes reads /proc/PID/stat of every process.
func (s *ProcSystem) Processes() (map[int]Process, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := make(map[int]Process, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if p, ok := ReadProcess(pid); ok {
			out[pid] = p
		}
	}
	return out, nil
}

// ReadProcess reads /proc/PID/stat (ok false if the process is gone).
func ReadProcess(pid int) (Process, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Process{}, false
	}
	p, ok := ParseStat(data)
	if !ok || p.PID != pid {
		return Process{}, false
	}
	return p, true
}

// ParseStat parses a /proc/PID/stat line: pid (comm) state ppid pgrp session ... with the
// start time as field 22. The command name may hold spaces and parentheses: it ends at the
// last ')'.
func ParseStat(data []byte) (Process, bool) {
	open := bytes.IndexByte(data, '(')
	end := bytes.LastIndexByte(data, ')')
	if open < 1 || end < open {
		return Process{}, false
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(data[:open])))
	if err != nil || pid <= 0 {
		return Process{}, false
	}
	f := strings.Fields(string(data[end+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return Process{}, false
	}
	var n [3]int
	for i := range n {
		if n[i], err = strconv.Atoi(f[1+i]); err != nil {
			return Process{}, false
		}
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return Process{}, false
	}
	return Process{PID: pid, PPID: n[0], PGID: n[1], SID: n[2], Start: start,
		Zombie: f[0] == "Z" || f[0] == "X", Comm: string(data[open+1 : end])}, true
}

// InvocationID reads INVOCATION_ID from /proc/PID/environ.
func (s *ProcSystem) InvocationID(p Process) string {
	if v, ok := s.inv[p.Proc()]; ok {
		return v
	}
	v := ""
	if data, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/environ"); err == nil {
		for _, e := range bytes.Split(data, []byte{0}) {
			if val, ok := bytes.CutPrefix(e, []byte("INVOCATION_ID=")); ok {
				v = string(val)
				break
			}
		}
	}
	s.inv[p.Proc()] = v
	return v
}

// SocketHolders reads the descriptors of every process (/proc/PID/fd links "socket:[INODE]").
func (s *ProcSystem) SocketHolders(procs map[int]Process, inodes map[uint64]bool) map[uint64][]int {
	out := map[uint64][]int{}
	for pid, p := range procs {
		if p.Zombie {
			continue
		}
		held, ok := s.socks[p.Proc()]
		if !ok {
			held = heldSockets(pid, inodes)
			s.socks[p.Proc()] = held
		}
		for _, ino := range held {
			out[ino] = append(out[ino], pid)
		}
	}
	return out
}

// heldSockets lists those of inodes that pid has a descriptor of.
func heldSockets(pid int, inodes map[uint64]bool) []uint64 {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []uint64
	for _, e := range ents {
		link, err := os.Readlink(dir + e.Name())
		if err != nil {
			continue
		}
		if v, ok := strings.CutPrefix(link, "socket:["); ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(v, "]"), 10, 64); err == nil && inodes[ino] {
				out = append(out, ino)
			}
		}
	}
	return out
}

// SocketAddress looks inode up in /proc/PID/net/FAMILY.
func (s *ProcSystem) SocketAddress(pid int, inode uint64, family string) (string, bool) {
	if !families[family] {
		return "", false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/" + family)
	if err != nil {
		return "", false
	}
	return TableAddress(data, family, inode)
}

// TableAddress finds inode in a /proc/net table of family (tcp, tcp6, udp, udp6, unix) and
// returns its local address as Socket.Address spells it.
func TableAddress(table []byte, family string, inode uint64) (string, bool) {
	want := strconv.FormatUint(inode, 10)
	lines := strings.Split(string(table), "\n")
	for _, line := range lines[min(1, len(lines)):] { // the first line names the columns
		f := strings.Fields(line)
		if family == "unix" {
			// Num RefCount Protocol Flags Type St Inode [Path]
			if len(f) >= 7 && f[6] == want {
				if len(f) < 8 {
					return "", false // unbound
				}
				return strings.Join(f[7:], " "), true
			}
			continue
		}
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
		if len(f) >= 10 && f[9] == want {
			return parseTableAddr(f[1])
		}
	}
	return "", false
}

// parseTableAddr reads the kernel's hex "ADDR:PORT": the address as 32-bit words in the
// machine's byte order, the port in host order.
func parseTableAddr(s string) (string, bool) {
	h, p, ok := strings.Cut(s, ":")
	if !ok || len(h) != 8 && len(h) != 32 {
		return "", false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return "", false
	}
	var b [16]byte
	for i := 0; i < len(h)/8; i++ {
		w, err := strconv.ParseUint(h[8*i:8*i+8], 16, 32)
		if err != nil {
			return "", false
		}
		binary.NativeEndian.PutUint32(b[4*i:], uint32(w))
	}
	var a netip.Addr
	if len(h) == 8 {
		a = netip.AddrFrom4([4]byte(b[:4]))
	} else {
		a = netip.AddrFrom16(b)
	}
	return netip.AddrPortFrom(a, uint16(port)).String(), true
}

// Signal sends sig through a pidfd opened for p and kept for Wait; the pidfd is taken only
// after the process behind the pid is checked to have p's start time, so the signal reaches
// p or nothing.
func (s *ProcSystem) Signal(p Process, sig syscall.Signal) bool {
	id := p.Proc()
	fd, ok := s.pidfds[id]
	if !ok && !s.noPidfd {
		var err error
		fd, err = unix.PidfdOpen(p.PID, 0)
		switch {
		case err == unix.ENOSYS:
			s.noPidfd = true
		case err != nil:
			return false
		default:
			if cur, ok := ReadProcess(p.PID); !ok || cur.Start != p.Start {
				unix.Close(fd)
				return false
			}
			s.pidfds[id] = fd
		}
	}
	if s.noPidfd {
		if cur, ok := ReadProcess(p.PID); !ok || cur.Start != p.Start {
			return false
		}
		return unix.Kill(p.PID, sig) == nil
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0) == nil
}

// Wait polls the pidfds of the signalled processes: it returns when one has exited (a pidfd
// becomes readable), or after d. The pidfds of exited processes are closed.
func (s *ProcSystem) Wait(d time.Duration) {
	if len(s.pidfds) == 0 {
		time.Sleep(d)
		return
	}
	fds := make([]unix.PollFd, 0, len(s.pidfds))
	ids := make([]Proc, 0, len(s.pidfds))
	for id, fd := range s.pidfds {
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
		ids = append(ids, id)
	}
	deadline := time.Now().Add(d)
	for {
		n, err := unix.Poll(fds, int(max(time.Until(deadline), 0).Milliseconds()))
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			return
		}
		for i, pf := range fds {
			if pf.Revents != 0 {
				unix.Close(int(pf.Fd))
				delete(s.pidfds, ids[i])
			}
		}
		return
	}
}

// Now is the wall clock.
func (s *ProcSystem) Now() time.Time { return time.Now() }

// Self describes the calling process: its identity, its boot and its PID namespace, as a
// State names its manager.
func Self() (Proc, string, uint64, error) {
	p, ok := ReadProcess(os.Getpid())
	if !ok {
		return Proc{}, "", 0, syscall.ESRCH
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return Proc{}, "", 0, err
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &st); err != nil {
		return Proc{}, "", 0, err
	}
	return p.Proc(), strings.TrimSpace(string(boot)), st.Ino, nil
}

// NowTicks is the time now in clock ticks since boot, as /proc/PID/stat's start times count
// it: the smaller of CLOCK_BOOTTIME (what the start time counts since Linux 5.5) and
// CLOCK_MONOTONIC (before), so that State.Written never lies after the writing.
func NowTicks() uint64 {
	var b, m unix.Timespec
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &b)
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &m)
	ns := min(b.Nano(), m.Nano())
	return uint64(ns) / uint64(time.Second/ClockTicks)
}

// ClockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on every Linux ABI).
const ClockTicks = 100
