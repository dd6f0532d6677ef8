// Package runstate keeps what a running manager must leave for the next one: a small state
// file in its runtime directory (next to the control socket) that names the manager and, per
// unit, the processes it runs (pid and start time, so that a reused pid is told apart), the
// invocation id and the listening sockets (inode and address). A manager killed with SIGKILL
// cannot stop its services; the next manager on the same runtime directory reads the file,
// finds what is still running (Find) and stops it (Stop) before it starts anything, so that
// no service runs twice and no socket finds its address taken. The runtime directory is
// locked (Lock) for the manager's whole life: the lock, which the kernel drops with the
// process, says whether the manager that wrote the file is gone.
//
// docs/recovery.md describes the behaviour; the package holds no manager state of its own.
package runstate

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FileName is the state file's name in the runtime directory.
const FileName = "state"

// MaxSize bounds the state file that Read accepts.
const MaxSize = 16 << 20

// header is the first line of every state file; the number is the format's version.
const header = "flint-state 1"

// maxPID is the kernel's PID_MAX_LIMIT (pid_max can be at most 2^22).
const maxPID = 1 << 22

// State is the content of a state file.
type State struct {
	BootID  string // /proc/sys/kernel/random/boot_id of the boot the manager ran in
	PIDNS   uint64 // inode of the manager's PID namespace (/proc/self/ns/pid)
	Manager Proc   // the manager itself
	Written uint64 // when the file was written, in clock ticks since boot (as Proc.Start)
	Units   []Unit
}

// Proc identifies a process: a pid and its start time, field 22 of /proc/PID/stat (clock ticks
// since boot), which a later process given the same pid does not share.
type Proc struct {
	PID   int
	Start uint64
}

// Unit is what a unit ran when the file was written.
type Unit struct {
	Name         string
	InvocationID string // its processes carry INVOCATION_ID=...; "" if none
	// How the unit is stopped (systemd.kill(5)): KillMode= (control-group, mixed, process,
	// none), KillSignal=, SendSIGKILL= and TimeoutStopSec= (0: infinity) of the unit's
	// configuration when the file was written.
	KillMode    string
	KillSignal  syscall.Signal
	SendSIGKILL bool
	StopTimeout time.Duration
	Procs       []UnitProc
	Sockets     []Socket
}

// Role values of UnitProc.
const (
	RoleMain    = "main"    // the main process (MainPID)
	RoleControl = "control" // a control process (ExecStartPre= and the like)
	RoleOther   = "other"   // a process adopted or started otherwise
)

// UnitProc is one process of a unit and its role.
type UnitProc struct {
	Proc
	Role string
}

// Socket is a listening socket of a socket unit: the inode of the socket (fstat) and what it
// is bound to. Family names the /proc/net table that lists it: tcp, tcp6, udp, udp6 or unix.
// Address is the local address as netip.AddrPort formats it, or a unix socket's path
// ("@name" for the abstract namespace).
type Socket struct {
	Inode   uint64
	Family  string
	Address string
}

// families are the Socket.Family values.
var families = map[string]bool{"tcp": true, "tcp6": true, "udp": true, "udp6": true, "unix": true}

// killModes are the KillMode= values.
var killModes = map[string]bool{"control-group": true, "mixed": true, "process": true, "none": true}

// Encode renders s in the state file format, one record a line:
//
//	flint-state 1
//	boot BOOT-ID
//	pidns INODE
//	manager PID START
//	written TICKS
//	unit NAME INVOCATION-ID|- KILLMODE SIGNAL TIMEOUT-USEC|infinity yes|no
//	proc PID START main|control|other
//	socket INODE FAMILY "ADDRESS"
//
// proc and socket lines belong to the unit line before them; the address is a Go-quoted
// string. Encode expects a State that Decode would accept (names, ids, pids and signals in
// their ranges). It is AppendHeader followed by AppendUnit for each unit, which a writer that
// keeps the units' lines between writes uses.
func Encode(s *State) []byte {
	b := AppendHeader(make([]byte, 0, 160+64*len(s.Units)), s)
	for i := range s.Units {
		b = AppendUnit(b, &s.Units[i])
	}
	return b
}

