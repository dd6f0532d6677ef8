package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/getopt"
)

// flint under the name systemd-notify is systemd-notify(1) of systemd 252: it sends the
// sd_notify(3) message its options and VARIABLE=VALUE arguments make to $NOTIFY_SOCKET, for
// shell scripts run as Type=notify services; --booted tells whether the system runs systemd
// (sd_booted(3): /run/systemd/system/ is a directory).

const notifyUsage = `%s [OPTIONS...] [VARIABLE=VALUE...]

Notify the init system about service status updates.

  -h --help            Show this help
     --version         Show package version
     --ready           Inform the init system about service start-up completion
     --pid[=PID]       Set main PID of daemon
     --uid=USER        Set user to send from
     --status=TEXT     Set status text
     --booted          Check if the system was booted up with systemd
     --no-block        Do not wait until operation finished

See the systemd-notify(1) man page for details.
`

var notifySpec = &getopt.Spec{Options: []getopt.Option{
	{Long: "help", Short: 'h'},
	{Long: "version"},
	{Long: "ready"},
	{Long: "pid", Arg: getopt.OptionalArg},
	{Long: "status", Arg: getopt.RequiredArg},
	{Long: "booted"},
	{Long: "uid", Arg: getopt.RequiredArg},
	{Long: "no-block"},
}}

// notifyFailure is a failure of systemd-notify: its message and the errno it reports.
type notifyFailure struct {
	msg   string
	errno syscall.Errno
}

func runNotify(prog string, args []string, stdout, stderr io.Writer) int {
	code, fail := notify(prog, args, stdout, stderr)
	if fail != nil {
		if fail.msg != "" {
			fmt.Fprintln(stderr, fail.msg)
		}
		// As every systemd tool that fails, it tells the manager why (sd_notifyf "ERRNO=").
		if path := os.Getenv("NOTIFY_SOCKET"); path != "" {
			_ = sendNotify(path, []byte("ERRNO="+strconv.Itoa(int(fail.errno))), 0, -1, -1, nil)
		}
		return 1
	}
	return code
}

func notify(prog string, args []string, stdout, stderr io.Writer) (int, *notifyFailure) {
	var ready, booted, noBlock, statusSet bool
	var status string
	pid := 0
	uid, gid := -1, -1
	p := notifySpec.Parse(args)
	for {
		f, ok, err := p.Next()
		if err != nil {
			return 0, &notifyFailure{fmt.Sprintf("%s: %v", prog, err), unix.EINVAL}
		}
		if !ok {
			break
		}
		switch f.Key() {
		case "help":
			fmt.Fprintf(stdout, notifyUsage, filepath.Base(prog))
			return 0, nil
		case "version":
			fmt.Fprintln(stdout, versionString)
			return 0, nil
		case "ready":
			ready = true
		case "pid":
			switch f.Value {
			case "", "auto":
				pid = os.Getppid()
				if pid <= 1 || pid == managerPID() {
					pid = os.Getpid()
				}
			case "parent":
				pid = os.Getppid()
			case "self":
				pid = os.Getpid()
			default:
				n, err := strconv.Atoi(f.Value)
				if err != nil || n <= 0 {
					return 0, &notifyFailure{fmt.Sprintf("Failed to parse PID %s.", f.Value), unix.EINVAL}
				}
				pid = n
			}
		case "status":
			status, statusSet = f.Value, true
		case "booted":
			booted = true
		case "uid":
			u, err := lookupUser(f.Value)
			if err != nil {
				return 0, &notifyFailure{fmt.Sprintf("Can't resolve user %s: %s", f.Value, errText(unix.EINVAL)), unix.EINVAL}
			}
			uid, gid = u[0], u[1]
		case "no-block":
			noBlock = true
		}
	}
	vars := p.Operands()
	if len(vars) == 0 && !ready && !statusSet && pid == 0 && !booted {
		fmt.Fprintf(stdout, notifyUsage, filepath.Base(prog))
		return 0, &notifyFailure{errno: unix.EINVAL}
	}
	if booted {
		if fi, err := os.Lstat("/run/systemd/system"); err == nil && fi.IsDir() {
			return 0, nil
		}
		return 1, nil
	}
	var msg []string
	if ready {
		msg = append(msg, "READY=1")
	}
	if statusSet {
		msg = append(msg, "STATUS="+status)
	}
	if pid > 0 {
		msg = append(msg, "MAINPID="+strconv.Itoa(pid))
	}
	msg = envMerge(msg, vars)
	if len(msg) == 0 {
		return 0, nil
	}
	// Send as the user asked for: the real ids go into the credentials; the effective ones
	// stay, for the privilege to name another pid.
	if gid >= 0 {
		if err := syscall.Setregid(gid, -1); err != nil {
			return 0, &notifyFailure{"Failed to change GID: " + errText(err), errnoOf(err)}
		}
	}
	if uid >= 0 {
		if err := syscall.Setreuid(uid, -1); err != nil {
			return 0, &notifyFailure{"Failed to change UID: " + errText(err), errnoOf(err)}
		}
	}
	source := pid
	if source == 0 {
		// As if the shell script that runs systemd-notify had sent it.
		source = os.Getppid()
		if source <= 1 || source == managerPID() {
			source = 0
		}
	}
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return 0, &notifyFailure{"No status data could be sent: $NOTIFY_SOCKET was not set", unix.EOPNOTSUPP}
	}
	if err := sendNotify(path, []byte(strings.Join(msg, "\n")), source, syscall.Getuid(), syscall.Getgid(), nil); err != nil {
		return 0, &notifyFailure{"Failed to notify init system: " + errText(err), errnoOf(err)}
	}
	if !noBlock {
		if err := notifyBarrier(path, 5*time.Second); err != nil {
			return 0, &notifyFailure{"Failed to invoke barrier: " + errText(err), errnoOf(err)}
		}
	}
	return 0, nil
}

