package bpf

import "strconv"

// The device filter of DeviceAllow=/DevicePolicy= (cgroup_device, run at each open and
// mknod of a device node): an access is let through when a rule allows every kind of access
// asked for (read, write, mknod) on the device, else it fails with EPERM.

// Device access bits and types (linux/bpf.h's BPF_DEVCG_*).
const (
	DevMknod = 1
	DevRead  = 2
	DevWrite = 4

	DevBlock = 1
	DevChar  = 2
)

// DeviceRule allows Access (a set of Dev* access bits) to devices of Type (DevBlock or
// DevChar) with Major and, unless AnyMinor, Minor.
type DeviceRule struct {
	Type         int
	Major, Minor uint32
	AnyMinor     bool
	Access       int
}

// DeviceProgram assembles the filter that allows what the rules allow and nothing else.
func DeviceProgram(rules []DeviceRule) ([]Insn, error) {
	var a Asm
	// bpf_cgroup_dev_ctx: access_type (access << 16 | type), major, minor.
	a.LoadW(R2, R1, 0)
	a.Mov64Reg(R3, R2)
	a.And32(R3, 0xffff) // type
	a.Rsh32(R2, 16)     // access
	a.LoadW(R4, R1, 4)  // major
	a.LoadW(R5, R1, 8)  // minor
	for i, r := range rules {
		next := "next-" + strconv.Itoa(i)
		a.JumpImm32("!=", R3, uint32(r.Type), next)
		a.JumpImm32("!=", R4, r.Major, next)
		if !r.AnyMinor {
			a.JumpImm32("!=", R5, r.Minor, next)
		}
		if deny := ^uint32(r.Access) & (DevMknod | DevRead | DevWrite); deny != 0 {
			a.JumpImm32("&", R2, deny, next) // asks for more than the rule gives
		}
		a.Return(1)
		a.Label(next)
	}
	a.Return(0)
	return a.Assemble()
}