// AppendHeader appends the lines before the units.
func AppendHeader(b []byte, s *State) []byte {
	b = append(b, header+"\nboot "...)
	b = append(b, s.BootID...)
	b = append(b, "\npidns "...)
	b = strconv.AppendUint(b, s.PIDNS, 10)
	b = append(b, "\nmanager "...)
	b = strconv.AppendInt(b, int64(s.Manager.PID), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, s.Manager.Start, 10)
	b = append(b, "\nwritten "...)
	b = strconv.AppendUint(b, s.Written, 10)
	return append(b, '\n')
}

// AppendUnit appends u's lines.
func AppendUnit(b []byte, u *Unit) []byte {
	b = append(b, "unit "...)
	b = append(b, u.Name...)
	b = append(b, ' ')
	if u.InvocationID == "" {
		b = append(b, '-')
	} else {
		b = append(b, u.InvocationID...)
	}
	b = append(b, ' ')
	b = append(b, u.KillMode...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(u.KillSignal), 10)
	b = append(b, ' ')
	if u.StopTimeout > 0 {
		b = strconv.AppendInt(b, u.StopTimeout.Microseconds(), 10)
	} else {
		b = append(b, "infinity"...)
	}
	b = append(b, ' ')
	b = append(b, yesNo(u.SendSIGKILL)...)
	b = append(b, '\n')
	for _, p := range u.Procs {
		b = append(b, "proc "...)
		b = strconv.AppendInt(b, int64(p.PID), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, p.Start, 10)
		b = append(b, ' ')
		b = append(b, p.Role...)
		b = append(b, '\n')
	}
	for _, k := range u.Sockets {
		b = append(b, "socket "...)
		b = strconv.AppendUint(b, k.Inode, 10)
		b = append(b, ' ')
		b = append(b, k.Family...)
		b = append(b, ' ')
		b = strconv.AppendQuote(b, k.Address)
		b = append(b, '\n')
	}
	return b
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Decode parses a state file; errors start with "name:LINE:". Every value is checked: a file
// that decodes names no unit process below pid 2, no signal outside 1..64, only unit names of
// systemd's characters.
func Decode(name string, data []byte) (*State, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxSize)
	}
	s := &State{}
	var u *Unit
	seen := map[string]bool{}
	names := map[string]bool{}
	lines := strings.Split(string(data), "\n")
	if lines[len(lines)-1] != "" {
		return nil, fmt.Errorf("%s:%d: the last line is not complete", name, len(lines))
	}
	lines = lines[:len(lines)-1]
	if len(lines) == 0 || lines[0] != header {
		return nil, fmt.Errorf("%s:1: not a flint state file (the first line is not %q)", name, header)
	}
	for i, line := range lines[1:] {
		n := i + 2
		errf := func(format string, a ...any) error {
			return fmt.Errorf("%s:%d: %s", name, n, fmt.Sprintf(format, a...))
		}
		key, rest, _ := strings.Cut(line, " ")
		switch key {
		case "boot", "pidns", "manager", "written":
			if seen[key] {
				return nil, errf("%s given twice", key)
			}
			if u != nil {
				return nil, errf("%s after the first unit", key)
			}
			seen[key] = true
		}
		var err error
		switch key {
		case "boot":
			s.BootID, err = parseBootID(rest)
		case "pidns":
			s.PIDNS, err = parseUint(rest, "pidns")
		case "manager":
			var f []string
			if f, err = fields(rest, 2); err == nil {
				s.Manager, err = parseProc(f[0], f[1], 1)
			}
		case "written":
			s.Written, err = parseUint(rest, "written")
		case "unit":
			var nu Unit
			if nu, err = parseUnit(rest); err == nil {
				if names[nu.Name] {
					err = fmt.Errorf("unit %s given twice", nu.Name)
				} else {
					names[nu.Name] = true
					s.Units = append(s.Units, nu)
					u = &s.Units[len(s.Units)-1]
				}
			}
		case "proc":
			var p UnitProc
			if u == nil {
				err = errors.New("proc before any unit")
			} else if p, err = parseUnitProc(rest); err == nil {
				u.Procs = append(u.Procs, p)
			}
		case "socket":
			var k Socket
			if u == nil {
				err = errors.New("socket before any unit")
			} else if k, err = parseSocket(rest); err == nil {
				u.Sockets = append(u.Sockets, k)
			}
		default:
			err = fmt.Errorf("unknown record %q", key)
		}
		if err != nil {
			return nil, errf("%v", err)
		}
	}
	for _, k := range []string{"boot", "pidns", "manager", "written"} {
		if !seen[k] {
			return nil, fmt.Errorf("%s: no %s line", name, k)
		}
	}
	return s, nil
}

