package manager

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/listen"
	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/internal/runstate"
	"github.com/flint-init/flint/unit"
)

// The manager's state file (internal/runstate, docs/recovery.md): the runtime directory is
// locked for the manager's life, and a file in it names the manager and what each unit runs,
// so that the next manager after a SIGKILL stops what this one left before starting anything.
// The file is written off the hot path: a change (a unit's state, a process spawned or
// reaped, a main process adopted, a socket opened or closed, a reload) only marks the unit's
// lines stale; a write follows stateDelay later, at most one per stateDelay, re-encodes only
// the stale units (Unit.rec keeps each unit's lines) and is skipped when nothing changed.

// stateDelay is how long a change waits before the state file is written: the changes of a
// burst (a boot, a flood of connections) go out in one write, after the activation that
// caused them. What starts less than this before a SIGKILL is found by the next manager
// only through its INVOCATION_ID, its session or the sockets it holds (docs/recovery.md).
const stateDelay = 20 * time.Millisecond

// stateFile is the manager's side of the state file; the loop goroutine owns it.
type stateFile struct {
	dir   string
	lock  *runstate.Lock
	on    bool // the manager's identity could be read: the file is kept
	self  runstate.Proc
	boot  string
	pidns uint64
	prev  *runstate.State // what the last manager left, read by openState; nil if nothing
	// prevErr is why a state file that was there could not be used; selfErr why this
	// manager keeps none (its identity could not be read from /proc).
	prevErr, selfErr error

	dirty, armed bool
	all          bool           // every unit's lines are rebuilt at the next write (a reload)
	wrote        bool           // the file was written: only a change writes it again
	units        int            // how many units it lists
	header       []byte         // scratch: the header lines being written
	parts        [][]byte       // scratch: header and units' lines, for writev
	scratch      []byte         // scratch: a unit's lines being built
	pids         []int          // scratch: recordUnit's pids of a unit
	rec          runstate.Unit  // scratch: recordUnit's record of a unit
	starts       map[int]uint64 // start times of flint's children recorded (until reaped)
	failed       bool           // the last write failed (said once)

	// Between two writes of the whole file the changed units' lines are appended to its log
	// (runstate.AppendLog): stale are the units marked stale since the last write, gone the
	// names of units unloaded with lines in the file. written is the ticks of the last whole
	// write, baseSize its size, logSize what the log holds since (logFresh: nothing yet).
	stale             []*Unit
	gone              []string
	written           uint64
	baseSize, logSize int
	logFresh          bool
}

// stateLogMin is the size the log may reach before the file is written whole again, if the
// file is smaller: the log may grow to the file's size, so that a unit's change costs a
// write of its own lines plus, amortized, a constant share of the whole file.
const stateLogMin = 64 << 10

// unitRecord is a unit's lines in the state file, kept between writes (Unit.rec, nil for a
// unit with nothing to record); Unit.recFresh says they are up to date.
type unitRecord struct {
	text    []byte
	foreign runstate.Proc // a main process that is not flint's child, as stateAdopted saw it
}

// openState locks the runtime directory and reads what a previous manager left there. It
// fails when another manager runs on the directory: it holds the lock, answers on the control
// socket, or is the live writer of the state file.
func openState(dir, control string) (*stateFile, error) {
	lock, err := runstate.TakeLock(dir)
	if err != nil {
		if errors.Is(err, runstate.ErrLocked) {
			if prev, _ := runstate.Read(dir); prev != nil {
				return nil, fmt.Errorf("runtime directory %s: another manager is running (pid %d)", dir, prev.Manager.PID)
			}
			return nil, fmt.Errorf("runtime directory %s: another manager is running", dir)
		}
		return nil, err
	}
	f := &stateFile{dir: dir, lock: lock, starts: map[int]uint64{}}
	fail := func(err error) (*stateFile, error) {
		lock.Close(false)
		return nil, err
	}
	if c, err := net.DialTimeout("unix", control, 200*time.Millisecond); err == nil {
		c.Close()
		return fail(fmt.Errorf("control socket %s: another manager is running", control))
	}
	if f.self, f.boot, f.pidns, f.selfErr = runstate.Self(); f.selfErr != nil {
		return f, nil
	}
	f.on = true
	f.prev, f.prevErr = runstate.Read(dir)
	if p := f.prev; p != nil && p.BootID == f.boot && p.PIDNS == f.pidns && p.Manager != f.self {
		if q, ok := runstate.ReadProcess(p.Manager.PID); ok && q.Start == p.Manager.Start && !q.Zombie {
			return fail(fmt.Errorf("runtime directory %s: another manager is running (pid %d wrote %s)", dir, p.Manager.PID, runstate.Path(dir)))
		}
	}
	return f, nil
}

