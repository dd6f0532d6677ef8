// probe reports what a service sees of its privileges and system call sandbox, as JSON: the
// capability sets, no_new_privs and seccomp mode of /proc/self/status, its credentials,
// securebits, personality, session keyring, and for each of a list of system calls the
// result (ok, the errno's name, or the signal that killed the process trying it). Each call
// is tried in a child process of its own (`probe -try NAME`): a filter may kill the caller.
//
//	probe OUT      writes the report to OUT (and stdout when OUT is "-")
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

type report struct {
	Status      map[string]string
	UID, GID    [3]int
	Groups      []int
	Securebits  string
	Personality string
	Keyring     string
	Invocation  string // the session keyring's invocation_id key: permissions, value
	UserNS      string // uid_map, gid_map and setgroups of the user namespace
	Calls       map[string]string
}

// tries are the system calls tried, each harmless whatever its result.
var tries = map[string]func() error{
	"socket-unix":   func() error { return sock(unix.AF_UNIX, unix.SOCK_DGRAM) },
	"socket-inet":   func() error { return sock(unix.AF_INET, unix.SOCK_DGRAM) },
	"socket-inet6":  func() error { return sock(unix.AF_INET6, unix.SOCK_DGRAM) },
	"socket-packet": func() error { return sock(unix.AF_PACKET, unix.SOCK_DGRAM) },
	"socket-netlink": func() error {
		return sock(unix.AF_NETLINK, unix.SOCK_DGRAM)
	},
	"personality-linux32": func() error {
		old, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
		if e != 0 {
			return e
		}
		if _, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, 8 /* PER_LINUX32 */, 0, 0); e != 0 {
			return e
		}
		unix.RawSyscall(unix.SYS_PERSONALITY, old, 0, 0)
		return nil
	},
	"personality-query": func() error { return errno(unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)) },
	"mmap-wx": func() error {
		b, err := unix.Mmap(-1, 0, 4096, unix.PROT_WRITE|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err == nil {
			unix.Munmap(b)
		}
		return err
	},
	"mprotect-x": func() error {
		b, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return err
		}
		defer unix.Munmap(b)
		return unix.Mprotect(b, unix.PROT_READ|unix.PROT_EXEC)
	},
	"sched-fifo": func() error {
		p := [1]int32{1}
		return errno(unix.RawSyscall(unix.SYS_SCHED_SETSCHEDULER, 0, unix.SCHED_FIFO, uintptr(unsafe.Pointer(&p[0]))))
	},
	"sched-batch": func() error {
		p := [1]int32{0}
		return errno(unix.RawSyscall(unix.SYS_SCHED_SETSCHEDULER, 0, unix.SCHED_BATCH, uintptr(unsafe.Pointer(&p[0]))))
	},
	"unshare-uts":  func() error { return unix.Unshare(unix.CLONE_NEWUTS) },
	"unshare-user": func() error { return unix.Unshare(unix.CLONE_NEWUSER) },
	"clone3-bad":   func() error { return errno(unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0)) },
	"setns-bad":    func() error { return errno(unix.RawSyscall(unix.SYS_SETNS, ^uintptr(0), 0, 0)) },
	"fchmod-suid": func() error {
		f, err := os.CreateTemp("/dev/shm", "probe-")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		return unix.Fchmod(int(f.Fd()), 0o4755)
	},
	"adjtimex-read": func() error { var t unix.Timex; _, err := unix.Adjtimex(&t); return err },
	"syslog-size":   func() error { return errno(unix.RawSyscall(unix.SYS_SYSLOG, 10, 0, 0)) },
	"finit-module":  func() error { return errno(unix.RawSyscall(unix.SYS_FINIT_MODULE, ^uintptr(0), 0, 0)) },
	"ioperm-none":   func() error { return errno(unix.RawSyscall(unix.SYS_IOPERM, 0, 0, 0)) },
	"sysctl-bad":    func() error { return errno(unix.RawSyscall(156, 0, 0, 0)) },
	"reboot-bad":    func() error { return errno(unix.RawSyscall6(unix.SYS_REBOOT, 0, 0, 0, 0, 0, 0)) },
	"swapoff-bad":   func() error { return errno(unix.RawSyscall(unix.SYS_SWAPOFF, 0, 0, 0)) },
	"getpid":        func() error { return errno(unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0)) },
	"uname":         func() error { var u unix.Utsname; return unix.Uname(&u) },
	"chown-self":    func() error { return unix.Fchown(0, -1, -1) },
	"setuid-same":   func() error { return errno(unix.RawSyscall(unix.SYS_SETUID, uintptr(unix.Getuid()), 0, 0)) },
	"mount-bad":     func() error { return errno(unix.RawSyscall6(unix.SYS_MOUNT, 0, 0, 0, 0, 0, 0)) },
	"ptrace-bad":    func() error { return errno(unix.RawSyscall6(unix.SYS_PTRACE, ^uintptr(0), 0, 0, 0, 0, 0)) },
	"keyctl-session": func() error {
		return errno(unix.RawSyscall(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, ^uintptr(2)+0, 0))
	},
	"bind-low-port": func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Bind(fd, &unix.SockaddrInet4{Port: 1, Addr: [4]byte{127, 0, 0, 1}})
	},
}