// fields splits s at single spaces into exactly n fields.
func fields(s string, n int) ([]string, error) {
	f := strings.Split(s, " ")
	if len(f) != n {
		return nil, fmt.Errorf("%d fields, want %d", len(f), n)
	}
	return f, nil
}

// parseUint reads a decimal number without sign or leading zeros (as Encode writes it).
func parseUint(s, what string) (uint64, error) {
	if s == "" || len(s) > 1 && s[0] == '0' || s[0] == '+' {
		return 0, fmt.Errorf("bad %s %q", what, s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad %s %q", what, s)
	}
	return v, nil
}

// parseProc reads a pid (at least minPID) and a start time.
func parseProc(pid, start string, minPID int) (Proc, error) {
	p, err := parseUint(pid, "pid")
	if err != nil {
		return Proc{}, err
	}
	if p < uint64(minPID) || p > maxPID {
		return Proc{}, fmt.Errorf("pid %d out of range", p)
	}
	st, err := parseUint(start, "start time")
	if err != nil {
		return Proc{}, err
	}
	return Proc{PID: int(p), Start: st}, nil
}

// parseBootID accepts the kernel's boot id: a UUID in lower-case hex with dashes.
func parseBootID(s string) (string, error) {
	if len(s) != 36 {
		return "", fmt.Errorf("bad boot id %q", s)
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", fmt.Errorf("bad boot id %q", s)
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return "", fmt.Errorf("bad boot id %q", s)
			}
		}
	}
	return s, nil
}

// validName accepts what systemd accepts in a unit name (unit_name_is_valid's characters and
// length), which keeps the line's fields apart.
func validName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte(":-_.\\@", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func parseUnit(rest string) (Unit, error) {
	f, err := fields(rest, 6)
	if err != nil {
		return Unit{}, err
	}
	u := Unit{Name: f[0]}
	if !validName(u.Name) {
		return Unit{}, fmt.Errorf("bad unit name %q", u.Name)
	}
	if f[1] != "-" {
		if len(f[1]) != 32 || strings.Trim(f[1], "0123456789abcdef") != "" {
			return Unit{}, fmt.Errorf("bad invocation id %q", f[1])
		}
		u.InvocationID = f[1]
	}
	if !killModes[f[2]] {
		return Unit{}, fmt.Errorf("bad kill mode %q", f[2])
	}
	u.KillMode = f[2]
	sig, err := parseUint(f[3], "signal")
	if err != nil || sig < 1 || sig > 64 {
		return Unit{}, fmt.Errorf("bad signal %q", f[3])
	}
	u.KillSignal = syscall.Signal(sig)
	if f[4] != "infinity" {
		us, err := parseUint(f[4], "timeout")
		if err != nil || us == 0 || us > uint64(1<<63-1)/uint64(time.Microsecond) {
			return Unit{}, fmt.Errorf("bad timeout %q", f[4])
		}
		u.StopTimeout = time.Duration(us) * time.Microsecond
	}
	switch f[5] {
	case "yes":
		u.SendSIGKILL = true
	case "no":
	default:
		return Unit{}, fmt.Errorf("bad SendSIGKILL %q", f[5])
	}
	return u, nil
}

func parseUnitProc(rest string) (UnitProc, error) {
	f, err := fields(rest, 3)
	if err != nil {
		return UnitProc{}, err
	}
	// No unit process is pid 1: that is the init of the namespace (or the manager itself).
	p, err := parseProc(f[0], f[1], 2)
	if err != nil {
		return UnitProc{}, err
	}
	switch f[2] {
	case RoleMain, RoleControl, RoleOther:
	default:
		return UnitProc{}, fmt.Errorf("bad role %q", f[2])
	}
	return UnitProc{Proc: p, Role: f[2]}, nil
}

func parseSocket(rest string) (Socket, error) {
	ino, rest, _ := strings.Cut(rest, " ")
	fam, quoted, _ := strings.Cut(rest, " ")
	inode, err := parseUint(ino, "inode")
	if err != nil {
		return Socket{}, err
	}
	if !families[fam] {
		return Socket{}, fmt.Errorf("bad socket family %q", fam)
	}
	addr, err := strconv.Unquote(quoted)
	if err != nil || strconv.Quote(addr) != quoted || addr == "" {
		return Socket{}, fmt.Errorf("bad socket address %s", quoted)
	}
	return Socket{Inode: inode, Family: fam, Address: addr}, nil
}
