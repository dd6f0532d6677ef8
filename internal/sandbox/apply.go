package sandbox

import (
	"encoding/json"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Stages of Apply (the same numbers as internal/spawn's SandboxStage*).
const (
	StageNamespace = 1 // before the credentials change
	StageUser      = 2 // right after setuid
	StageFinal     = 3 // right before execve
)

// StageError is a failing step: the exit status the child exits with (systemd's), the step
// (one of internal/spawn's SandboxSteps) and the errno.
type StageError struct {
	Status int
	Step   string
	Errno  syscall.Errno
}

// FSHook is the seam of the file-system and namespace half (internal/sandbox/fs): called at
// StageNamespace, after the personality and the keyring and before the bounding set, as
// systemd's exec_child sets up the mount namespace before it drops groups and capabilities.
// It gets Spec.FS (the plan the manager compiled with that package) and the uid and gid the
// service will run as (-1: unchanged). The process is still root with every capability, on
// its only locked thread; the hook must not start goroutines that outlive it. nil (no
// library linked): a spec with an FS plan fails with 226/NAMESPACE rather than run the
// service unprotected.
var FSHook func(plan json.RawMessage, uid, gid int) *StageError

var decoded *Spec

// Hook is internal/spawn's SandboxHook: spec is the JSON of a Spec.
func Hook(spec []byte, stage int) (int, string, syscall.Errno) {
	if decoded == nil {
		var s Spec
		if err := json.Unmarshal(spec, &s); err != nil {
			return 255, "sandbox", syscall.EINVAL
		}
		decoded = &s
	}
	if e := Apply(decoded, stage); e != nil {
		return e.Status, e.Step, e.Errno
	}
	return 0, "", 0
}

// Apply does stage of s in the calling thread, which must be locked and the one that execs.
func Apply(s *Spec, stage int) *StageError {
	switch stage {
	case StageNamespace:
		return applyNamespace(s)
	case StageUser:
		if s.Ambient != 0 {
			if e := raiseAmbient(s.Ambient, false); e != nil {
				return e
			}
		}
		return nil
	case StageFinal:
		return applyFinal(s)
	}
	return &StageError{255, "sandbox", syscall.EINVAL}
}

func errnoOf(err error) syscall.Errno {
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EINVAL
}

func applyNamespace(s *Spec) *StageError {
	if s.Personality != nil {
		if _, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, uintptr(*s.Personality), 0, 0); e != 0 {
			return &StageError{StatusPersonality, "personality", e}
		}
	}
	if len(s.FS) > 0 {
		if FSHook == nil {
			return &StageError{StatusNamespace, "namespace", syscall.ENOSYS}
		}
		if e := FSHook(s.FS, s.UID, s.GID); e != nil {
			return e
		}
	}
	if e := applySmack(s); e != nil {
		return e
	}
	if s.BoundingSet != nil {
		if e := dropBounding(*s.BoundingSet); e != nil {
			return e
		}
	}
	if s.Ambient != 0 {
		if e := raiseAmbient(s.Ambient, true); e != nil {
			return e
		}
	}
	// systemd's enforce_user, first step: keep the capabilities through setuid when ambient
	// capabilities or securebits are wanted.
	if (s.Ambient != 0 || s.SecureBits != 0) && s.UID > 0 {
		sb := s.SecureBits | 1<<secureKeepCaps
		if cur, _, _ := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_GET_SECUREBITS, 0, 0); int(cur) != sb {
			if _, _, e := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_SECUREBITS, uintptr(sb), 0); e != 0 {
				return &StageError{217, "securebits", e}
			}
		}
	}
	return nil
}

func applyFinal(s *Spec) *StageError {
	if e := applyExecLabels(s); e != nil {
		return e
	}
	cur, _, _ := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_GET_SECUREBITS, 0, 0)
	if int(cur) != s.SecureBits {
		if err := gainCap(CapSetpcap); err != nil {
			return &StageError{StatusCapabilities, "capabilities", errnoOf(err)}
		}
		if _, _, e := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_SECUREBITS, uintptr(s.SecureBits), 0); e != 0 {
			return &StageError{StatusSecurebits, "securebits", e}
		}
	}
	// no_new_privs: asked for, or implied by seccomp without CAP_SYS_ADMIN (systemd's
	// context_has_no_new_privileges, asked at this point: after the user change).
	if s.NoNewPrivileges || len(s.Filters) > 0 && !haveEffective(CapSysAdmin) {
		if _, _, e := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); e != 0 {
			return &StageError{StatusNoNewPrivileges, "no_new_privs", e}
		}
	}
	if len(s.Filters) > 0 && !seccompAvailable() {
		return nil // as systemd's skip_seccomp_unavailable: a kernel without seccomp runs the service unfiltered
	}
	for _, f := range s.Filters {
		if e := loadFilter(f.BPF); e != 0 {
			return &StageError{f.Status, "seccomp", e}
		}
	}
	return nil
}

