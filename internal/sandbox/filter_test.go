package sandbox

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// runBPF interprets a seccomp program (the subset the assembler emits) on one call.
func runBPF(t *testing.T, prog []byte, arch uint32, nr uint32, args ...uint64) uint32 {
	t.Helper()
	var data [64]byte
	binary.LittleEndian.PutUint32(data[0:], nr)
	binary.LittleEndian.PutUint32(data[4:], arch)
	for i, a := range args {
		binary.LittleEndian.PutUint64(data[16+8*i:], a)
	}
	var acc uint32
	for pc := 0; pc < len(prog)/8; pc++ {
		in := prog[8*pc:]
		code := binary.LittleEndian.Uint16(in)
		jt, jf := int(in[2]), int(in[3])
		k := binary.LittleEndian.Uint32(in[4:])
		cond := func(b bool) {
			if b {
				pc += jt
			} else {
				pc += jf
			}
		}
		switch code {
		case bpfLdAbsW:
			acc = binary.LittleEndian.Uint32(data[k:])
		case bpfAndK:
			acc &= k
		case bpfJa:
			pc += int(k)
		case bpfJeqK:
			cond(acc == k)
		case bpfJgtK:
			cond(acc > k)
		case bpfJgeK:
			cond(acc >= k)
		case bpfJsetK:
			cond(acc&k != 0)
		case bpfRetK:
			return k
		default:
			t.Fatalf("unknown opcode %#x at %d", code, pc)
		}
	}
	t.Fatal("program ran off its end")
	return 0
}

func nr(t *testing.T, a Arch, name string) uint32 {
	n, ok := SyscallNumber(a, name)
	if !ok {
		t.Fatalf("no %s on %s", name, a)
	}
	return n
}

func compile1(t *testing.T, s *Settings) map[string][]byte {
	t.Helper()
	fs, err := Filters(s)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range fs {
		p, err := f.filter.Program()
		if err != nil {
			t.Fatal(err)
		}
		out[f.filter.Name] = p
	}
	return out
}

