package sandbox

import (
	"encoding/binary"
	"fmt"
)

// A tiny classic-BPF assembler for seccomp filters: labels resolved at the end; every
// conditional jump goes to the next instruction or skips one (a "ja" to a label), so that
// no 8-bit offset can overflow.

// Seccomp return values.
const (
	retKillProcess = 0x80000000
	retErrno       = 0x00050000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000
)

// Action is what a seccomp filter returns for a call.
type Action uint32

// ActionErrno fails the call with errno e, or kills the process for ErrnoKill.
func ActionErrno(e int) Action {
	if e == ErrnoKill {
		return retKillProcess
	}
	return Action(retErrno | uint32(e)&0xffff)
}

const (
	ActAllow Action = retAllow
	ActLog   Action = retLog
	ActKill  Action = retKillProcess
)

// BPF opcodes (linux/filter.h).
const (
	bpfLdAbsW = 0x20 // BPF_LD|BPF_W|BPF_ABS
	bpfJa     = 0x05 // BPF_JMP|BPF_JA
	bpfJeqK   = 0x15 // BPF_JMP|BPF_JEQ|BPF_K
	bpfJgtK   = 0x25
	bpfJgeK   = 0x35
	bpfJsetK  = 0x45
	bpfAndK   = 0x54 // BPF_ALU|BPF_AND|BPF_K
	bpfRetK   = 0x06
)

// seccomp_data offsets.
const (
	offNr   = 0
	offArch = 4
)

func offArgLo(i int) uint32 { return 16 + 8*uint32(i) }
func offArgHi(i int) uint32 { return 20 + 8*uint32(i) }

type insn struct {
	code   uint16
	jt, jf uint8
	k      uint32
	label  int // for ja: the label to jump to (k is computed)
}

type asm struct {
	prog   []insn
	labels []int // label -> instruction index, -1 until placed
}

func (a *asm) newLabel() int {
	a.labels = append(a.labels, -1)
	return len(a.labels) - 1
}

func (a *asm) place(l int) { a.labels[l] = len(a.prog) }

func (a *asm) emit(code uint16, jt, jf uint8, k uint32) {
	a.prog = append(a.prog, insn{code: code, jt: jt, jf: jf, k: k, label: -1})
}

func (a *asm) load(off uint32) { a.emit(bpfLdAbsW, 0, 0, off) }
func (a *asm) ret(act Action)  { a.emit(bpfRetK, 0, 0, uint32(act)) }
func (a *asm) jump(label int)  { a.prog = append(a.prog, insn{code: bpfJa, label: label}) }
func (a *asm) and(mask uint32) { a.emit(bpfAndK, 0, 0, mask) }

// unless goes on when the condition (code k) holds, and jumps to label when it does not.
func (a *asm) unless(code uint16, k uint32, label int) {
	a.emit(code, 1, 0, k)
	a.jump(label)
}

// when jumps to label when the condition holds, and goes on when it does not.
func (a *asm) when(code uint16, k uint32, label int) {
	a.emit(code, 0, 1, k)
	a.jump(label)
}

// assemble resolves the labels and encodes struct sock_filter[] (8 bytes each).
func (a *asm) assemble() ([]byte, error) {
	if len(a.prog) > 4096 {
		return nil, fmt.Errorf("seccomp filter of %d instructions (limit 4096)", len(a.prog))
	}
	out := make([]byte, 8*len(a.prog))
	for i, in := range a.prog {
		if in.code == bpfJa {
			t := a.labels[in.label]
			if t < 0 {
				return nil, fmt.Errorf("seccomp filter: label %d not placed", in.label)
			}
			in.k = uint32(t - i - 1)
		}
		binary.LittleEndian.PutUint16(out[8*i:], in.code)
		out[8*i+2] = in.jt
		out[8*i+3] = in.jf
		binary.LittleEndian.PutUint32(out[8*i+4:], in.k)
	}
	return out, nil
}

// Cmp is a comparison of one system call argument, as libseccomp's (64 bits wide on 64-bit
// architectures, the low 32 bits on i386).
type Cmp struct {
	Arg  int
	Op   CmpOp
	Val  uint64
	Mask uint64 // CmpMaskedEq: (arg & Mask) == Val
}

type CmpOp int

const (
	CmpEq CmpOp = iota
	CmpNe
	CmpLt
	CmpGt
	CmpMaskedEq
)

// Rule is one rule: the system call (by name), the argument comparisons that must all hold,
// and the action.
type Rule struct {
	Name   string
	Cmps   []Cmp
	Action Action
	Archs  []Arch // nil: every architecture of the filter
}

// Filter is one seccomp filter, as systemd loads one for each of its features: rules and
// the action for the calls no rule matches, on the architectures Archs (the calls of other
// architectures are allowed by this filter, as systemd's filters allow them: each of its
// filters is for one architecture).
type Filter struct {
	Name    string // what it enforces, for errors: "SystemCallFilter=", ...
	Default Action
	Rules   []Rule
	Archs   []Arch
	// OnlyArchs, when not nil, makes the filter SystemCallArchitectures='s: the calls of
	// these architectures are allowed, all others kill the thread; Rules are not used.
	OnlyArchs []Arch
}