func sock(family, typ int) error {
	fd, err := unix.Socket(family, typ, 0)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

func errno(_, _ uintptr, e syscall.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

func name(err error) string {
	if err == nil {
		return "ok"
	}
	if e, ok := err.(syscall.Errno); ok {
		return unix.ErrnoName(e)
	}
	return err.Error()
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-try" {
		f := tries[os.Args[2]]
		if f == nil {
			os.Exit(2)
		}
		fmt.Print(name(f()))
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: probe OUT")
		os.Exit(2)
	}
	r := report{Status: map[string]string{}, Calls: map[string]string{}}
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(l, ":")
		switch k {
		case "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp":
			r.Status[k] = strings.TrimSpace(v)
		}
	}
	r.UID[0], r.UID[1], r.UID[2] = unix.Getresuid()
	r.GID[0], r.GID[1], r.GID[2] = unix.Getresgid()
	r.Groups, _ = unix.Getgroups()
	sort.Ints(r.Groups)
	sb, err := unix.PrctlRetInt(unix.PR_GET_SECUREBITS, 0, 0, 0, 0)
	r.Securebits = fmt.Sprint(sb, " ", name(err))
	p, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
	r.Personality = fmt.Sprintf("%#x %s", p, name(errno(0, 0, e)))
	r.Keyring = keyring()
	r.Invocation = invocationKey()
	r.UserNS = userNS()
	names := make([]string, 0, len(tries))
	for n := range tries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out, err := exec.Command("/proc/self/exe", "-try", n).Output()
		switch {
		case err == nil:
			r.Calls[n] = string(out)
		default:
			if ee, ok := err.(*exec.ExitError); ok {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					r.Calls[n] = "signal " + unix.SignalName(ws.Signal())
					continue
				}
			}
			r.Calls[n] = "error " + err.Error()
		}
	}
	j, _ := json.MarshalIndent(r, "", "  ")
	j = append(j, '\n')
	if os.Args[1] == "-" {
		os.Stdout.Write(j)
		return
	}
	if err := os.WriteFile(os.Args[1], j, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// keyring describes the session keyring: its type and name, and whether it is owned by the
// process's user (the id itself differs from run to run).
func keyring() string {
	d, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, unix.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		return name(err)
	}
	f := strings.Split(d, ";")
	if len(f) < 5 {
		return d
	}
	return fmt.Sprintf("%s %s uid=%s gid=%s", f[0], f[4], f[1], f[2])
}

// invocationKey describes the "invocation_id" key of the session keyring: its permissions
// and whether it holds $INVOCATION_ID.
func invocationKey() string {
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_SESSION_KEYRING, "user", "invocation_id", 0)
	if err != nil {
		return name(err)
	}
	d, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
	if err != nil {
		return name(err)
	}
	f := strings.Split(d, ";")
	buf := make([]byte, 64)
	n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
	if err != nil {
		return "perm=" + f[len(f)-2] + " " + name(err)
	}
	val := fmt.Sprintf("%x", buf[:n])
	if val == strings.ReplaceAll(os.Getenv("INVOCATION_ID"), "-", "") {
		val = "$INVOCATION_ID"
	}
	return "perm=" + f[len(f)-2] + " " + val
}

// userNS is the id maps and setgroups of the process's user namespace, blanks squeezed.
func userNS() string {
	var out []string
	for _, f := range []string{"uid_map", "gid_map", "setgroups"} {
		b, err := os.ReadFile("/proc/self/" + f)
		if err != nil {
			out = append(out, f+": "+name(err))
			continue
		}
		out = append(out, f+": "+strings.Join(strings.Fields(string(b)), " "))
	}
	return strings.Join(out, "; ")
}
