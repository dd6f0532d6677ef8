package spawn

import (
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

// The sandboxed path. A Config with Sandbox set cannot run on the fast paths: the
// privilege, system call and namespace settings of internal/sandbox need Go code between
// fork and exec. Such a child is flint re-executed as `flint __sandbox FD` (SandboxMain): it
// runs the same program as the Go shim, in which compile has placed three opSandbox
// pseudo-ops, at the points where systemd's exec_child does that work:
//
//	SandboxStageNamespace  after the limits, before the umask and the credentials:
//	                       personality, namespaces and mounts, keyring, bounding set,
//	                       ambient capabilities into the inheritable set, keep-caps
//	SandboxStageUser       right after setuid: the ambient capabilities raised again
//	SandboxStageFinal      right before execve: securebits, no_new_privs, seccomp
//
// The spec (Config.Sandbox, opaque here) follows the program on the control socket, as a
// 64-bit little-endian length and the bytes. The hook reports a failing step as systemd's
// exit status and errno; the child exits with that status and the manager gets an ExecError,
// as for any other step. The service is exec'd by the same process: LISTEN_PID and the
// main pid are its own.

// SandboxVerb is argv[1] of the sandboxed spawn helper.
const SandboxVerb = "__sandbox"

// Sandbox stages, the argument of the hook.
const (
	SandboxStageNamespace = 1
	SandboxStageUser      = 2
	SandboxStageFinal     = 3
)

// SandboxHook applies stage of the spec; it runs on the child's only locked thread, which
// execs the service. A failure returns the exit status, the failing step's name (one of
// SandboxSteps) and the errno.
type SandboxHook func(spec []byte, stage int) (status int, step string, err syscall.Errno)

// SandboxSteps are the step names a SandboxHook may report (ExecError.Step).
var SandboxSteps = []string{"personality", "namespace", "keyctl", "capabilities", "securebits", "no_new_privs", "seccomp", "selinux", "apparmor", "smack", "sandbox"}

const stepSandboxBase = 64 // step ids of SandboxSteps start here

func sandboxStepID(name string) uint64 {
	for i, s := range SandboxSteps {
		if s == name {
			return uint64(stepSandboxBase + i)
		}
	}
	return stepSandboxBase + uint64(len(SandboxSteps)-1)
}

func stepName(step uint64) string {
	if step >= stepSandboxBase && step < stepSandboxBase+uint64(len(SandboxSteps)) {
		return SandboxSteps[step-stepSandboxBase]
	}
	if step < uint64(len(stepNames)) {
		return stepNames[step]
	}
	return ""
}

// sandboxOps adds the pseudo-op of stage when c is sandboxed.
func (p *program) sandbox(c *Config, stage int) {
	if c.Sandbox != nil {
		p.add(stepFDs, StatusException, opSandbox, 0, stage)
	}
}

// SandboxMain is the sandboxed spawn helper (cmd/flint calls it with the arguments after
// SandboxVerb and internal/sandbox's hook). It returns only on failure, with the exit status.
func SandboxMain(args []string, hook SandboxHook) int {
	runtime.LockOSThread()
	if len(args) != 1 {
		return StatusException
	}
	ctl, err := strconv.Atoi(args[0])
	if err != nil || ctl < 3 {
		return StatusException
	}
	block, got, ok := readProgramN(ctl)
	if !ok {
		return StatusException
	}
	spec, ok := readSpec(ctl, block, got)
	if !ok {
		return StatusException
	}
	return runProgramHook(ctl, block, func(stage uint64) (int, uint64, syscall.Errno) {
		status, step, errno := hook(spec, int(stage))
		return status, sandboxStepID(step), errno
	})
}

// readSpec reads the spec after the program: what readProgram read past the block's end,
// then the rest.
func readSpec(ctl int, w []uint64, got int) ([]byte, bool) {
	all := unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), len(w)*8)
	total := int(w[0])
	extra := append([]byte(nil), all[total:got]...)
	for len(extra) < 8 {
		var b [8]byte
		n, err := syscall.Read(ctl, b[:8-len(extra)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return nil, false
		}
		extra = append(extra, b[:n]...)
	}
	size := int(le64(extra))
	spec := make([]byte, 0, size)
	spec = append(spec, extra[8:]...)
	for len(spec) < size {
		n, err := syscall.Read(ctl, spec[len(spec):size])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return nil, false
		}
		spec = spec[:len(spec)+n]
	}
	return spec[:size], true
}