// envMerge appends the VARIABLE=VALUE words to msg, a later one replacing an earlier one of
// the same name where that one stood (systemd's strv_env_merge).
func envMerge(msg, vars []string) []string {
	for _, v := range vars {
		name, _, _ := strings.Cut(v, "=")
		replaced := false
		for i, m := range msg {
			if n, _, _ := strings.Cut(m, "="); n == name {
				msg[i], replaced = v, true
				break
			}
		}
		if !replaced {
			msg = append(msg, v)
		}
	}
	return msg
}

// managerPID is $MANAGERPID, set for the services of a user manager.
func managerPID() int {
	n, _ := strconv.Atoi(os.Getenv("MANAGERPID"))
	return n
}

// lookupUser is systemd's get_user_creds, then a numeric uid for a user that does not exist.
func lookupUser(name string) ([2]int, error) {
	if u, err := user.Lookup(name); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return [2]int{uid, gid}, nil
	}
	if u, err := user.LookupId(name); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return [2]int{uid, gid}, nil
	}
	n, err := strconv.ParseUint(name, 10, 32)
	if err != nil || n == 0xffffffff {
		return [2]int{}, unix.EINVAL
	}
	return [2]int{int(n), -1}, nil
}

// sendNotify sends one datagram to the notify socket (a path, or @name for an abstract
// one), with credentials naming pid (0: none given, the kernel's are this process's) and
// with fds; when naming another pid is not allowed, it sends without, as sd_pid_notify.
func sendNotify(path string, msg []byte, pid, uid, gid int, fds []int) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	name := path
	if strings.HasPrefix(name, "@") {
		name = "\x00" + name[1:]
	} else if !strings.HasPrefix(name, "/") {
		return unix.EAFNOSUPPORT
	}
	to := &unix.SockaddrUnix{Name: name}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	withCred := oob
	if pid != 0 && pid != os.Getpid() || uid != os.Geteuid() && uid >= 0 || gid != os.Getegid() && gid >= 0 {
		withCred = append(unix.UnixCredentials(&unix.Ucred{Pid: int32(pidOr(pid)), Uid: uint32(uid), Gid: uint32(gid)}), oob...)
	}
	err = unix.Sendmsg(fd, msg, withCred, to, unix.MSG_NOSIGNAL)
	if err != nil && len(withCred) != len(oob) && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.ESRCH)) {
		err = unix.Sendmsg(fd, msg, oob, to, unix.MSG_NOSIGNAL)
	}
	return err
}

func pidOr(pid int) int {
	if pid == 0 {
		return os.Getpid()
	}
	return pid
}

// notifyBarrier is sd_notify_barrier: BARRIER=1 with the write end of a pipe, then wait
// until the manager has closed it, which it does once it has read every message before.
func notifyBarrier(path string, timeout time.Duration) error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	defer unix.Close(p[0])
	err := sendNotify(path, []byte("BARRIER=1"), 0, -1, -1, []int{p[1]})
	unix.Close(p[1])
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return unix.ETIMEDOUT
		}
		fds := []unix.PollFd{{Fd: int32(p[0])}}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n > 0 && fds[0].Revents&unix.POLLHUP != 0 {
			return nil
		}
	}
}

// errText is strerror's text of an error, as systemd's %m prints it.
func errText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		s := en.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

func errnoOf(err error) syscall.Errno {
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	return unix.EIO
}