// close releases the lock; with clean set (an orderly shutdown) the state file goes first.
func (f *stateFile) close(clean bool) {
	if f.on && clean {
		if err := runstate.Remove(f.dir); err != nil {
			fmt.Fprintf(os.Stderr, "flint run: %v\n", err)
		}
	}
	f.lock.Close(clean)
}

// recoverLeftovers stops what the previous manager left running (runstate.Stop), before the
// boot starts anything: the services would otherwise run twice and their sockets find their
// addresses taken. Each decision is a status line and a line in the unit's log.
func (m *Manager) recoverLeftovers() {
	f := m.rs
	if f.selfErr != nil {
		m.consolef("No state file is kept, and none looked for: %v", f.selfErr)
		return
	}
	if f.prevErr != nil {
		m.consolef("Ignoring the previous manager's state file: %v", f.prevErr)
	}
	p := f.prev
	f.prev = nil
	switch {
	case p == nil:
		return
	case p.BootID != f.boot:
		m.consolef("Ignoring the state file of a manager of an earlier boot (pid %d).", p.Manager.PID)
		return
	case p.PIDNS != f.pidns:
		// A container's manager (PID 1 of a PID namespace) takes every process of the
		// namespace with it: nothing it recorded can be running in this one.
		m.consolef("Ignoring the state file of a manager in another PID namespace (pid %d).", p.Manager.PID)
		return
	}
	m.consolef("The previous manager (pid %d) ended without stopping its units; stopping what it left running.", p.Manager.PID)
	sys := runstate.NewProcSystem()
	defer sys.Close()
	res, err := runstate.Stop(p, sys, os.Getpid(), runstate.StopOptions{Log: func(name, msg string) {
		m.consolef("%s: %s", name, msg)
		m.logs.Append(logs.Line{Time: time.Now(), Unit: name, Stream: "manager", Priority: 5, Text: msg})
	}})
	switch {
	case err != nil:
		m.consolef("Failed to stop what the previous manager left: %v", err)
	case res.Signalled == 0 && res.Left == 0:
		m.consolef("None of its processes is left.")
	default:
		m.consolef("Stopped %d left-over processes of the previous manager; %d left running.", res.Signalled, res.Left)
	}
}

// stateChanged marks u's lines of the state file stale (u nil: none in particular). The
// state hooks do nothing on a Manager made without New (the package's tests), which keeps no
// state file.
func (m *Manager) stateChanged(u *Unit) {
	if m.rs == nil {
		return
	}
	m.rs.dirty = true
	if u != nil {
		u.recFresh = false
		if !u.recQueued {
			u.recQueued = true
			m.rs.stale = append(m.rs.stale, u)
		}
	}
}

// stateGone notes that u, unloaded, leaves the state file (if it is there).
func (m *Manager) stateGone(u *Unit) {
	if m.rs == nil {
		return
	}
	u.recFresh = true // nothing more to build (appendState passes it)
	if u.rec == nil {
		return
	}
	m.rs.gone = append(m.rs.gone, u.Name)
	m.rs.dirty = true
	u.rec = nil
}

// stateReaped forgets the start time of a pid reaped (the pid may be given to another
// process) and marks its unit's lines stale.
func (m *Manager) stateReaped(pid int, u *Unit) {
	if m.rs == nil {
		return
	}
	delete(m.rs.starts, pid)
	m.stateChanged(u)
}

