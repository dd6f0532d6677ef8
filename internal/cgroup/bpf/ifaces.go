package bpf

// The interface filter of RestrictNetworkInterfaces= (cgroup_skb, ingress and egress): a
// packet passes when the interface it goes through (skb->ifindex) is listed, or with an
// inverted list ("~eth0") when it is not.

// IfaceProgram assembles the filter for the interface indexes listed; deny inverts it.
func IfaceProgram(ifindexes []int, deny bool) ([]Insn, error) {
	var a Asm
	a.LoadW(R2, R1, skbIfindex)
	for _, ix := range ifindexes {
		a.JumpImm32("==", R2, uint32(ix), "listed")
	}
	a.Return(b2i(deny))
	a.Label("listed")
	a.Return(b2i(!deny))
	return a.Assemble()
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}
