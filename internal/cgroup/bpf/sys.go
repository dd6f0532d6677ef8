package bpf

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The bpf(2) commands flint uses, with the kernel's attribute layouts (union bpf_attr).

// sys is one bpf(2) call. The verifier gives up with EAGAIN when a signal is pending, and
// the Go runtime signals its threads (SIGURG, to preempt goroutines): a load is tried again
// then, as often as it takes within reason.
func sys(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	for try := 0; ; try++ {
		r, _, e := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
		if (e == unix.EAGAIN || e == unix.EINTR) && try < 100 {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(r), nil
	}
}

func ptr[T any](p *T) uint64 { return uint64(uintptr(unsafe.Pointer(p))) }

// Map is a BPF map, owned by whoever holds it (Close releases it; a program that uses it
// keeps its own reference).
type Map struct {
	fd        int
	keySize   int
	valueSize int
}

// FD is the map's file descriptor.
func (m *Map) FD() int { return m.fd }

// NewArray makes an array map of n values of size bytes, indexed by a uint32.
func NewArray(size, n int) (*Map, error) {
	attr := struct {
		mapType, keySize, valueSize, maxEntries, flags uint32
	}{unix.BPF_MAP_TYPE_ARRAY, 4, uint32(size), uint32(n), 0}
	fd, err := sys(unix.BPF_MAP_CREATE, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return nil, fmt.Errorf("bpf map create: %w", err)
	}
	return &Map{fd: fd, keySize: 4, valueSize: size}, nil
}

func (m *Map) elem(cmd int, key, value []byte) error {
	if len(key) != m.keySize || len(value) != m.valueSize {
		return fmt.Errorf("bpf map: key or value of the wrong size")
	}
	attr := struct {
		fd, _      uint32
		key, value uint64
		flags      uint64
	}{fd: uint32(m.fd), key: ptr(&key[0]), value: ptr(&value[0])}
	_, err := sys(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	return err
}

// Lookup reads the value at key into value; Update writes it.
func (m *Map) Lookup(key, value []byte) error { return m.elem(unix.BPF_MAP_LOOKUP_ELEM, key, value) }
func (m *Map) Update(key, value []byte) error { return m.elem(unix.BPF_MAP_UPDATE_ELEM, key, value) }

// Close releases the map.
func (m *Map) Close() error {
	if m == nil || m.fd < 0 {
		return nil
	}
	err := unix.Close(m.fd)
	m.fd = -1
	return err
}

// Program types and the attach points flint uses.
const (
	TypeCgroupSKB      = unix.BPF_PROG_TYPE_CGROUP_SKB
	TypeCgroupDevice   = unix.BPF_PROG_TYPE_CGROUP_DEVICE
	TypeCgroupSockAddr = unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR

	AttachIngress = unix.BPF_CGROUP_INET_INGRESS
	AttachEgress  = unix.BPF_CGROUP_INET_EGRESS
	AttachDevice  = unix.BPF_CGROUP_DEVICE
	AttachBind4   = unix.BPF_CGROUP_INET4_BIND
	AttachBind6   = unix.BPF_CGROUP_INET6_BIND
)

// Program is a loaded program with the attach point it was made for.
type Program struct {
	fd     int
	Type   int
	Attach int
}

// FD is the program's file descriptor.
func (p *Program) FD() int { return p.fd }

// Load hands insns to the kernel's verifier as a program of type typ for attach point at.
// A refusal carries the verifier's log.
func Load(typ, at int, insns []Insn) (*Program, error) {
	code := encode(insns)
	license := []byte("GPL\x00") // the helpers used are not GPL-only, but nothing is lost
	log := make([]byte, 64<<10)
	attr := struct {
		progType, insnCnt  uint32
		insns, license     uint64
		logLevel, logSize  uint32
		logBuf             uint64
		kernVersion, flags uint32
		name               [16]byte
		ifindex            uint32
		expectedAttachType uint32
	}{progType: uint32(typ), insnCnt: uint32(len(insns)), insns: ptr(&code[0]), license: ptr(&license[0]),
		expectedAttachType: uint32(at)}
	copy(attr.name[:], "flint")
	fd, err := sys(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EINVAL) {
		// Again with the verifier's log, to say why.
		attr.logLevel, attr.logSize, attr.logBuf = 1, uint32(len(log)), ptr(&log[0])
		fd, err = sys(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	}
	runtime.KeepAlive(code)
	runtime.KeepAlive(license)
	runtime.KeepAlive(log)
	if err != nil {
		if n := bytes.IndexByte(log, 0); n > 0 {
			return nil, fmt.Errorf("bpf program load: %w: %s", err, bytes.TrimSpace(log[:n]))
		}
		return nil, fmt.Errorf("bpf program load: %w", err)
	}
	return &Program{fd: fd, Type: typ, Attach: at}, nil
}

type attachAttr struct {
	target, prog, attachType, flags, replace uint32
}

// AttachTo attaches the program to the cgroup2 directory open as cgroupFD, alongside the
// programs already there and those of the cgroups above it (BPF_F_ALLOW_MULTI: a packet,
// bind or device access must pass them all).
func (p *Program) AttachTo(cgroupFD int) error {
	attr := attachAttr{target: uint32(cgroupFD), prog: uint32(p.fd), attachType: uint32(p.Attach), flags: unix.BPF_F_ALLOW_MULTI}
	if _, err := sys(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		return fmt.Errorf("bpf program attach: %w", err)
	}
	return nil
}

// DetachFrom takes the program off the cgroup open as cgroupFD.
func (p *Program) DetachFrom(cgroupFD int) error {
	attr := attachAttr{target: uint32(cgroupFD), prog: uint32(p.fd), attachType: uint32(p.Attach)}
	if _, err := sys(unix.BPF_PROG_DETACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		return fmt.Errorf("bpf program detach: %w", err)
	}
	return nil
}

// Close releases the program (an attached one stays attached until its cgroup goes).
func (p *Program) Close() error {
	if p == nil || p.fd < 0 {
		return nil
	}
	err := unix.Close(p.fd)
	p.fd = -1
	return err
}

// TestRun runs a packet filter on data (a packet from its network header on, as a cgroup
// hook sees it) and returns the program's verdict.
func (p *Program) TestRun(data []byte) (uint32, error) {
	attr := struct {
		prog, retval, sizeIn, sizeOut uint32
		dataIn, dataOut               uint64
		repeat, duration              uint32
	}{prog: uint32(p.fd), sizeIn: uint32(len(data)), dataIn: ptr(&data[0]), repeat: 1}
	_, err := sys(unix.BPF_PROG_TEST_RUN, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(data)
	if err != nil {
		return 0, fmt.Errorf("bpf test run: %w", err)
	}
	return attr.retval, nil
}