// seccompAvailable is systemd's is_seccomp_available: the kernel has seccomp filters.
func seccompAvailable() bool {
	_, _, e := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_GET_SECCOMP, 0, 0)
	if e == syscall.EINVAL {
		return false
	}
	_, _, e = unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, 0)
	return e != syscall.EINVAL
}

// loadFilter installs a seccomp filter on this thread (no TSYNC: the thread that execs).
func loadFilter(prog []byte) syscall.Errno {
	if len(prog) == 0 || len(prog)%8 != 0 {
		return syscall.EINVAL
	}
	fprog := struct {
		len    uint16
		_      [6]byte
		filter uintptr
	}{len: uint16(len(prog) / 8), filter: uintptr(unsafe.Pointer(&prog[0]))}
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog)))
	return e
}

// capabilities (capget/capset, version 3: two 32-bit words per set).
type capData struct{ effective, permitted, inheritable uint32 }

func capGet() ([2]capData, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var d [2]capData
	_, _, e := unix.RawSyscall(unix.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&d[0])), 0)
	if e != 0 {
		return d, e
	}
	return d, nil
}

func capSet(d [2]capData) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	_, _, e := unix.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&d[0])), 0)
	if e != 0 {
		return e
	}
	return nil
}

func haveEffective(c int) bool {
	d, err := capGet()
	return err == nil && d[c/32].effective&(1<<(c%32)) != 0
}

// gainCap raises c into the effective set (systemd's capability_gain_cap_setpcap).
func gainCap(c int) error {
	d, err := capGet()
	if err != nil {
		return err
	}
	if d[c/32].effective&(1<<(c%32)) != 0 {
		return nil
	}
	d[c/32].effective |= 1 << (c % 32)
	return capSet(d)
}

// dropBounding is systemd's capability_bounding_set_drop(keep, false): each capability not
// kept leaves the bounding set (a drop refused for one already gone is fine) and the
// inheritable set.
func dropBounding(keep uint64) *StageError {
	if err := gainCap(CapSetpcap); err != nil {
		return &StageError{StatusCapabilities, "capabilities", errnoOf(err)}
	}
	d, err := capGet()
	if err != nil {
		return &StageError{StatusCapabilities, "capabilities", errnoOf(err)}
	}
	for i := 0; i <= LastCap(); i++ {
		if keep&(1<<i) != 0 {
			continue
		}
		if _, _, e := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(i), 0); e != 0 {
			if r, _, _ := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, uintptr(i), 0); r != 0 {
				return &StageError{StatusCapabilities, "capabilities", e}
			}
		}
		d[i/32].inheritable &^= 1 << (i % 32)
	}
	if err := capSet(d); err != nil {
		return &StageError{StatusCapabilities, "capabilities", errnoOf(err)}
	}
	return nil
}

// raiseAmbient is systemd's capability_ambient_set_apply: the capabilities of set raised in
// the ambient set (first into the inheritable set, when alsoInherit), the others lowered.
func raiseAmbient(set uint64, alsoInherit bool) *StageError {
	if alsoInherit {
		d, err := capGet()
		if err != nil {
			return &StageError{StatusCapabilities, "capabilities", errnoOf(err)}
		}
		for i := 0; i <= LastCap(); i++ {
			if set&(1<<i) != 0 {
				d[i/32].inheritable |= 1 << (i % 32)
			}
		}
		if err := capSet(d); err != nil {
			return &StageError{StatusCapabilities, "capabilities", errnoOf(err)}
		}
	}
	for i := 0; i <= LastCap(); i++ {
		if set&(1<<i) != 0 {
			if _, _, e := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(i), 0, 0, 0); e != 0 {
				return &StageError{StatusCapabilities, "capabilities", e}
			}
			continue
		}
		if r, _, _ := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_IS_SET, uintptr(i), 0, 0, 0); r == 1 {
			if _, _, e := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_LOWER, uintptr(i), 0, 0, 0); e != 0 {
				return &StageError{StatusCapabilities, "capabilities", e}
			}
		}
	}
	return nil
}

const secureKeepCaps = 4 // SECURE_KEEP_CAPS (linux/securebits.h)
