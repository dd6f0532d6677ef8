package sandbox

import (
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

type sysEntry struct {
	name string
	nr   uint32
}

// Arch is an audit architecture this package builds filters for.
type Arch int

const (
	ArchX8664 Arch = iota
	ArchX86        // i386 system calls (int 0x80) of a 64-bit kernel
	ArchX32        // x32 system calls (x86-64 numbers with bit 30 set)
	numArchs
)

const (
	auditArchX8664 = 0xc000003e
	auditArchI386  = 0x40000003
	x32SyscallBit  = 0x40000000
)

// archNames are systemd's names (SystemCallArchitectures=).
var archNames = [numArchs]string{"x86-64", "x86", "x32"}

func (a Arch) String() string { return archNames[a] }

// ArchFromName is systemd's seccomp_arch_from_string for the architectures of an x86-64
// machine: "native" is x86-64.
func ArchFromName(s string) (Arch, bool) {
	if s == "native" {
		return ArchX8664, true
	}
	for i, n := range archNames {
		if n == s {
			return Arch(i), true
		}
	}
	return 0, false
}

var archTables = sync.OnceValue(func() [numArchs]map[string]uint32 {
	var t [numArchs]map[string]uint32
	for a, src := range [numArchs][]sysEntry{sysX8664, sysI386, sysX32} {
		m := make(map[string]uint32, len(src))
		for _, e := range src {
			m[e.name] = e.nr
		}
		t[a] = m
	}
	return t
})

// SyscallNumber is name's number on arch a.
func SyscallNumber(a Arch, name string) (uint32, bool) {
	n, ok := archTables()[a][name]
	return n, ok
}

// NativeSyscall reports whether name is a system call of the native architecture (x86-64):
// what a filter built here can name, and what systemd-analyze security counts.
func NativeSyscall(name string) bool {
	_, ok := archTables()[ArchX8664][name]
	return ok
}

var groupIndex = sync.OnceValue(func() map[string][]string {
	m := make(map[string][]string, len(syscallGroups))
	for _, g := range syscallGroups {
		m[g[0]] = g[1:]
	}
	return m
})

// Group returns the members of a @group (system calls and other @groups), as systemd 252
// lists them.
func Group(name string) ([]string, bool) {
	g, ok := groupIndex()[name]
	return g, ok
}

// GroupNames lists the @groups in systemd's order.
func GroupNames() []string {
	out := make([]string, len(syscallGroups))
	for i, g := range syscallGroups {
		out[i] = g[0]
	}
	return out
}

// knownSyscalls are the names libseccomp resolves: the system calls of the architectures and
// the members of the groups, less those the machine's libseccomp does not know.
var knownSyscalls = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, t := range archTables() {
		for n := range t {
			m[n] = true
		}
	}
	for _, g := range syscallGroups {
		for _, n := range g[1:] {
			if !strings.HasPrefix(n, "@") {
				m[n] = true
			}
		}
	}
	for _, n := range unknownToLibseccomp {
		delete(m, n)
	}
	return m
})

// sameNumberAs maps the names libseccomp resolves to the number of another system call (on
// x86-64, libseccomp 2.5.4) to the name it gives that number back. systemd keeps a filter as
// a set of numbers, so both names are one entry, shown under the second name: chrony's
// SystemCallFilter=~@debug shows switch_endian, not sys_debug_setcontext (both are PowerPC
// calls, pseudo-number -10191 here). Found by resolving every name of the groups and of the
// architectures' tables with seccomp_syscall_resolve_name and back.
var sameNumberAs = map[string]string{"sys_debug_setcontext": "switch_endian"}

// ErrnoKill is systemd's SECCOMP_ERROR_NUMBER_KILL: the process is killed (SIGSYS) rather
// than the call failing; it is SystemCallErrorNumber='s default (show prints 2147483646).
const ErrnoKill = 1<<31 - 2

// errnoNoAction marks a filter entry without its own errno (systemd's -1).
const errnoNoAction = -1

