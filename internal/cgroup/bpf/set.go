package bpf

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Spec is what one cgroup's programs enforce; a part left zero adds no program.
type Spec struct {
	IP                  IPFilter
	IPAccounting        bool
	BindAllow, BindDeny []BindRule
	// Devices: when DeviceFilter, only the accesses Devices allows.
	DeviceFilter bool
	Devices      []DeviceRule
	// Ifaces: when IfacesFilter, only the interfaces listed (or, IfacesDeny, those not).
	IfacesFilter bool
	IfacesDeny   bool
	Ifaces       []int
}

// Empty reports whether s asks for no program.
func (s *Spec) Empty() bool {
	return s.IP.Empty() && !s.IPAccounting && len(s.BindDeny) == 0 && !s.DeviceFilter && !s.IfacesFilter
}

// Set is the programs attached to one cgroup2 directory, and the IP accounting counters.
type Set struct {
	cgroupFD        int
	progs           []*Program
	Ingress, Egress *Map // IP accounting, nil without
}

// Attach loads the programs s asks for and attaches them to the cgroup2 directory dir. On
// an error nothing stays attached.
func Attach(dir string, s *Spec) (set *Set, err error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("bpf: open cgroup %s: %w", dir, err)
	}
	set = &Set{cgroupFD: fd}
	defer func() {
		if err != nil {
			set.Close()
			set = nil
		}
	}()
	add := func(typ, at int, insns []Insn, err error) error {
		if err != nil || insns == nil {
			return err
		}
		p, err := Load(typ, at, insns)
		if err != nil {
			return err
		}
		if err := p.AttachTo(fd); err != nil {
			p.Close()
			return err
		}
		set.progs = append(set.progs, p)
		return nil
	}
	if s.IPAccounting {
		if set.Ingress, err = NewCounters(); err != nil {
			return nil, err
		}
		if set.Egress, err = NewCounters(); err != nil {
			return nil, err
		}
	}
	for _, d := range []struct {
		at      int
		ingress bool
		m       *Map
	}{{AttachIngress, true, set.Ingress}, {AttachEgress, false, set.Egress}} {
		insns, err := FirewallProgram(&s.IP, d.ingress, d.m)
		if err := add(TypeCgroupSKB, d.at, insns, err); err != nil {
			return nil, err
		}
		if s.IfacesFilter {
			insns, err := IfaceProgram(s.Ifaces, s.IfacesDeny)
			if err := add(TypeCgroupSKB, d.at, insns, err); err != nil {
				return nil, err
			}
		}
	}
	for _, b := range []struct{ family, at int }{{unix.AF_INET, AttachBind4}, {unix.AF_INET6, AttachBind6}} {
		insns, err := BindProgram(b.family, s.BindAllow, s.BindDeny)
		if err := add(TypeCgroupSockAddr, b.at, insns, err); err != nil {
			return nil, err
		}
	}
	if s.DeviceFilter {
		insns, err := DeviceProgram(s.Devices)
		if err := add(TypeCgroupDevice, AttachDevice, insns, err); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// Close detaches the programs and releases them and the counters.
func (s *Set) Close() error {
	if s == nil {
		return nil
	}
	var errs []error
	for _, p := range s.progs {
		if err := p.DetachFrom(s.cgroupFD); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, err)
		}
		p.Close()
	}
	s.progs = nil
	s.Ingress.Close()
	s.Egress.Close()
	if s.cgroupFD >= 0 {
		unix.Close(s.cgroupFD)
		s.cgroupFD = -1
	}
	return errors.Join(errs...)
}

// IPCounters reads the IP accounting counters (ok false without accounting).
func (s *Set) IPCounters() (inPackets, inBytes, outPackets, outBytes uint64, ok bool) {
	if s == nil || s.Ingress == nil || s.Egress == nil {
		return 0, 0, 0, 0, false
	}
	ip, ib, err1 := ReadCounters(s.Ingress)
	op, ob, err2 := ReadCounters(s.Egress)
	return ip, ib, op, ob, err1 == nil && err2 == nil
}

// ResetIPCounters zeroes the IP accounting counters.
func (s *Set) ResetIPCounters() error {
	if s == nil || s.Ingress == nil {
		return nil
	}
	return errors.Join(ResetCounters(s.Ingress), ResetCounters(s.Egress))
}

// Supported reports whether this kernel and these privileges load and attach cgroup
// programs: a trivial packet filter is loaded (not attached). The error says why not.
func Supported() error {
	var a Asm
	a.Return(1)
	insns, _ := a.Assemble()
	p, err := Load(TypeCgroupSKB, AttachIngress, insns)
	if err != nil {
		return err
	}
	return p.Close()
}