// stateReloaded marks every unit's lines stale: a reload may change their kill settings.
func (m *Manager) stateReloaded() {
	if m.rs == nil {
		return
	}
	m.rs.all, m.rs.dirty = true, true
}

// stateAdopted records the start time of u's main process pid that is not flint's child (a
// MAINPID= or PIDFile= pointing elsewhere), read now that it was checked: later its pid
// could name another process.
func (m *Manager) stateAdopted(u *Unit, pid int) {
	if m.rs == nil {
		return
	}
	if u.rec == nil {
		u.rec = &unitRecord{}
	}
	u.rec.foreign = runstate.Proc{}
	if p, ok := runstate.ReadProcess(pid); ok && !p.Zombie {
		u.rec.foreign = p.Proc()
	}
	m.stateChanged(u)
}

// scheduleState arms the write of a dirty state file (before the loop waits for an event).
func (m *Manager) scheduleState() {
	f := m.rs
	if !f.dirty || f.armed || !f.on {
		return
	}
	f.armed = true
	time.AfterFunc(stateDelay, func() { m.post(m.writeState) })
}

// writeState writes the state file now if a unit's lines changed since the last write (or a
// unit came or went). Only stale units are built again; the file is written from the units'
// lines as they are kept (Unit.rec), without a copy of the whole.
func (m *Manager) writeState() {
	f := m.rs
	f.armed, f.dirty = false, false
	if !f.on {
		return
	}
	if f.wrote && !f.all && f.logSize < max(stateLogMin, f.baseSize) && m.appendState() {
		return
	}
	for _, u := range f.stale {
		u.recQueued = false // the loop below looks at every unit
	}
	clear(f.stale)
	f.stale, f.gone = f.stale[:0], f.gone[:0]
	changed := !f.wrote
	parts := append(f.parts[:0], nil) // the header goes first, once known
	var byUnit map[*Unit][]int        // the registered processes by unit, made for the first stale unit
	for _, u := range m.order {
		if !u.recFresh || f.all {
			if byUnit == nil {
				byUnit = make(map[*Unit][]int, len(m.procs))
				for pid, p := range m.procs {
					if p.u != nil {
						byUnit[p.u] = append(byUnit[p.u], pid)
					}
				}
			}
			if m.recordUnit(u, byUnit[u]) {
				changed = true
			}
		}
		if u.rec != nil {
			parts = append(parts, u.rec.text)
		}
	}
	f.all = false
	if len(parts)-1 != f.units {
		changed = true // a unit was collected
	}
	defer func() {
		clear(parts) // no unit's lines kept alive here
		f.parts = parts[:0]
	}()
	if !changed {
		return
	}
	hdr := &runstate.State{BootID: f.boot, PIDNS: f.pidns, Manager: f.self, Written: runstate.NowTicks()}
	f.header = runstate.AppendHeader(f.header[:0], hdr)
	parts[0] = f.header
	if err := runstate.WriteData(f.dir, parts...); err != nil {
		if !f.failed {
			m.consolef("Failed to write the state file: %v", err)
			f.failed = true
		}
		f.wrote = false // write it at the next change
		return
	}
	f.failed, f.wrote, f.units = false, true, len(parts)-1
	f.written, f.logSize, f.logFresh, f.baseSize = hdr.Written, 0, true, 0
	for _, p := range parts {
		f.baseSize += len(p)
	}
}

