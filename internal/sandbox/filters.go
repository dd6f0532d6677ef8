package sandbox

import (
	"fmt"

	"golang.org/x/sys/unix"
)

var allArchs = []Arch{ArchX8664, ArchX86, ArchX32}

type statusFilter struct {
	filter *Filter
	status int
}

// groupRules are the rules refusing each system call of names (@groups expanded) with act.
func groupRules(act Action, names ...string) []Rule {
	var f SyscallFilter
	f.Entries = map[string]int{}
	for _, n := range names {
		f.add(n, errnoNoAction, true, nil) // a deny list
	}
	var rules []Rule
	for _, n := range f.Names() {
		rules = append(rules, Rule{Name: n, Action: act})
	}
	return rules
}

var eperm = ActionErrno(int(unix.EPERM))

// Filters are the seccomp filters s asks for, in the order systemd 252's exec_child loads
// them (the last one loaded wins among equal actions), each with its exit status.
func Filters(s *Settings) ([]statusFilter, error) {
	var out []statusFilter
	add := func(f *Filter, status int) {
		if f.Archs == nil {
			f.Archs = allArchs
		}
		out = append(out, statusFilter{f, status})
	}
	if s.RestrictAddressFamilies.Restricts() {
		add(familiesFilter(s.RestrictAddressFamilies), StatusAddressFamilies)
	}
	if s.MemoryDenyWriteExecute {
		add(mdweFilter(), StatusSeccomp)
	}
	if s.RestrictRealtime {
		add(realtimeFilter(), StatusSeccomp)
	}
	if s.RestrictSUIDSGID {
		add(suidFilter(), StatusSeccomp)
	}
	if r := s.RestrictNamespaces & NamespacesAll; r != NamespacesAll {
		add(namespacesFilter(r), StatusSeccomp)
	}
	if s.ProtectKernelTunables {
		add(&Filter{Name: "ProtectKernelTunables=", Default: ActAllow, Rules: groupRules(eperm, "_sysctl"),
			Archs: []Arch{ArchX8664, ArchX86}}, StatusSeccomp)
	}
	if s.ProtectKernelModules {
		add(&Filter{Name: "ProtectKernelModules=", Default: ActAllow, Rules: groupRules(eperm, "@module")}, StatusSeccomp)
	}
	if s.ProtectKernelLogs {
		add(&Filter{Name: "ProtectKernelLogs=", Default: ActAllow, Rules: groupRules(eperm, "syslog")}, StatusSeccomp)
	}
	if s.ProtectClock {
		add(&Filter{Name: "ProtectClock=", Default: ActAllow, Rules: groupRules(eperm, "@clock")}, StatusSeccomp)
	}
	if s.PrivateDevices {
		add(&Filter{Name: "PrivateDevices=", Default: ActAllow, Rules: groupRules(eperm, "@raw-io")}, StatusSeccomp)
	}
	if len(s.SystemCallArchitectures) > 0 {
		f, err := archFilter(s.SystemCallArchitectures)
		if err != nil {
			return nil, err
		}
		if f != nil {
			add(f, StatusSeccomp)
		}
	}
	if s.LockPersonality {
		var p uint64
		if s.Personality != "" {
			p, _ = ParsePersonality(s.Personality)
		}
		add(&Filter{Name: "LockPersonality=", Default: ActAllow, Rules: []Rule{
			{Name: "personality", Action: eperm, Cmps: []Cmp{{Arg: 0, Op: CmpNe, Val: p}}}}}, StatusSeccomp)
	}
	if !s.SystemCallLog.Empty() {
		f := &Filter{Name: "SystemCallLog=", Default: ActLog}
		act := ActAllow
		if s.SystemCallLog.AllowList {
			f.Default, act = ActAllow, ActLog
		}
		for _, n := range s.SystemCallLog.Names() {
			f.Rules = append(f.Rules, Rule{Name: n, Action: act})
		}
		add(f, StatusSeccomp)
	}
	if !s.SystemCallFilter.Empty() {
		add(syscallFilter(s.SystemCallFilter, s.SystemCallErrorNumber), StatusSeccomp)
	}
	return out, nil
}

