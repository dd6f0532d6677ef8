package bpf

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// The bind filter of SocketBindAllow=/SocketBindDeny= (cgroup/bind4 and cgroup/bind6, run
// at each bind(2) of an AF_INET or AF_INET6 socket): a bind whose address family, protocol
// and port match a rule of the allow list is let through; otherwise one matching a rule of
// the deny list fails with EPERM; otherwise it is let through (systemd 252's order). A bind
// to port 0 is matched by the rules without ports ("any", "tcp", "ipv6:udp") alone.

// BindRule is one SocketBindAllow=/SocketBindDeny= entry: Family 0 (both), AF_INET or
// AF_INET6; Protocol 0 (any), IPPROTO_TCP or IPPROTO_UDP; ports PortMin..PortMax, or every
// port (0 included) when PortMin is 0.
type BindRule struct {
	Family           int
	Protocol         int
	PortMin, PortMax uint16
}

// bpf_sock_addr offsets.
const (
	saUserFamily = 0
	saUserPort   = 24
	saFamily     = 28
	saProtocol   = 36
)

// BindProgram assembles the bind filter for family (AF_INET: cgroup/bind4, AF_INET6: bind6).
// It returns nil, nil when the deny list is empty: every bind is let through.
func BindProgram(family int, allow, deny []BindRule) ([]Insn, error) {
	if len(deny) == 0 {
		return nil, nil
	}
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return nil, fmt.Errorf("bpf bind program: family %d", family)
	}
	var a Asm
	a.LoadW(R6, R1, saUserFamily)
	a.JumpImm32("!=", R6, uint32(family), "allow")
	a.LoadW(R6, R1, saFamily)
	a.JumpImm32("!=", R6, uint32(family), "allow")
	a.LoadW(R7, R1, saProtocol)
	a.LoadW(R8, R1, saUserPort)
	a.ToBE16(R8)
	for _, l := range []struct {
		rules  []BindRule
		target string
	}{{allow, "allow"}, {deny, "deny"}} {
		for i, r := range l.rules {
			if r.Family != 0 && r.Family != family {
				continue
			}
			next := fmt.Sprintf("%s-%d", l.target, i)
			if r.Protocol != 0 {
				a.JumpImm32("!=", R7, uint32(r.Protocol), next)
			}
			if r.PortMin != 0 {
				a.JumpImm32("<", R8, uint32(r.PortMin), next)
				a.JumpImm32(">", R8, uint32(r.PortMax), next)
			}
			a.Jump(l.target)
			a.Label(next)
		}
	}
	a.Label("allow")
	a.Return(1)
	a.Label("deny")
	a.Return(0)
	return a.Assemble()
}