// appendState appends the lines of the units changed since the last write to the state
// file's log, and reports whether it did: false leaves the whole file to be written.
func (m *Manager) appendState() bool {
	f := m.rs
	var byUnit map[*Unit][]int // the registered processes by unit, made for the first stale unit
	units := f.parts[:0]
	defer func() {
		clear(units) // no unit's lines kept alive here
		f.parts = units[:0]
	}()
	for _, u := range f.stale {
		u.recQueued = false
		if u.recFresh {
			continue // up to date, or unloaded (stateGone)
		}
		if byUnit == nil {
			byUnit = make(map[*Unit][]int, len(m.procs))
			for pid, p := range m.procs {
				if p.u != nil {
					byUnit[p.u] = append(byUnit[p.u], pid)
				}
			}
		}
		had := u.rec != nil
		if !m.recordUnit(u, byUnit[u]) {
			continue
		}
		if u.rec != nil {
			units = append(units, u.rec.text)
		} else if had {
			f.gone = append(f.gone, u.Name)
		}
	}
	clear(f.stale)
	f.stale = f.stale[:0]
	if len(units) == 0 && len(f.gone) == 0 {
		return true
	}
	n, err := runstate.AppendLog(f.dir, f.logFresh, f.written, runstate.NowTicks(), units, f.gone)
	if err != nil {
		return false
	}
	f.gone, f.logFresh, f.logSize = f.gone[:0], false, f.logSize+n
	return true
}

// recordUnit builds u's lines, and reports whether they changed: its processes (registered:
// its pids in m.procs) with start times and roles, its listening sockets. A start time comes from f.starts, else from /proc,
// taken only for a pid that cannot name another process yet: one flint started and has not
// reaped, or a child of flint (an orphan reparented to it); a main process that is neither
// counts if stateAdopted saw it; any other pid is left out.
func (m *Manager) recordUnit(u *Unit, registered []int) (changed bool) {
	f := m.rs
	var foreign runstate.Proc // the record is allocated once there is something to record
	if u.rec != nil {
		foreign = u.rec.foreign
	}
	u.recFresh = true
	pids := append(f.pids[:0], registered...)
	defer func() { f.pids = pids[:0] }()
	var main, control int
	if sv := u.svcState(); sv != nil {
		main, control = sv.mainPID, sv.controlPID
		pids = append(pids, main, control)
		for pid, ad := range m.adopted {
			if ad.u == u {
				pids = append(pids, pid)
			}
		}
	}
	if u.sock != nil {
		control = u.sock.controlPID
		pids = append(pids, control)
	}
	slices.Sort(pids)
	pids = slices.Compact(pids)
	self := os.Getpid()
	rec := &f.rec
	*rec = runstate.Unit{Procs: rec.Procs[:0], Sockets: clear0(rec.Sockets)}
	for _, pid := range pids {
		if pid <= 1 {
			continue
		}
		st, ok := f.starts[pid]
		if !ok {
			p, alive := runstate.ReadProcess(pid)
			_, ours := m.procs[pid]
			switch {
			case !alive || p.Zombie:
			case ours || p.PPID == self:
				st, ok = p.Start, true
				f.starts[pid] = st
			case pid == main && foreign.PID == pid && foreign.Start == p.Start:
				st, ok = p.Start, true
			}
		}
		if !ok {
			continue
		}
		role := runstate.RoleOther
		switch pid {
		case main:
			role = runstate.RoleMain
		case control:
			role = runstate.RoleControl
		}
		rec.Procs = append(rec.Procs, runstate.UnitProc{Proc: runstate.Proc{PID: pid, Start: st}, Role: role})
	}
	if foreign.PID != main {
		foreign = runstate.Proc{}
	}
	if u.sock != nil {
		for _, ls := range u.sock.socks {
			if k := socketRecord(ls.Socket); k.Family != "" {
				rec.Sockets = append(rec.Sockets, k)
			}
		}
	}
	if len(rec.Procs) == 0 && len(rec.Sockets) == 0 {
		changed = u.rec != nil
		u.rec = nil // no process, no socket: nothing to record
		return changed
	}
	rec.Name, rec.InvocationID = u.Name, u.hs().invocationID
	rec.KillMode, rec.KillSignal, rec.SendSIGKILL, rec.StopTimeout = stopSettings(u)
	f.scratch = runstate.AppendUnit(f.scratch[:0], rec)
	r := u.rec
	if r != nil && bytes.Equal(r.text, f.scratch) {
		r.foreign = foreign
		return false
	}
	if r == nil {
		r = &unitRecord{}
	}
	r.foreign = foreign
	r.text = append(r.text[:0], f.scratch...)
	u.rec = r
	return true
}

