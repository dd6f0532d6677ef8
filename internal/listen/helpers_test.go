package listen

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

// Tests use TCP/UDP ports 20200-20299.

func section(mod func(*unit.SocketSection)) *unit.SocketSection {
	c := unit.DefaultSocketSection()
	if mod != nil {
		mod(c)
	}
	return c
}

func mustOpen(t *testing.T, spec unit.Listen, cfg *unit.SocketSection) *Socket {
	t.Helper()
	s, err := Open(spec, cfg)
	if err != nil {
		t.Fatalf("Open(%+v): %v", spec, err)
	}
	t.Cleanup(func() { s.Close(cfg) })
	checkFdFlags(t, s.Fd(), cfg != nil && cfg.Accept)
	return s
}

// checkFdFlags asserts what every descriptor of this package must be: close-on-exec, and
// non-blocking exactly when nonblock (Open: with Accept=yes).
func checkFdFlags(t *testing.T, fd int, nonblock bool) {
	t.Helper()
	fdf, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fdf&unix.FD_CLOEXEC == 0 {
		t.Errorf("fd %d is not close-on-exec", fd)
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := fl&unix.O_NONBLOCK != 0; got != nonblock {
		t.Errorf("fd %d non-blocking: %v, want %v", fd, got, nonblock)
	}
}

func getInt(t *testing.T, fd, level, opt int) int {
	t.Helper()
	v, err := unix.GetsockoptInt(fd, level, opt)
	if err != nil {
		t.Fatalf("getsockopt(%d, %d): %v", level, opt, err)
	}
	return v
}

func tcp(host string, port int) unit.Listen {
	fam := unit.FamilyInet
	if strings.Contains(host, ":") || host == "" {
		fam = unit.FamilyInet6
	}
	return unit.Listen{Kind: unit.ListenStream, Family: fam, Host: host, Port: port}
}

func udp(host string, port int) unit.Listen {
	l := tcp(host, port)
	l.Kind = unit.ListenDatagram
	return l
}

func unixPath(kind unit.ListenKind, path string) unit.Listen {
	return unit.Listen{Kind: kind, Family: unit.FamilyUnix, Path: path, Raw: path}
}

// ssSendQ returns the Send-Q column of `ss` for a listening socket: its backlog.
func ssSendQ(t *testing.T, args ...string) int {
	t.Helper()
	out, err := exec.Command("ss", append([]string{"-Hl"}, args...)...).Output()
	if err != nil {
		t.Skipf("ss: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) < 4 {
		t.Fatalf("ss %v: unexpected output %q", args, out)
	}
	// Netid column only with -x; with -t the first column is State.
	i := 2
	if f[0] == "u_str" || f[0] == "u_seq" {
		i = 3
	}
	n, err := strconv.Atoi(f[i])
	if err != nil {
		t.Fatalf("ss %v: %q: %v", args, out, err)
	}
	return n
}

// waitReadable polls fd until it is readable or 2 s pass.
func waitReadable(t *testing.T, fd int) {
	t.Helper()
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		n, err := unix.Poll(pfd, 100)
		if err != nil && !errors.Is(err, unix.EINTR) {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatalf("fd %d not readable", fd)
}

func countFds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func dialTCP(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }

// somaxconn reads net.core.somaxconn (4096 when unreadable, the kernel's default).
func somaxconn() int {
	return readProcInt("/proc/sys/net/core/somaxconn", 4096)
}

func readProcInt(path string, def int) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return def
	}
	return n
}