func TestFilters(t *testing.T) {
	eperm := uint32(retErrno | uint32(unix.EPERM))
	afno := uint32(retErrno | uint32(unix.EAFNOSUPPORT))
	x64, i386 := uint32(auditArchX8664), uint32(auditArchI386)
	type call struct {
		arch uint32
		name string
		args []uint64
		want uint32
	}
	sf := func(lines ...string) SyscallFilter {
		var f SyscallFilter
		for _, l := range lines {
			f, _ = ParseSyscallLine(f, l, true)
		}
		return f
	}
	fam := func(l string) Families { f, _ := ParseFamiliesLine(Families{}, l); return f }
	for _, tc := range []struct {
		name   string
		s      Settings
		filter string
		calls  []call
	}{
		{"deny-clock", Settings{SystemCallFilter: sf("~@clock")}, "SystemCallFilter=", []call{
			{x64, "settimeofday", nil, retKillProcess}, {x64, "read", nil, retAllow},
			{i386, "settimeofday", nil, retKillProcess}, {i386, "read", nil, retAllow},
			{0x12345, "settimeofday", nil, retAllow},
		}},
		{"deny-errno", Settings{SystemCallFilter: sf("~@clock"), SystemCallErrorNumber: int(unix.EPERM)}, "SystemCallFilter=", []call{
			{x64, "clock_settime", nil, eperm},
		}},
		{"deny-own-errno", Settings{SystemCallFilter: sf("~@mount", "~mount:EACCES")}, "SystemCallFilter=", []call{
			{x64, "mount", nil, retErrno | uint32(unix.EACCES)}, {x64, "umount2", nil, retKillProcess},
		}},
		{"allow-list", Settings{SystemCallFilter: sf("@system-service"), SystemCallErrorNumber: int(unix.EPERM)}, "SystemCallFilter=", []call{
			{x64, "read", nil, retAllow}, {x64, "reboot", nil, eperm}, {x64, "init_module", nil, eperm},
			{x64, "socket", nil, retAllow}, {x64, "execve", nil, retAllow},
		}},
		{"families-allow", Settings{RestrictAddressFamilies: fam("AF_UNIX AF_INET")}, "RestrictAddressFamilies=", []call{
			{x64, "socket", []uint64{unix.AF_UNIX}, retAllow}, {x64, "socket", []uint64{unix.AF_INET}, retAllow},
			{x64, "socket", []uint64{unix.AF_INET6}, afno}, {x64, "socket", []uint64{unix.AF_PACKET}, afno},
			{x64, "socket", []uint64{0}, afno}, {x64, "socket", []uint64{200}, afno},
			{x64, "socket", []uint64{1<<32 | unix.AF_UNIX}, afno},
			{i386, "socket", []uint64{unix.AF_PACKET}, retAllow},
		}},
		{"families-deny", Settings{RestrictAddressFamilies: fam("~AF_PACKET")}, "RestrictAddressFamilies=", []call{
			{x64, "socket", []uint64{unix.AF_PACKET}, afno}, {x64, "socket", []uint64{unix.AF_INET}, retAllow},
		}},
		{"families-none", Settings{RestrictAddressFamilies: fam("none")}, "RestrictAddressFamilies=", []call{
			{x64, "socket", []uint64{unix.AF_UNIX}, afno}, {x64, "socketpair", []uint64{unix.AF_UNIX}, retAllow},
		}},
		{"mdwe", Settings{MemoryDenyWriteExecute: true}, "MemoryDenyWriteExecute=", []call{
			{x64, "mmap", []uint64{0, 4096, unix.PROT_WRITE | unix.PROT_EXEC}, eperm},
			{x64, "mmap", []uint64{0, 4096, unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC}, eperm},
			{x64, "mmap", []uint64{0, 4096, unix.PROT_READ | unix.PROT_EXEC}, retAllow},
			{x64, "mprotect", []uint64{0, 4096, unix.PROT_EXEC}, eperm},
			{x64, "mprotect", []uint64{0, 4096, unix.PROT_READ}, retAllow},
			{i386, "mmap2", []uint64{0, 4096, unix.PROT_WRITE | unix.PROT_EXEC}, eperm},
			{i386, "mmap", nil, eperm},
		}},
		{"realtime", Settings{RestrictRealtime: true}, "RestrictRealtime=", []call{
			{x64, "sched_setscheduler", []uint64{0, unix.SCHED_FIFO}, eperm},
			{x64, "sched_setscheduler", []uint64{0, unix.SCHED_RR}, eperm},
			{x64, "sched_setscheduler", []uint64{0, schedBatch}, retAllow},
			{x64, "sched_setscheduler", []uint64{0, schedOther}, retAllow},
			{x64, "sched_setscheduler", []uint64{0, unix.SCHED_FIFO | unix.SCHED_RESET_ON_FORK}, eperm},
			{x64, "sched_setscheduler", []uint64{0, 6}, eperm},
		}},
		{"suid", Settings{RestrictSUIDSGID: true}, "RestrictSUIDSGID=", []call{
			{x64, "fchmod", []uint64{3, 0o4755}, eperm}, {x64, "fchmod", []uint64{3, 0o2755}, eperm},
			{x64, "fchmod", []uint64{3, 0o755}, retAllow},
			{x64, "openat", []uint64{0, 0, unix.O_CREAT | unix.O_WRONLY, 0o4755}, eperm},
			{x64, "openat", []uint64{0, 0, unix.O_WRONLY, 0o4755}, retAllow},
			{x64, "openat", []uint64{0, 0, unix.O_CREAT, 0o644}, retAllow},
		}},
		{"namespaces-net", Settings{RestrictNamespaces: unix.CLONE_NEWNET}, "RestrictNamespaces=", []call{
			{x64, "unshare", []uint64{unix.CLONE_NEWNET}, retAllow},
			{x64, "unshare", []uint64{unix.CLONE_NEWUTS}, eperm},
			{x64, "unshare", []uint64{unix.CLONE_NEWNET | unix.CLONE_NEWUSER}, eperm},
			{x64, "clone", []uint64{unix.CLONE_NEWUSER}, eperm},
			{x64, "clone", []uint64{unix.CLONE_VM}, retAllow},
			{x64, "clone3", nil, retErrno | uint32(unix.ENOSYS)},
			{x64, "setns", []uint64{3, 0}, eperm}, {x64, "setns", []uint64{3, unix.CLONE_NEWNET}, retAllow},
			{x64, "setns", []uint64{3, unix.CLONE_NEWIPC}, eperm},
		}},
		{"namespaces-all", Settings{RestrictNamespaces: 0}, "RestrictNamespaces=", []call{
			{x64, "setns", []uint64{3, unix.CLONE_NEWNET}, eperm},
		}},
		{"lock-personality", Settings{LockPersonality: true, RestrictNamespaces: NamespacesAll}, "LockPersonality=", []call{
			{x64, "personality", []uint64{0}, retAllow}, {x64, "personality", []uint64{8}, eperm},
			{x64, "personality", []uint64{0xffffffff}, eperm}, {x64, "personality", []uint64{1 << 32}, eperm},
		}},
		{"clock", Settings{ProtectClock: true, RestrictNamespaces: NamespacesAll}, "ProtectClock=", []call{
			{x64, "clock_settime", nil, eperm}, {x64, "adjtimex", nil, eperm}, {x64, "clock_gettime", nil, retAllow},
		}},
		{"archs-native", Settings{SystemCallArchitectures: []string{"native"}, RestrictNamespaces: NamespacesAll}, "SystemCallArchitectures=", []call{
			{x64, "read", nil, retAllow}, {i386, "read", nil, retKillThread}, {x64, "", []uint64{}, retAllow},
		}},
		{"archs-x86", Settings{SystemCallArchitectures: []string{"x86"}, RestrictNamespaces: NamespacesAll}, "SystemCallArchitectures=", []call{
			{x64, "read", nil, retAllow}, {i386, "read", nil, retAllow}, {x64, "", []uint64{}, retAllow},
		}},
		{"log", Settings{SystemCallLog: func() SyscallFilter { f, _ := ParseSyscallLine(SyscallFilter{}, "@reboot", false); return f }(), RestrictNamespaces: NamespacesAll}, "SystemCallLog=", []call{
			{x64, "reboot", nil, retLog}, {x64, "read", nil, retAllow},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.s.RestrictNamespaces == 0 && tc.name != "namespaces-all" {
				tc.s.RestrictNamespaces = NamespacesAll
			}
			progs := compile1(t, &tc.s)
			if len(progs) != 1 {
				t.Fatalf("filters %v, want only %s", keys(progs), tc.filter)
			}
			p := progs[tc.filter]
			if p == nil {
				t.Fatalf("no %s filter", tc.filter)
			}
			for _, c := range tc.calls {
				a := ArchX8664
				if c.arch == i386 {
					a = ArchX86
				}
				n := uint32(0)
				if c.name != "" {
					n = nr(t, a, c.name)
				}
				if got := runBPF(t, p, c.arch, n, c.args...); got != c.want {
					t.Errorf("%s %s(%#x) = %#x, want %#x", a, c.name, c.args, got, c.want)
				}
			}
		})
	}
}