// syscallFilter is SystemCallFilter=: an allow list refuses all else with
// SystemCallErrorNumber= (default: kill), a deny list refuses its calls so, or with their own
// ":errno".
func syscallFilter(sf SyscallFilter, errno int) *Filter {
	if errno == 0 {
		errno = ErrnoKill
	}
	negative := ActionErrno(errno)
	f := &Filter{Name: "SystemCallFilter=", Default: ActAllow}
	action := negative
	if sf.AllowList {
		f.Default, action = negative, ActAllow
	}
	for _, n := range sf.Names() {
		a := action
		if e := sf.Entries[n]; e != errnoNoAction {
			a = ActionErrno(e)
		}
		f.Rules = append(f.Rules, Rule{Name: n, Action: a})
	}
	return f
}

// familiesFilter is RestrictAddressFamilies= (systemd's seccomp_restrict_address_families):
// socket() of a refused family fails with EAFNOSUPPORT. i386 multiplexes socket() through
// socketcall(), which systemd does not filter; neither does this.
func familiesFilter(fam Families) *Filter {
	act := ActionErrno(int(unix.EAFNOSUPPORT))
	f := &Filter{Name: "RestrictAddressFamilies=", Default: ActAllow, Archs: []Arch{ArchX8664, ArchX32}}
	rule := func(op CmpOp, v int) {
		f.Rules = append(f.Rules, Rule{Name: "socket", Action: act, Cmps: []Cmp{{Arg: 0, Op: op, Val: uint64(v)}}})
	}
	if !fam.AllowList {
		for af := 0; af < 256; af++ {
			if fam.Set[af] {
				rule(CmpEq, af)
			}
		}
		return f
	}
	if len(fam.Set) == 0 {
		f.Rules = append(f.Rules, Rule{Name: "socket", Action: act})
		return f
	}
	first, last := 1<<30, -1
	for af := range fam.Set {
		first, last = min(first, af), max(last, af)
	}
	rule(CmpLt, first)
	rule(CmpGt, last)
	for af := 1; af < afMax; af++ {
		if !fam.Set[af] {
			rule(CmpEq, af)
		}
	}
	return f
}

// mdweFilter is MemoryDenyWriteExecute= (seccomp_memory_deny_write_execute).
func mdweFilter() *Filter {
	wx := uint64(unix.PROT_WRITE | unix.PROT_EXEC)
	masked := func(arg int, m uint64) []Cmp { return []Cmp{{Arg: arg, Op: CmpMaskedEq, Mask: m, Val: m}} }
	x64 := []Arch{ArchX8664, ArchX32}
	i386 := []Arch{ArchX86}
	// i386: mmap2 is filtered, the old mmap (one argument, a pointer) refused outright.
	return &Filter{Name: "MemoryDenyWriteExecute=", Default: ActAllow, Rules: []Rule{
		{Name: "mmap", Action: eperm, Cmps: masked(2, wx), Archs: x64},
		{Name: "mmap", Action: eperm, Archs: i386},
		{Name: "mmap2", Action: eperm, Cmps: masked(2, wx), Archs: i386},
		{Name: "mprotect", Action: eperm, Cmps: masked(2, unix.PROT_EXEC)},
		{Name: "pkey_mprotect", Action: eperm, Cmps: masked(2, unix.PROT_EXEC)},
		{Name: "shmat", Action: eperm, Cmps: masked(2, shmExec)},
	}}
}

// archFilter is SystemCallArchitectures= (seccomp_restrict_archs): a call of an
// architecture not listed kills the thread (libseccomp's default for a bad architecture).
// The native architecture (x86-64) is never blocked; when nothing is, there is no filter.
func archFilter(names []string) (*Filter, error) {
	f := &Filter{Name: "SystemCallArchitectures=", Default: ActAllow, OnlyArchs: []Arch{ArchX8664}}
	allowed := map[Arch]bool{ArchX8664: true}
	for _, n := range names {
		a, ok := ArchFromName(n)
		if !ok {
			return nil, fmt.Errorf("SystemCallArchitectures=: unknown architecture %q", n)
		}
		if !allowed[a] {
			allowed[a] = true
			f.OnlyArchs = append(f.OnlyArchs, a)
		}
	}
	if len(allowed) == int(numArchs) {
		return nil, nil
	}
	return f, nil
}