var errnoNumbers = sync.OnceValue(func() map[string]int {
	m := map[string]int{}
	for i := 1; i < 4096; i++ {
		if n := unix.ErrnoName(unix.Errno(i)); n != "" {
			if _, dup := m[n]; !dup {
				m[n] = i
			}
		}
	}
	return m
})

// ParseErrno is systemd's parse_errno: an errno name (EPERM) or a number 1-4095.
func ParseErrno(s string) (int, bool) {
	if n, ok := errnoNumbers()[s]; ok {
		return n, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 4095 {
		return 0, false
	}
	return n, true
}

// ParseErrnoOrAction is systemd's seccomp_parse_errno_or_action: "kill" or an errno.
func ParseErrnoOrAction(s string) (int, bool) {
	if s == "kill" {
		return ErrnoKill, true
	}
	return ParseErrno(s)
}

// FormatErrno is how show prints an errno: its name, else its number.
func FormatErrno(n int) string {
	if n == ErrnoKill {
		return "kill"
	}
	if s := unix.ErrnoName(unix.Errno(n)); s != "" {
		return s
	}
	return strconv.Itoa(n)
}

// SyscallFilter is the value of SystemCallFilter= (or SystemCallLog=): an allow list or a
// deny list of system calls by name, each with its own errno (or errnoNoAction).
type SyscallFilter struct {
	AllowList bool
	Entries   map[string]int // nil: the directive is unset (or was reset)
}

// Empty reports whether the filter does nothing: unset, or a deny list with no entry.
func (f SyscallFilter) Empty() bool { return !f.AllowList && len(f.Entries) == 0 }

// Names are the system calls of the filter, sorted.
func (f SyscallFilter) Names() []string {
	out := make([]string, 0, len(f.Entries))
	for n := range f.Entries {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ParseSyscallLine applies one line of SystemCallFilter= (errnos true) or SystemCallLog=
// (errnos false) to f, as systemd 252's config_parse_syscall_filter/_log: "" resets; the
// first line decides between an allow list (the @default group comes with it, for
// SystemCallFilter=) and a "~" deny list; a later line of the other kind takes names out.
// warns are the messages systemd logs for the bad words (the line goes on without them).
func ParseSyscallLine(f SyscallFilter, line string, errnos bool) (SyscallFilter, []string) {
	if line == "" {
		return SyscallFilter{}, nil
	}
	invert := false
	if line[0] == '~' {
		invert = true
		line = line[1:]
	}
	if f.Entries == nil {
		f.Entries = map[string]int{}
		f.AllowList = !invert
		if f.AllowList && errnos {
			f.add("@default", errnoNoAction, false, nil)
		}
	}
	var warns []string
	for _, w := range strings.Fields(line) {
		name, num := w, errnoNoAction
		if errnos {
			if n, e, ok := strings.Cut(w, ":"); ok {
				v, good := ParseErrnoOrAction(e)
				if !good {
					warns = append(warns, "Failed to parse syscall:errno, ignoring: "+w)
					continue
				}
				name, num = n, v
			}
			if !invert && num >= 0 {
				warns = append(warns, "Allow-listed system calls cannot take error number, ignoring: "+w)
				continue
			}
		}
		warns = f.add(name, num, invert, warns)
	}
	return f, warns
}

// add is seccomp_parse_syscall_filter: a @group adds (or takes out) each of its members.
func (f *SyscallFilter) add(name string, num int, invert bool, warns []string) []string {
	if strings.HasPrefix(name, "@") {
		g, ok := Group(name)
		if !ok {
			return append(warns, "Unknown system call group, ignoring: "+name)
		}
		for _, m := range g {
			f.add(m, num, invert, nil)
		}
		return warns
	}
	if !knownSyscalls()[name] {
		return append(warns, "Failed to parse system call, ignoring: "+name)
	}
	if n, ok := sameNumberAs[name]; ok {
		name = n
	}
	if invert != f.AllowList {
		f.Entries[name] = num
	} else {
		delete(f.Entries, name)
	}
	return warns
}