// TestArchFilterNone: with every architecture allowed no filter is loaded (no seccomp mode,
// no no_new_privs implied), as systemd's seccomp_restrict_archs loads none then.
func TestArchFilterNone(t *testing.T) {
	fs, err := Filters(&Settings{SystemCallArchitectures: []string{"native", "x86", "x32"}, RestrictNamespaces: NamespacesAll})
	if err != nil || len(fs) != 0 {
		t.Errorf("filters %v, %v", fs, err)
	}
	f, _ := archFilter([]string{"native"})
	p, _ := f.Program()
	if got := runBPF(t, p, auditArchX8664, x32SyscallBit|1); got != retKillThread {
		t.Errorf("x32 call = %#x, want kill thread", got)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestFilterOrder: the filters load in systemd's order, the system call filter last (among
// equal actions the last loaded wins), and the bounding set loses what the sandboxing drops.
func TestFilterOrder(t *testing.T) {
	f, _ := ParseSyscallLine(SyscallFilter{}, "~@clock", true)
	s := &Settings{SystemCallFilter: f, ProtectClock: true, RestrictRealtime: true, RestrictNamespaces: NamespacesAll,
		CapabilityBoundingSet: CapAll, PrivateDevices: true}
	fs, _ := Filters(s)
	var names []string
	for _, x := range fs {
		names = append(names, x.filter.Name)
	}
	want := []string{"RestrictRealtime=", "ProtectClock=", "PrivateDevices=", "SystemCallFilter="}
	if len(names) != len(want) {
		t.Fatalf("filters %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("filters %v, want %v", names, want)
		}
	}
	b := s.BoundingSet()
	for _, c := range []int{CapSysTime, CapWakeAlarm, CapMknod, CapSysRawio} {
		if b&(1<<c) != 0 {
			t.Errorf("bounding set keeps %s", CapName(c))
		}
	}
	sp, err := Compile(s, -1, -1)
	if err != nil || sp.BoundingSet == nil || sp.Empty() {
		t.Errorf("Compile = %+v, %v", sp, err)
	}
	if sp, _ := Compile(&Settings{CapabilityBoundingSet: CapAll, RestrictNamespaces: NamespacesAll}, -1, -1); !sp.Empty() {
		t.Errorf("nothing set, spec %+v", sp)
	}
}

// BenchmarkCompile compiles the privilege and system call sandbox of Debian's
// systemd-hostnamed.service (what the manager does at each start of such a unit).
func BenchmarkCompile(b *testing.B) {
	f, _ := ParseSyscallLine(SyscallFilter{}, "@system-service sethostname", true)
	fam, _ := ParseFamiliesLine(Families{}, "AF_UNIX")
	s := &Settings{CapabilityBoundingSet: 1 << CapSysAdmin, LockPersonality: true, MemoryDenyWriteExecute: true,
		NoNewPrivileges: true, ProtectKernelLogs: true, ProtectKernelModules: true, ProtectKernelTunables: true,
		RestrictAddressFamilies: fam, RestrictNamespaces: 0, RestrictRealtime: true, RestrictSUIDSGID: true,
		SystemCallArchitectures: []string{"native"}, SystemCallErrorNumber: int(unix.EPERM), SystemCallFilter: f}
	for b.Loop() {
		if _, err := Compile(s, -1, -1); err != nil {
			b.Fatal(err)
		}
	}
}
