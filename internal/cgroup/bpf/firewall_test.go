package bpf

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// packet is an Ethernet frame carrying an IP header from src to dst (what BPF_PROG_TEST_RUN
// takes for a cgroup_skb program, which then sees the packet from its IP header on).
func packet(src, dst string) []byte {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	eth := make([]byte, 14)
	if s.Is4() {
		binary.BigEndian.PutUint16(eth[12:], ethIPv4)
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], 20)
		ip[8], ip[9] = 64, 17
		copy(ip[12:], s.AsSlice())
		copy(ip[16:], d.AsSlice())
		return append(eth, ip...)
	}
	binary.BigEndian.PutUint16(eth[12:], ethIPv6)
	ip := make([]byte, 40)
	ip[0] = 0x60
	ip[6], ip[7] = 17, 64
	copy(ip[8:], s.AsSlice())
	copy(ip[24:], d.AsSlice())
	return append(eth, ip...)
}

func needBPF(t *testing.T) {
	t.Helper()
	if err := Supported(); err != nil {
		t.Skipf("no cgroup BPF here: %v", err)
	}
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func load(t *testing.T, typ, at int, insns []Insn, err error) *Program {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(typ, at, insns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestFirewallProgram(t *testing.T) {
	needBPF(t)
	any := prefixes("0.0.0.0/0", "::/0")
	localhost := prefixes("127.0.0.0/8", "::1/128")
	for _, tc := range []struct {
		name        string
		allow, deny []netip.Prefix
		ingress     bool
		src, dst    string
		pass        bool
	}{
		{"deny any egress", nil, any, false, "10.0.0.1", "127.0.0.1", false},
		{"deny any ingress", nil, any, true, "127.0.0.1", "10.0.0.1", false},
		{"deny any v6", nil, any, false, "::1", "2001:db8::1", false},
		{"allow localhost wins", localhost, any, false, "10.0.0.1", "127.0.0.53", true},
		{"allow localhost v6", localhost, any, false, "2001:db8::2", "::1", true},
		{"allow localhost, other denied", localhost, any, false, "127.0.0.1", "10.0.0.1", false},
		{"ingress checks the source", localhost, any, true, "127.0.0.1", "10.0.0.1", true},
		{"ingress source not allowed", localhost, any, true, "10.0.0.1", "127.0.0.1", false},
		{"deny a /24", nil, prefixes("192.168.1.0/24"), false, "10.0.0.1", "192.168.1.77", false},
		{"next to the /24", nil, prefixes("192.168.1.0/24"), false, "10.0.0.1", "192.168.2.1", true},
		{"deny a host", nil, prefixes("192.168.1.7/32"), false, "10.0.0.1", "192.168.1.7", false},
		{"not that host", nil, prefixes("192.168.1.7/32"), false, "10.0.0.1", "192.168.1.8", true},
		{"odd prefix length", nil, prefixes("10.128.0.0/9"), false, "1.1.1.1", "10.200.0.1", false},
		{"odd prefix length, outside", nil, prefixes("10.128.0.0/9"), false, "1.1.1.1", "10.100.0.1", true},
		{"v6 /64", nil, prefixes("fe80::/64"), false, "::1", "fe80::1234:5678", false},
		{"v6 outside /64", nil, prefixes("fe80::/64"), false, "::1", "fe80:0:0:1::1", true},
		{"v6 /100 inside", nil, prefixes("2001:db8::a000:0/100"), false, "::1", "2001:db8::afff:1", false},
		{"v6 /100 outside", nil, prefixes("2001:db8::a000:0/100"), false, "::1", "2001:db8::b000:1", true},
		{"v4 deny does not touch v6", nil, prefixes("0.0.0.0/0"), false, "::1", "::2", true},
		{"allow a /16 inside deny any", prefixes("10.1.0.0/16"), any, false, "1.1.1.1", "10.1.200.3", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &IPFilter{Allow: tc.allow, Deny: tc.deny}
			at := AttachEgress
			if tc.ingress {
				at = AttachIngress
			}
			insns, err := FirewallProgram(f, tc.ingress, nil)
			p := load(t, TypeCgroupSKB, at, insns, err)
			v, err := p.TestRun(packet(tc.src, tc.dst))
			if err != nil {
				t.Fatal(err)
			}
			if (v == 1) != tc.pass {
				t.Errorf("verdict %d, want pass=%v", v, tc.pass)
			}
		})
	}
}

func TestFirewallNothingToDo(t *testing.T) {
	insns, err := FirewallProgram(&IPFilter{Allow: prefixes("10.0.0.0/8")}, false, nil)
	if insns != nil || err != nil {
		t.Fatalf("an allow list alone made a program (%d instructions, %v)", len(insns), err)
	}
}

func TestFirewallCounters(t *testing.T) {
	needBPF(t)
	m, err := NewCounters()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	f := &IPFilter{Deny: prefixes("10.0.0.0/8")}
	insns, err := FirewallProgram(f, false, m)
	p := load(t, TypeCgroupSKB, AttachEgress, insns, err)
	pass := packet("127.0.0.1", "127.0.0.2")
	for range 3 {
		if v, err := p.TestRun(pass); err != nil || v != 1 {
			t.Fatalf("verdict %d, %v", v, err)
		}
	}
	if v, err := p.TestRun(packet("127.0.0.1", "10.1.1.1")); err != nil || v != 0 {
		t.Fatalf("verdict %d, %v", v, err)
	}
	pk, by, err := ReadCounters(m)
	if err != nil {
		t.Fatal(err)
	}
	// The dropped packet is not counted; skb->len is the packet from its IP header on.
	if pk != 3 || by != 3*20 {
		t.Errorf("counted %d packets, %d bytes; want 3, 60", pk, by)
	}
	if err := ResetCounters(m); err != nil {
		t.Fatal(err)
	}
	if pk, by, _ := ReadCounters(m); pk != 0 || by != 0 {
		t.Errorf("after reset %d packets, %d bytes", pk, by)
	}
	// Accounting alone: a program that counts everything.
	insns, err = FirewallProgram(&IPFilter{}, true, m)
	p = load(t, TypeCgroupSKB, AttachIngress, insns, err)
	if v, err := p.TestRun(packet("::1", "::1")); err != nil || v != 1 {
		t.Fatalf("verdict %d, %v", v, err)
	}
	if pk, by, _ := ReadCounters(m); pk != 1 || by != 40 {
		t.Errorf("counted %d packets, %d bytes; want 1, 40", pk, by)
	}
}

func TestIfaceProgram(t *testing.T) {
	needBPF(t)
	// BPF_PROG_TEST_RUN runs the packet on the loopback device, ifindex 1.
	for _, tc := range []struct {
		name string
		idx  []int
		deny bool
		pass bool
	}{
		{"listed", []int{5, 1}, false, true},
		{"not listed", []int{5}, false, false},
		{"none listed", nil, false, false},
		{"inverted, listed", []int{1}, true, false},
		{"inverted, not listed", []int{7}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			insns, err := IfaceProgram(tc.idx, tc.deny)
			p := load(t, TypeCgroupSKB, AttachEgress, insns, err)
			v, err := p.TestRun(packet("127.0.0.1", "127.0.0.1"))
			if err != nil {
				t.Fatal(err)
			}
			if (v == 1) != tc.pass {
				t.Errorf("verdict %d, want pass=%v", v, tc.pass)
			}
		})
	}
}
