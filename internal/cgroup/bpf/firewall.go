package bpf

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// The packet filter of IPAddressAllow=/IPAddressDeny= and the counters of IPAccounting=, one
// program per direction (cgroup_skb ingress and egress). A packet's checked address is its
// source on ingress, its destination on egress; then, as systemd.resource-control(5) says:
// access is granted when the address matches an entry of the allow list, otherwise denied
// when it matches an entry of the deny list, otherwise granted. A packet let through is
// counted (packets, then bytes, in the direction's Counters map); a dropped one is not.

// IPFilter is what one unit's packet filter checks: the prefixes of its allow and deny lists.
type IPFilter struct {
	Allow, Deny []netip.Prefix
}

// Empty reports whether the filter lets every packet through.
func (f *IPFilter) Empty() bool { return f == nil || len(f.Deny) == 0 }

// __sk_buff offsets and the ethertypes as skb->protocol holds them (network byte order).
const (
	skbLen      = 0
	skbProtocol = 16
	skbIfindex  = 40
	ethIPv4     = 0x0800
	ethIPv6     = 0x86dd
)

// htons16 is v as a 16-bit number in network byte order reads as a native uint32 field.
func htons16(v uint16) uint32 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return uint32(binary.NativeEndian.Uint16(b[:]))
}

// Counter keys of an accounting map: an array of two uint64.
const (
	CounterPackets = 0
	CounterBytes   = 1
)

// NewCounters makes the accounting map of one direction.
func NewCounters() (*Map, error) { return NewArray(8, 2) }

// ReadCounters returns the packets and bytes counted in m.
func ReadCounters(m *Map) (packets, bytes uint64, err error) {
	var k [4]byte
	var v [8]byte
	for _, key := range []uint32{CounterPackets, CounterBytes} {
		binary.NativeEndian.PutUint32(k[:], key)
		if err := m.Lookup(k[:], v[:]); err != nil {
			return 0, 0, fmt.Errorf("bpf counters: %w", err)
		}
		if key == CounterPackets {
			packets = binary.NativeEndian.Uint64(v[:])
		} else {
			bytes = binary.NativeEndian.Uint64(v[:])
		}
	}
	return packets, bytes, nil
}

// ResetCounters sets m's counters to zero (a unit's start, as systemd resets them).
func ResetCounters(m *Map) error {
	var k [4]byte
	var v [8]byte
	for _, key := range []uint32{CounterPackets, CounterBytes} {
		binary.NativeEndian.PutUint32(k[:], key)
		if err := m.Update(k[:], v[:]); err != nil {
			return fmt.Errorf("bpf counters: %w", err)
		}
	}
	return nil
}

// FirewallProgram assembles the filter of one direction; counters may be nil. It returns
// nil, nil when there is nothing to do (no deny entry, no counters).
func FirewallProgram(f *IPFilter, ingress bool, counters *Map) ([]Insn, error) {
	if f.Empty() && counters == nil {
		return nil, nil
	}
	var a Asm
	a.Mov64Reg(R6, R1) // the skb, kept across calls
	if !f.Empty() {
		a.LoadW(R7, R6, skbProtocol)
		a.JumpImm32("==", R7, htons16(ethIPv4), "v4")
		a.JumpImm32("==", R7, htons16(ethIPv6), "v6")
		a.Jump("accept")
		// Each family: load the checked address onto the stack (at fp-16), then try the
		// allow list, then the deny list.
		for _, fam := range []struct {
			label      string
			v4         bool
			src, dst   int32
			size       int32
			allow, den []netip.Prefix
		}{
			{"v4", true, 12, 16, 4, family(f.Allow, true), family(f.Deny, true)},
			{"v6", false, 8, 24, 16, family(f.Allow, false), family(f.Deny, false)},
		} {
			a.Label(fam.label)
			if len(fam.den) == 0 {
				a.Jump("accept")
				continue
			}
			off := fam.dst
			if ingress {
				off = fam.src
			}
			a.Mov64Reg(R1, R6)
			a.Mov32(R2, uint32(off))
			a.Mov64Reg(R3, R10)
			a.Add64(R3, -16)
			a.Mov32(R4, uint32(fam.size))
			a.Call(fnSkbLoadBytes)
			a.JumpImm64("!=", R0, 0, "accept") // a packet too short to say: not ours to judge
			for i, p := range fam.allow {
				matchPrefix(&a, p, "accept", fmt.Sprintf("%s-allow-%d", fam.label, i))
			}
			for i, p := range fam.den {
				matchPrefix(&a, p, "drop", fmt.Sprintf("%s-deny-%d", fam.label, i))
			}
			a.Jump("accept")
		}
		a.Label("drop")
		a.Return(0)
	}
	a.Label("accept")
	if counters != nil {
		for _, c := range []struct {
			key   int32
			bytes bool
		}{{CounterPackets, false}, {CounterBytes, true}} {
			next := fmt.Sprintf("counted-%d", c.key)
			a.StoreImmW(R10, -4, c.key)
			a.Mov64Reg(R2, R10)
			a.Add64(R2, -4)
			a.LoadMapFD(R1, counters.FD())
			a.Call(fnMapLookupElem)
			a.JumpImm64("==", R0, 0, next)
			if c.bytes {
				a.LoadW(R1, R6, skbLen)
			} else {
				a.Mov64(R1, 1)
			}
			a.AtomicAdd64(R0, 0, R1)
			a.Label(next)
		}
	}
	a.Return(1)
	return a.Assemble()
}

// family keeps the prefixes of one address family.
func family(ps []netip.Prefix, v4 bool) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if p.Addr().Is4() == v4 {
			out = append(out, p)
		}
	}
	return out
}

// matchPrefix jumps to target when the address at fp-16 is in p; next is a label of its own.
func matchPrefix(a *Asm, p netip.Prefix, target, next string) {
	bits := p.Bits()
	addr := p.Masked().Addr().AsSlice()
	for w := 0; w*32 < bits; w++ {
		n := min(bits-w*32, 32)
		mask := ^uint32(0) << (32 - n)
		want := binary.BigEndian.Uint32(addr[4*w:])
		a.LoadW(R1, R10, int16(-16+4*w))
		a.ToBE32(R1)
		if mask != ^uint32(0) {
			a.And32(R1, mask)
		}
		a.JumpImm32("!=", R1, want, next)
	}
	a.Jump(target)
	a.Label(next)
}
