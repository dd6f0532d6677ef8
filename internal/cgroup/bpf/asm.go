// Package bpf enforces a unit's network and device access with cgroup BPF programs, as
// systemd 252 does: IPAddressAllow=/IPAddressDeny= and IPAccounting= (cgroup_skb ingress and
// egress), SocketBindAllow=/SocketBindDeny= (cgroup/bind4 and bind6), DeviceAllow=/
// DevicePolicy= (cgroup_device) and RestrictNetworkInterfaces= (cgroup_skb on the interface
// index). The programs are assembled here from eBPF instructions, loaded with the bpf(2)
// system call and attached to a cgroup2 directory: they apply to every process whose cgroup2
// membership is that directory or below it, whatever the v1 hierarchies say (so they work on
// a hybrid layout too).
//
// Each program's rules are compiled into its instructions (no lookup maps): a unit's lists are
// fixed while it runs, and a program that holds them is tested as it is (BPF_PROG_TEST_RUN for
// the packet filters).
package bpf

import (
	"encoding/binary"
	"fmt"
)

// Instruction classes, sizes, modes and operations (linux/bpf.h, linux/bpf_common.h).
const (
	clsLD    = 0x00
	clsLDX   = 0x01
	clsST    = 0x02
	clsSTX   = 0x03
	clsALU   = 0x04
	clsJMP   = 0x05
	clsJMP32 = 0x06
	clsALU64 = 0x07

	sizeW  = 0x00
	sizeDW = 0x18

	modeIMM    = 0x00
	modeMEM    = 0x60
	modeATOMIC = 0xc0

	srcK = 0x00
	srcX = 0x08

	opAdd  = 0x00
	opOr   = 0x40
	opAnd  = 0x50
	opRsh  = 0x70
	opMov  = 0xb0
	opEnd  = 0xd0 // byte swap; with srcX: to big endian
	jmpA   = 0x00
	jmpEq  = 0x10
	jmpGt  = 0x20
	jmpGe  = 0x30
	jmpSet = 0x40
	jmpNe  = 0x50
	jmpLt  = 0xa0
	jmpLe  = 0xb0
	opCall = 0x80
	opExit = 0x90

	pseudoMapFD = 1 // src of a 64-bit immediate load that names a map by fd
)

// Registers: R0 return value, R1-R5 arguments (clobbered by calls), R6-R9 kept across calls,
// R10 the frame pointer (read only).
const (
	R0 = iota
	R1
	R2
	R3
	R4
	R5
	R6
	R7
	R8
	R9
	R10
)

// Helper function numbers (linux/bpf.h's __BPF_FUNC_MAPPER order).
const (
	fnMapLookupElem = 1
	fnSkbLoadBytes  = 26
)

// Insn is one eBPF instruction; a 64-bit immediate load takes two.
type Insn struct {
	Op       uint8
	Dst, Src uint8
	Off      int16
	Imm      int32
}

// Asm builds a program: instructions, with jumps to labels resolved by Assemble.
type Asm struct {
	insns  []Insn
	labels map[string]int
	fixups map[int]string // instruction index -> label its Off jumps to
}

func (a *Asm) emit(in ...Insn) { a.insns = append(a.insns, in...) }

// Label marks the next instruction as name.
func (a *Asm) Label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.insns)
}

// jump emits a jump instruction whose target is a label.
func (a *Asm) jump(in Insn, label string) {
	if a.fixups == nil {
		a.fixups = map[int]string{}
	}
	a.fixups[len(a.insns)] = label
	a.emit(in)
}

// Mov64 dst = imm (sign-extended); Mov64Reg dst = src; Mov32 dst = uint32(imm).
func (a *Asm) Mov64(dst uint8, imm int32) {
	a.emit(Insn{Op: clsALU64 | opMov | srcK, Dst: dst, Imm: imm})
}
func (a *Asm) Mov64Reg(dst, src uint8) { a.emit(Insn{Op: clsALU64 | opMov | srcX, Dst: dst, Src: src}) }
func (a *Asm) Mov32(dst uint8, imm uint32) {
	a.emit(Insn{Op: clsALU | opMov | srcK, Dst: dst, Imm: int32(imm)})
}

// Add64 dst += imm; And32 dst = uint32(dst) & imm; Or32 dst |= imm (32 bits); Rsh32.
func (a *Asm) Add64(dst uint8, imm int32) {
	a.emit(Insn{Op: clsALU64 | opAdd | srcK, Dst: dst, Imm: imm})
}
func (a *Asm) And32(dst uint8, imm uint32) {
	a.emit(Insn{Op: clsALU | opAnd | srcK, Dst: dst, Imm: int32(imm)})
}
func (a *Asm) Or32(dst uint8, imm uint32) {
	a.emit(Insn{Op: clsALU | opOr | srcK, Dst: dst, Imm: int32(imm)})
}
func (a *Asm) Rsh32(dst uint8, imm uint32) {
	a.emit(Insn{Op: clsALU | opRsh | srcK, Dst: dst, Imm: int32(imm)})
}

// ToBE32 turns the 32-bit value in dst from network byte order into a number (a byte swap
// on this little-endian machine, nothing on a big-endian one: the kernel's BPF_TO_BE).
func (a *Asm) ToBE32(dst uint8) { a.emit(Insn{Op: clsALU | opEnd | srcX, Dst: dst, Imm: 32}) }

// ToBE16 is ToBE32 for a 16-bit value (a port), leaving the upper bits zero.
func (a *Asm) ToBE16(dst uint8) { a.emit(Insn{Op: clsALU | opEnd | srcX, Dst: dst, Imm: 16}) }