// clear0 empties a scratch list, without keeping what its elements refer to.
func clear0[T any](l []T) []T {
	clear(l)
	return l[:0]
}

// stopSettings are u's KillMode=, KillSignal=, SendSIGKILL= and stop timeout (a service's
// TimeoutStopSec=, a socket's TimeoutSec=; 0 infinity).
func stopSettings(u *Unit) (mode string, sig syscall.Signal, sigkill bool, timeout time.Duration) {
	var kc *unit.KillContext
	switch {
	case u.isService():
		kc, timeout = u.cfg.Service.Kill, u.cfg.Service.TimeoutStopSec
	case u.sock != nil:
		kc, timeout = u.cfg.Socket.Kill, u.cfg.Socket.TimeoutSec
	default:
		return "control-group", syscall.SIGTERM, true, 0
	}
	mode, sig = kc.KillMode, kc.KillSignal
	if mode == "" {
		mode = "control-group"
	}
	if sig <= 0 || sig > 64 {
		sig = syscall.SIGTERM
	}
	if timeout < 0 {
		timeout = 0
	}
	return mode, sig, kc.SendSIGKILL, timeout
}

// socketRecord describes a listening socket as the state file records it: its inode and the
// address the kernel's /proc/net tables show. Kinds that cannot hold an address against the
// next manager (FIFOs, special files, message queues, netlink; other protocols) get an empty
// Family and are not recorded.
func socketRecord(ls *listen.Socket) runstate.Socket {
	fd := ls.Fd()
	var st unix.Stat_t
	if fd < 0 || unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return runstate.Socket{}
	}
	var rsa unix.RawSockaddrAny
	if getsockname(fd, &rsa) != nil {
		return runstate.Socket{}
	}
	proto, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL)
	k := runstate.Socket{Inode: st.Ino}
	ipFamily := func(v6 bool) string {
		switch {
		case proto == unix.IPPROTO_TCP && v6:
			return "tcp6"
		case proto == unix.IPPROTO_TCP:
			return "tcp"
		case proto == unix.IPPROTO_UDP && v6:
			return "udp6"
		case proto == unix.IPPROTO_UDP:
			return "udp"
		}
		return ""
	}
	// The port in network byte order, as x/sys/unix's Getsockname reads it.
	port := func(p *uint16) uint16 {
		b := (*[2]byte)(unsafe.Pointer(p))
		return uint16(b[0])<<8 | uint16(b[1])
	}
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		k.Family = ipFamily(false)
		k.Address = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port(&sa.Port)).String()
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		k.Family = ipFamily(true)
		k.Address = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), port(&sa.Port)).String()
	case unix.AF_UNIX:
		sa := (*unix.RawSockaddrUnix)(unsafe.Pointer(&rsa))
		path := (*[len(sa.Path)]byte)(unsafe.Pointer(&sa.Path[0]))[:]
		if path[0] == 0 {
			// An abstract name: /proc/net/unix shows its leading NUL as '@' (as does
			// x/sys/unix's Getsockname, which ends the name at the next NUL).
			path[0] = '@'
		}
		if n := bytes.IndexByte(path, 0); n >= 0 {
			path = path[:n]
		}
		if len(path) > 0 && string(path) != "@" {
			k.Family, k.Address = "unix", string(path)
		}
	}
	if k.Family == "" {
		return runstate.Socket{}
	}
	return k
}

// getsockname is getsockname(2) into rsa: unix.Getsockname allocates the raw address and
// the one it returns for each call, and socketRecord runs for every socket a state file
// write re-records.
func getsockname(fd int, rsa *unix.RawSockaddrAny) error {
	l := uint32(unix.SizeofSockaddrAny)
	if _, _, e := unix.RawSyscall(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(rsa)), uintptr(unsafe.Pointer(&l))); e != 0 {
		return e
	}
	return nil
}
