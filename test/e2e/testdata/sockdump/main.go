// Command sockdump is a test program for `flint activate`: started by an activator, it writes
// what it was given (environment, pid, and for every open fd its kind, socket family, type,
// local address and flags) as JSON to $SOCKDUMP_OUT, then answers one client: on a listening
// stream socket at fd 3 it accepts one connection and writes "ok\n"; on a connected socket at
// fd 3 (Accept mode) it writes "ok\n"; with the connection on stdin/stdout (inetd) it writes
// "ok\n" to stdout.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

type fdInfo struct {
	Kind      string `json:"kind"` // socket, file, pipe, ...
	Family    int    `json:"family,omitempty"`
	Type      int    `json:"type,omitempty"`
	Local     string `json:"local,omitempty"`
	Listening bool   `json:"listening,omitempty"`
	NonBlock  bool   `json:"nonblock"`
	CloExec   bool   `json:"cloexec"`
}

type report struct {
	PID int               `json:"pid"`
	Env map[string]string `json:"env"`
	FDs map[int]fdInfo    `json:"fds"`
}

func addr(sa unix.Sockaddr) string {
	switch s := sa.(type) {
	case *unix.SockaddrInet4:
		return fmt.Sprintf("%v:%d", s.Addr, s.Port)
	case *unix.SockaddrInet6:
		return fmt.Sprintf("[%v]:%d", s.Addr, s.Port)
	case *unix.SockaddrUnix:
		return s.Name
	}
	return fmt.Sprintf("%T", sa)
}

func main() {
	r := report{PID: os.Getpid(), Env: map[string]string{}, FDs: map[int]fdInfo{}}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		r.Env[k] = v
	}
	// Inspect fds before the Go runtime opens its own (it opens none before main here but
	// cgroup files on newer versions; those are recognised by their targets).
	for fd := 0; fd < 64; fd++ {
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			continue
		}
		target, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		if strings.HasPrefix(target, "/sys/fs/cgroup/") || strings.HasPrefix(target, "anon_inode:") {
			continue
		}
		fdf, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		info := fdInfo{Kind: "file", NonBlock: fl&unix.O_NONBLOCK != 0, CloExec: fdf&unix.FD_CLOEXEC != 0}
		if strings.HasPrefix(target, "socket:") {
			info.Kind = "socket"
			info.Family, _ = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
			info.Type, _ = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
			acc, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
			info.Listening = acc == 1
			if sa, err := unix.Getsockname(fd); err == nil {
				info.Local = addr(sa)
			}
		} else if strings.HasPrefix(target, "pipe:") {
			info.Kind = "pipe"
		}
		r.FDs[fd] = info
	}
	data, _ := json.Marshal(r)
	out := os.Getenv("SOCKDUMP_OUT")
	if out == "" {
		fmt.Fprintln(os.Stderr, "sockdump: SOCKDUMP_OUT not set")
		os.Exit(2)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", out, r.PID)
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		os.Exit(1)
	}
	os.Rename(tmp, out)
	// A listening socket: serve the one client that triggered us, on whichever fd it came.
	var pfds []unix.PollFd
	for fd, info := range r.FDs {
		if info.Listening {
			pfds = append(pfds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
		}
	}
	if len(pfds) > 0 {
		if n, err := unix.Poll(pfds, 10000); err == nil && n > 0 {
			for _, p := range pfds {
				if p.Revents&unix.POLLIN != 0 {
					if nfd, _, err := unix.Accept(int(p.Fd)); err == nil {
						unix.Write(nfd, []byte("ok\n"))
						unix.Close(nfd)
					}
					return
				}
			}
		}
		return
	}
	if fd3, ok := r.FDs[3]; ok && fd3.Kind == "socket" {
		if fd3.Type == unix.SOCK_STREAM || fd3.Type == unix.SOCK_SEQPACKET {
			unix.Write(3, []byte("ok\n"))
		}
		return
	}
	if r.FDs[0].Kind == "socket" {
		unix.Write(1, []byte("ok\n"))
	}
}