// LoadW dst = *(u32 *)(src + off).
func (a *Asm) LoadW(dst, src uint8, off int16) {
	a.emit(Insn{Op: clsLDX | modeMEM | sizeW, Dst: dst, Src: src, Off: off})
}

// StoreImmW *(u32 *)(dst + off) = imm; StoreW *(u32 *)(dst + off) = src.
func (a *Asm) StoreImmW(dst uint8, off int16, imm int32) {
	a.emit(Insn{Op: clsST | modeMEM | sizeW, Dst: dst, Off: off, Imm: imm})
}
func (a *Asm) StoreW(dst uint8, off int16, src uint8) {
	a.emit(Insn{Op: clsSTX | modeMEM | sizeW, Dst: dst, Src: src, Off: off})
}

// AtomicAdd64 *(u64 *)(dst + off) += src, atomically.
func (a *Asm) AtomicAdd64(dst uint8, off int16, src uint8) {
	a.emit(Insn{Op: clsSTX | modeATOMIC | sizeDW, Dst: dst, Src: src, Off: off, Imm: opAdd})
}

// LoadMapFD dst = the map of fd (a two-instruction load the kernel resolves at load time).
func (a *Asm) LoadMapFD(dst uint8, fd int) {
	a.emit(Insn{Op: clsLD | modeIMM | sizeDW, Dst: dst, Src: pseudoMapFD, Imm: int32(fd)}, Insn{})
}

// JumpImm32 goes to label when the 32-bit comparison op of dst and imm holds (op: "==",
// "!=", "<", "<=", ">", ">=" unsigned, "&" any bit set). JumpImm64 compares all 64 bits
// with the sign-extended imm. Jump goes always.
func (a *Asm) JumpImm32(op string, dst uint8, imm uint32, label string) {
	a.jump(Insn{Op: clsJMP32 | jmpOp(op) | srcK, Dst: dst, Imm: int32(imm)}, label)
}
func (a *Asm) JumpImm64(op string, dst uint8, imm int32, label string) {
	a.jump(Insn{Op: clsJMP | jmpOp(op) | srcK, Dst: dst, Imm: imm}, label)
}
func (a *Asm) Jump(label string) { a.jump(Insn{Op: clsJMP | jmpA}, label) }

func jmpOp(op string) uint8 {
	switch op {
	case "==":
		return jmpEq
	case "!=":
		return jmpNe
	case ">":
		return jmpGt
	case ">=":
		return jmpGe
	case "<":
		return jmpLt
	case "<=":
		return jmpLe
	case "&":
		return jmpSet
	}
	panic("bpf: unknown jump " + op)
}

// Call calls kernel helper fn; Exit returns R0.
func (a *Asm) Call(fn int32) { a.emit(Insn{Op: clsJMP | opCall, Imm: fn}) }
func (a *Asm) Exit()         { a.emit(Insn{Op: clsJMP | opExit}) }

// Return sets R0 to v and exits.
func (a *Asm) Return(v int32) {
	a.Mov64(R0, v)
	a.Exit()
}

// Assemble resolves the jumps and returns the instructions, without those no path reaches
// (the verifier refuses a program with dead code, which a rule matching everything leaves).
func (a *Asm) Assemble() ([]Insn, error) {
	target := map[int]int{}
	for i, l := range a.fixups {
		t, ok := a.labels[l]
		if !ok {
			return nil, fmt.Errorf("bpf: jump to undefined label %q", l)
		}
		target[i] = t
	}
	n := len(a.insns)
	reached := make([]bool, n+1)
	todo := []int{0}
	for len(todo) > 0 {
		i := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if i >= n || reached[i] {
			continue
		}
		reached[i] = true
		in := a.insns[i]
		switch {
		case in.Op == clsJMP|opExit:
		case in.Op == clsLD|modeIMM|sizeDW:
			reached[i+1] = true
			todo = append(todo, i+2)
		case in.Op == clsJMP|jmpA:
			todo = append(todo, target[i])
		default:
			if t, ok := target[i]; ok {
				todo = append(todo, t)
			}
			todo = append(todo, i+1)
		}
	}
	at := make([]int, n+1) // new index of each old one
	var out []Insn
	for i := 0; i <= n; i++ {
		at[i] = len(out)
		if i < n && reached[i] {
			out = append(out, a.insns[i])
		}
	}
	for i, t := range target {
		if !reached[i] {
			continue
		}
		d := at[t] - at[i] - 1
		if d < -32768 || d > 32767 {
			return nil, fmt.Errorf("bpf: jump too far (%d instructions)", d)
		}
		out[at[i]].Off = int16(d)
	}
	return out, nil
}

// encode is the kernel's layout of the instructions: 8 bytes each, the registers in one
// byte as C bit-fields lay them out (dst in the low nibble on a little-endian machine, in
// the high one on a big-endian one).
func encode(insns []Insn) []byte {
	bigEndian := binary.NativeEndian.Uint16([]byte{0, 1}) == 1
	b := make([]byte, 0, 8*len(insns))
	for _, in := range insns {
		regs := in.Dst&0xf | in.Src<<4
		if bigEndian {
			regs = in.Dst<<4 | in.Src&0xf
		}
		b = append(b, in.Op, regs)
		b = binary.NativeEndian.AppendUint16(b, uint16(in.Off))
		b = binary.NativeEndian.AppendUint32(b, uint32(in.Imm))
	}
	return b
}