const retKillThread = 0

// archProgram is the program of a filter with OnlyArchs.
func (f *Filter) archProgram() ([]byte, error) {
	var allowed [numArchs]bool
	for _, a := range f.OnlyArchs {
		allowed[a] = true
	}
	a := &asm{}
	allow, kill := a.newLabel(), a.newLabel()
	a.load(offArch)
	if allowed[ArchX86] {
		a.when(bpfJeqK, auditArchI386, allow)
	}
	if allowed[ArchX8664] || allowed[ArchX32] {
		a.unless(bpfJeqK, auditArchX8664, kill)
		a.load(offNr)
		switch {
		case allowed[ArchX8664] && allowed[ArchX32]:
			a.jump(allow)
		case allowed[ArchX8664]:
			a.when(bpfJgeK, x32SyscallBit, kill)
			a.jump(allow)
		default:
			a.when(bpfJgeK, x32SyscallBit, allow)
			a.jump(kill)
		}
	}
	a.place(kill)
	a.ret(retKillThread)
	a.place(allow)
	a.ret(ActAllow)
	return a.assemble()
}

// Program compiles f to BPF.
func (f *Filter) Program() ([]byte, error) {
	if f.OnlyArchs != nil {
		return f.archProgram()
	}
	a := &asm{}
	allow := a.newLabel()
	sections := make([]int, numArchs)
	for i := range sections {
		sections[i] = -1
	}
	for _, ar := range f.Archs {
		sections[ar] = a.newLabel()
	}
	a.load(offArch)
	if l := sections[ArchX8664]; l >= 0 || sections[ArchX32] >= 0 {
		other := a.newLabel()
		a.unless(bpfJeqK, auditArchX8664, other)
		a.load(offNr)
		if sections[ArchX32] >= 0 {
			a.when(bpfJgeK, x32SyscallBit, sections[ArchX32])
		} else {
			a.when(bpfJgeK, x32SyscallBit, allow)
		}
		if l >= 0 {
			a.jump(l)
		} else {
			a.ret(ActAllow)
		}
		a.place(other)
	}
	if l := sections[ArchX86]; l >= 0 {
		a.when(bpfJeqK, auditArchI386, l)
	}
	a.ret(ActAllow) // an architecture this filter is not for
	for _, ar := range f.Archs {
		a.place(sections[ar])
		f.section(a, ar)
	}
	a.place(allow)
	a.ret(ActAllow)
	return a.assemble()
}

// section emits the rules for one architecture, then the default action.
func (f *Filter) section(a *asm, ar Arch) {
	wide := ar != ArchX86
	for _, r := range f.Rules {
		nr, ok := SyscallNumber(ar, r.Name)
		if !ok || !forArch(r.Archs, ar) {
			continue
		}
		if r.Action == f.Default {
			continue
		}
		next := a.newLabel()
		a.load(offNr)
		a.unless(bpfJeqK, nr, next)
		for _, c := range r.Cmps {
			cmpCode(a, c, wide, next)
		}
		a.ret(r.Action)
		a.place(next)
	}
	a.ret(f.Default)
}

// cmpCode goes on when c holds and jumps to fail when it does not.
func cmpCode(a *asm, c Cmp, wide bool, fail int) {
	lo, hi := uint32(c.Val), uint32(c.Val>>32)
	switch c.Op {
	case CmpEq:
		if wide {
			a.load(offArgHi(c.Arg))
			a.unless(bpfJeqK, hi, fail)
		}
		a.load(offArgLo(c.Arg))
		a.unless(bpfJeqK, lo, fail)
	case CmpNe:
		ok := a.newLabel()
		if wide {
			a.load(offArgHi(c.Arg))
			a.unless(bpfJeqK, hi, ok) // a different high word: not equal
		}
		a.load(offArgLo(c.Arg))
		a.when(bpfJeqK, lo, fail)
		a.place(ok)
	case CmpMaskedEq:
		mlo, mhi := uint32(c.Mask), uint32(c.Mask>>32)
		if wide {
			a.load(offArgHi(c.Arg))
			a.and(mhi)
			a.unless(bpfJeqK, hi&mhi, fail)
		}
		a.load(offArgLo(c.Arg))
		a.and(mlo)
		a.unless(bpfJeqK, lo&mlo, fail)
	case CmpGt:
		ok := a.newLabel()
		if wide {
			a.load(offArgHi(c.Arg))
			a.when(bpfJgtK, hi, ok)
			a.unless(bpfJeqK, hi, fail)
		}
		a.load(offArgLo(c.Arg))
		a.unless(bpfJgtK, lo, fail)
		a.place(ok)
	case CmpLt:
		ok := a.newLabel()
		if wide {
			a.load(offArgHi(c.Arg))
			a.when(bpfJgtK, hi, fail)
			a.unless(bpfJeqK, hi, ok) // high word below: less
		}
		a.load(offArgLo(c.Arg))
		a.when(bpfJgeK, lo, fail)
		a.place(ok)
	}
}

func forArch(archs []Arch, a Arch) bool {
	if archs == nil {
		return true
	}
	for _, x := range archs {
		if x == a {
			return true
		}
	}
	return false
}