// realtimeFilter is RestrictRealtime= (seccomp_restrict_realtime): sched_setscheduler() to any
// policy but SCHED_OTHER, SCHED_BATCH and SCHED_IDLE fails with EPERM.
func realtimeFilter() *Filter {
	f := &Filter{Name: "RestrictRealtime=", Default: ActAllow}
	allowed := map[int]bool{schedOther: true, schedBatch: true, schedIdle: true}
	for p := 0; p < schedIdle; p++ {
		if !allowed[p] {
			f.Rules = append(f.Rules, Rule{Name: "sched_setscheduler", Action: eperm, Cmps: []Cmp{{Arg: 1, Op: CmpEq, Val: uint64(p)}}})
		}
	}
	f.Rules = append(f.Rules, Rule{Name: "sched_setscheduler", Action: eperm, Cmps: []Cmp{{Arg: 1, Op: CmpGt, Val: schedIdle}}})
	return f
}

// suidFilter is RestrictSUIDSGID= (seccomp_restrict_suid_sgid): creating or chmod-ing a file
// to set-user-ID or set-group-ID fails with EPERM.
func suidFilter() *Filter {
	f := &Filter{Name: "RestrictSUIDSGID=", Default: ActAllow}
	for _, m := range []uint64{unix.S_ISUID, unix.S_ISGID} {
		mode := func(arg int) Cmp { return Cmp{Arg: arg, Op: CmpMaskedEq, Mask: m, Val: m} }
		flag := func(arg int, fl uint64) Cmp { return Cmp{Arg: arg, Op: CmpMaskedEq, Mask: fl, Val: fl} }
		for _, r := range []Rule{
			{Name: "chmod", Cmps: []Cmp{mode(1)}},
			{Name: "fchmod", Cmps: []Cmp{mode(1)}},
			{Name: "fchmodat", Cmps: []Cmp{mode(2)}},
			{Name: "mkdir", Cmps: []Cmp{mode(1)}},
			{Name: "mkdirat", Cmps: []Cmp{mode(2)}},
			{Name: "mknod", Cmps: []Cmp{mode(1)}},
			{Name: "mknodat", Cmps: []Cmp{mode(2)}},
			{Name: "open", Cmps: []Cmp{flag(1, unix.O_CREAT), mode(2)}},
			{Name: "open", Cmps: []Cmp{flag(1, unix.O_TMPFILE), mode(2)}},
			{Name: "openat", Cmps: []Cmp{flag(2, unix.O_CREAT), mode(3)}},
			{Name: "openat", Cmps: []Cmp{flag(2, unix.O_TMPFILE), mode(3)}},
			{Name: "creat", Cmps: []Cmp{mode(1)}},
		} {
			r.Action = eperm
			f.Rules = append(f.Rules, r)
		}
	}
	return f
}

// namespacesFilter is RestrictNamespaces= (seccomp_restrict_namespaces): creating or joining a
// namespace of a type not retained fails with EPERM; clone3() fails with ENOSYS (its flags are
// out of a filter's reach) so that callers fall back to clone().
func namespacesFilter(retain uint64) *Filter {
	f := &Filter{Name: "RestrictNamespaces=", Default: ActAllow}
	f.Rules = append(f.Rules, Rule{Name: "clone3", Action: ActionErrno(int(unix.ENOSYS))})
	if retain == 0 {
		f.Rules = append(f.Rules, Rule{Name: "setns", Action: eperm})
	} else {
		f.Rules = append(f.Rules, Rule{Name: "setns", Action: eperm, Cmps: []Cmp{{Arg: 1, Op: CmpEq, Val: 0}}})
	}
	for _, n := range namespaceFlags {
		if retain&n.flag != 0 {
			continue
		}
		c := []Cmp{{Op: CmpMaskedEq, Mask: n.flag, Val: n.flag}}
		f.Rules = append(f.Rules, Rule{Name: "unshare", Action: eperm, Cmps: c}, Rule{Name: "clone", Action: eperm, Cmps: c})
		if retain != 0 {
			f.Rules = append(f.Rules, Rule{Name: "setns", Action: eperm, Cmps: []Cmp{{Arg: 1, Op: CmpMaskedEq, Mask: n.flag, Val: n.flag}}})
		}
	}
	return f
}

const shmExec = 0o100000 // SHM_EXEC (linux/shm.h)

// Scheduling policies (linux/sched.h).
const (
	schedOther = 0
	schedBatch = 3
	schedIdle  = 5
)
