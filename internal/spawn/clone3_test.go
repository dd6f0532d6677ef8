package spawn

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestClone3Refused: where a seccomp filter answers clone3 with ENOSYS — Docker's and
// Podman's default profiles do — the first Start finds out, switches to clone for good and
// still starts the service, with every signal disposition reset (the program then resets all
// of them, as the kernel cleared none). Run in a child process: the filter cannot be removed.
func TestClone3Refused(t *testing.T) {
	if !vforkAvailable {
		t.Skip("no clone path on this architecture")
	}
	out, err := exec.Command(SelfPath, "__clone3_refused").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// clone3RefusedMain is TestClone3Refused's child: it installs the filter (for every thread),
// then spawns twice.
func clone3RefusedMain() int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, format+"\n", a...)
		return 1
	}
	if err := refuseClone3(); err != nil {
		return fail("seccomp filter: %v", err)
	}
	if _, _, e := syscall.RawSyscall(435, 0, 0, 0); e != syscall.ENOSYS {
		return fail("clone3 with the filter: %v, want ENOSYS", e)
	}
	signal.Ignore(syscall.SIGUSR2)
	for i := 0; i < 2; i++ {
		r, w, err := os.Pipe()
		if err != nil {
			return fail("%v", err)
		}
		p, err := Start(&Config{Path: "/bin/grep", Argv: []string{"grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"}, Stdout: w})
		w.Close()
		if err != nil {
			return fail("Start %d: %v", i, err)
		}
		if err := p.ExecResult(); err != nil {
			return fail("exec %d: %v", i, err)
		}
		b := make([]byte, 512)
		n, _ := r.Read(b)
		r.Close()
		var ws syscall.WaitStatus
		syscall.Wait4(p.Pid, &ws, 0, nil)
		got := strings.Join(strings.Fields(string(b[:n])), " ")
		if want := "SigBlk: 0000000000000000 SigIgn: 0000000000000000"; got != want || ws.ExitStatus() != 0 {
			return fail("spawn %d: %q (exit %v), want %q", i, got, ws, want)
		}
		mode.Lock()
		c3 := useClone3
		mode.Unlock()
		if c3 {
			return fail("spawn %d: still using clone3", i)
		}
	}
	return 0
}

// refuseClone3 installs a seccomp filter on every thread: clone3 fails with ENOSYS.
func refuseClone3() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	const retErrno, retAllow = 0x00050000, 0x7fff0000 // SECCOMP_RET_ERRNO, SECCOMP_RET_ALLOW
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: 435},
		{Code: unix.BPF_RET | unix.BPF_K, K: retErrno | uint32(unix.ENOSYS)},
		{Code: unix.BPF_RET | unix.BPF_K, K: retAllow},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	const setModeFilter, filterFlagTSync = 1, 1
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, setModeFilter, filterFlagTSync, uintptr(unsafe.Pointer(&prog))); e != 0 {
		return e
	}
	return nil
}
