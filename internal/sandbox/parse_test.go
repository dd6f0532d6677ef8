package sandbox

import (
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestSyscallGroupsMatchSystemd compares the generated groups with what the installed
// systemd-analyze prints (go generate rewrites zsyscalls.go from it).
func TestSyscallGroupsMatchSystemd(t *testing.T) {
	out, err := exec.Command("systemd-analyze", "syscall-filter").Output()
	if err != nil && len(out) == 0 {
		t.Skipf("systemd-analyze: %v", err)
	}
	var want [][]string
	for _, line := range strings.Split(string(out), "\n") {
		s := strings.TrimSpace(line)
		switch {
		case s == "" || strings.HasPrefix(s, "#"):
		case strings.HasPrefix(line, "@"):
			want = append(want, []string{s})
		case len(want) > 0 && line != s:
			want[len(want)-1] = append(want[len(want)-1], s)
		}
	}
	if !reflect.DeepEqual(want, syscallGroups) {
		t.Errorf("zsyscalls.go is not what systemd-analyze syscall-filter prints: run go generate ./internal/sandbox")
	}
	if g, ok := Group("@system-service"); !ok || len(g) < 20 {
		t.Errorf("@system-service = %v", g)
	}
}

func TestParseCapLine(t *testing.T) {
	const bind, raw, admin = 1 << 10, 1 << 13, 1 << 21
	for _, tc := range []struct {
		bounding bool
		lines    []string
		want     uint64
	}{
		{true, []string{"CAP_NET_BIND_SERVICE"}, bind},
		{true, []string{"cap_net_bind_service cap_net_raw"}, bind | raw},
		{true, []string{"CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}, bind | raw},
		{true, []string{"~CAP_SYS_ADMIN"}, CapAll &^ admin},
		{true, []string{"~CAP_SYS_ADMIN", "~CAP_NET_RAW"}, CapAll &^ admin &^ raw},
		{true, []string{"CAP_NET_RAW", "~CAP_NET_RAW"}, 0},
		{true, []string{"CAP_NET_RAW", ""}, 0},
		{true, []string{"CAP_NET_RAW", "~"}, CapAll},
		{true, []string{""}, 0},
		{true, []string{"CAP_BOGUS CAP_NET_RAW"}, raw},
		{false, []string{"CAP_NET_BIND_SERVICE"}, bind},
		{false, []string{"CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}, bind | raw},
		{false, []string{"CAP_NET_BIND_SERVICE CAP_NET_RAW", "~CAP_NET_RAW"}, bind},
		{false, []string{"~CAP_NET_RAW"}, CapAll &^ raw},
		{false, []string{"13"}, raw},
	} {
		var c CapSet
		for _, l := range tc.lines {
			c, _ = ParseCapLine(c, l, tc.bounding)
		}
		if c.Mask != tc.want {
			t.Errorf("%v (bounding %v) = %#x, want %#x", tc.lines, tc.bounding, c.Mask, tc.want)
		}
	}
	if s := FormatCaps(bind | raw); s != "cap_net_bind_service cap_net_raw" {
		t.Errorf("FormatCaps = %q", s)
	}
}

func TestParseSyscallLine(t *testing.T) {
	parse := func(lines ...string) (SyscallFilter, []string) {
		var f SyscallFilter
		var all []string
		for _, l := range lines {
			var w []string
			f, w = ParseSyscallLine(f, l, true)
			all = append(all, w...)
		}
		return f, all
	}
	f, _ := parse("~@clock")
	if f.AllowList || f.Entries["settimeofday"] != errnoNoAction || f.Entries["read"] != 0 && len(f.Entries) > 20 {
		t.Errorf("~@clock = %+v", f)
	}
	if _, ok := f.Entries["read"]; ok {
		t.Errorf("~@clock denies read")
	}
	// libseccomp gives sys_debug_setcontext switch_endian's number: one entry, shown as 252
	// shows chrony's ~@debug.
	f, _ = parse("~@debug")
	if _, ok := f.Entries["sys_debug_setcontext"]; ok || f.Entries["switch_endian"] != errnoNoAction {
		t.Errorf("~@debug = %v", f.Names())
	}
	if f, _ = parse("~sys_debug_setcontext"); !slices.Equal(f.Names(), []string{"switch_endian"}) {
		t.Errorf("sys_debug_setcontext = %v", f.Names())
	}
	f, _ = parse("@system-service")
	if !f.AllowList {
		t.Fatal("not an allow list")
	}
	for _, n := range []string{"read", "execve", "exit_group", "getpid", "socket"} { // @default and @network-io
		if _, ok := f.Entries[n]; !ok {
			t.Errorf("@system-service lacks %s", n)
		}
	}
	if _, ok := f.Entries["reboot"]; ok {
		t.Error("@system-service allows reboot")
	}
	f, _ = parse("@system-service", "~@resources")
	if _, ok := f.Entries["setrlimit"]; ok {
		t.Error("~@resources left setrlimit")
	}
	f, _ = parse("~@mount", "~mount:EPERM")
	if f.Entries["mount"] != 1 || f.Entries["umount2"] != errnoNoAction {
		t.Errorf("errnos: mount %d umount2 %d", f.Entries["mount"], f.Entries["umount2"])
	}
	f, _ = parse("~reboot", "reboot")
	if _, ok := f.Entries["reboot"]; ok {
		t.Error("an allow line did not take reboot out of the deny list")
	}
	f, _ = parse("~reboot", "")
	if !f.Empty() {
		t.Error("empty line did not reset")
	}
	_, w := parse("read:EPERM", "~bogus_call", "~@bogus", "~mount:EBOGUS")
	want := []string{"Allow-listed system calls cannot take error number, ignoring: read:EPERM",
		"Failed to parse system call, ignoring: bogus_call", "Unknown system call group, ignoring: @bogus",
		"Failed to parse syscall:errno, ignoring: mount:EBOGUS"}
	if !reflect.DeepEqual(w, want) {
		t.Errorf("warnings %q, want %q", w, want)
	}
	f, _ = parse("~write:kill")
	if f.Entries["write"] != ErrnoKill {
		t.Errorf("write:kill = %d", f.Entries["write"])
	}
}

func TestParseFamilies(t *testing.T) {
	parse := func(lines ...string) Families {
		var f Families
		for _, l := range lines {
			f, _ = ParseFamiliesLine(f, l)
		}
		return f
	}
	if f := parse("AF_UNIX AF_INET"); !f.AllowList || !reflect.DeepEqual(f.Names(), []string{"AF_INET", "AF_UNIX"}) {
		t.Errorf("allow = %+v", f)
	}
	if f := parse("~AF_PACKET", "AF_PACKET"); f.AllowList || len(f.Set) != 0 {
		t.Errorf("deny then allow = %+v", f)
	}
	if f := parse("none"); !f.AllowList || !f.Restricts() {
		t.Errorf("none = %+v", f)
	}
	if f := parse("AF_UNIX", ""); f.Restricts() {
		t.Errorf("reset = %+v", f)
	}
	if f := parse("AF_UNIX", "", "AF_INET"); f.Restricts() { // systemd's quirk: the set stays, mode deny
		t.Errorf("after reset = %+v", f)
	}
}

func TestParseNamespaces(t *testing.T) {
	p := func(lines ...string) uint64 {
		cur := NamespacesInitial
		for _, l := range lines {
			cur, _ = ParseNamespaces(cur, l)
		}
		return cur
	}
	if p("yes") != 0 || p("no") != NamespacesAll || p("") != NamespacesInitial {
		t.Error("booleans")
	}
	if got := FormatNamespaces(p("net ipc")); got != "ipc net" {
		t.Errorf("net ipc = %q", got)
	}
	if got := FormatNamespaces(p("~user")); got != "cgroup ipc net mnt pid uts" {
		t.Errorf("~user = %q", got)
	}
	if got := FormatNamespaces(p("net", "ipc")); got != "ipc net" {
		t.Errorf("merge = %q", got)
	}
	if got := FormatNamespaces(p("net ipc", "~net")); got != "ipc" {
		t.Errorf("merge ~ = %q", got)
	}
	if _, ok := ParseNamespaces(NamespacesInitial, "bogus"); ok {
		t.Error("bogus accepted")
	}
}
