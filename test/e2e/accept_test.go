package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// greet dials addr (from local, if set) and reads the first line the per-connection service
// writes; the connection stays open for the caller.
func greet(t *testing.T, network, addr, local string) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial(network, addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: read greeting: %v", addr, err)
	}
	c.SetReadDeadline(time.Time{})
	return c, strings.TrimSpace(line)
}

// refused dials addr and reports whether flint closed the connection at once (EOF or reset,
// no data) instead of starting a service for it.
func refused(t *testing.T, addr, local string) bool {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return true // refused by the kernel: also no service
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(make([]byte, 16))
	if n > 0 {
		return false
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("%s: connection neither served nor closed within 10s", addr)
		return false
	}
	return err == io.EOF || strings.Contains(fmt.Sprint(err), "reset")
}

// greeter is an inetd-style template: the connection is stdin and stdout; it says who the
// peer is and holds the connection until the client closes it.
const greeter = "StandardInput=socket\nStandardOutput=socket\nExecStart=/bin/sh -c 'echo $REMOTE_ADDR $REMOTE_PORT; exec cat >/dev/null'"

// TestAcceptInstances checks Accept=yes instance names (TCP and unix), REMOTE_ADDR/PORT,
// NAccepted/NConnections, and that finished instances are collected.
func TestAcceptInstances(t *testing.T) {
	const port = 21100
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"acc.socket":   unitFile("Socket", fmt.Sprintf("ListenStream=127.0.0.1:%d\nAccept=yes", port)),
		"acc@.service": unitFile("Service", greeter),
		"uacc.socket":  unitFile("Socket", "ListenStream="+dir+"/u.sk\nAccept=yes"),
		"uacc@.service": unitFile("Service", "ExecStart=/bin/sh -c 'echo hello; exec cat >/dev/null'\n"+
			"StandardInput=socket\nStandardOutput=socket"),
	})
	wantedBy(t, units, "sockets.target", "acc.socket")
	wantedBy(t, units, "sockets.target", "uacc.socket")
	m := startManager(t, units)
	c := on(t, m)
	c.waitState("acc.socket", "active/listening")
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	var conns []net.Conn
	for n := 0; n < 2; n++ {
		conn, line := greet(t, "tcp", addr, "")
		conns = append(conns, conn)
		lport := conn.LocalAddr().(*net.TCPAddr).Port
		if want := fmt.Sprintf("127.0.0.1 %d", lport); line != want {
			t.Errorf("connection %d: service saw REMOTE_ADDR REMOTE_PORT %q, want %q", n, line, want)
		}
		inst := fmt.Sprintf("acc@%d-127.0.0.1:%d-127.0.0.1:%d.service", n, port, lport)
		c.waitProps(inst, map[string]string{"ActiveState": "active", "SubState": "running"})
		if st, _ := c.flint("status", inst); !strings.Contains(st, "acc.socket") {
			t.Errorf("status of %s does not name its socket:\n%s", inst, st)
		}
	}
	c.waitProps("acc.socket", map[string]string{"NAccepted": "2", "NConnections": "2", "ActiveState": "active"})
	for _, conn := range conns {
		conn.Close()
	}
	c.waitProps("acc.socket", map[string]string{"NAccepted": "2", "NConnections": "0"})
	if out, _ := c.flint("list-units", "--all"); strings.Contains(out, "acc@") {
		t.Errorf("finished instances not collected:\n%s", out)
	}

	// unix: foo@<n>-<peer pid>-<peer uid>.service
	_, line := greet(t, "unix", dir+"/u.sk", "")
	if line != "hello" {
		t.Errorf("unix instance said %q", line)
	}
	inst := fmt.Sprintf("uacc@0-%d-%d.service", os.Getpid(), os.Getuid())
	c.waitProps(inst, map[string]string{"ActiveState": "active"})
}

// TestAcceptLimits: MaxConnections= and MaxConnectionsPerSource= refuse the excess at once.
func TestAcceptLimits(t *testing.T) {
	const port, port2, port3 = 21101, 21102, 21105
	units := writeUnits(t, map[string]string{
		"trig.socket": unitFile("Socket", fmt.Sprintf(
			"ListenStream=127.0.0.1:%d\nAccept=yes\nTriggerLimitIntervalSec=1min\nTriggerLimitBurst=3", port3)),
		"trig@.service": unitFile("Service", greeter),
		"max.socket":    unitFile("Socket", fmt.Sprintf("ListenStream=127.0.0.1:%d\nAccept=yes\nMaxConnections=2", port)),
		"max@.service":  unitFile("Service", greeter),
		"src.socket":    unitFile("Socket", fmt.Sprintf("ListenStream=0.0.0.0:%d\nAccept=yes\nMaxConnectionsPerSource=1", port2)),
		"src@.service":  unitFile("Service", greeter),
	})
	wantedBy(t, units, "sockets.target", "max.socket")
	wantedBy(t, units, "sockets.target", "src.socket")
	wantedBy(t, units, "sockets.target", "trig.socket")
	m := startManager(t, units)

	t.Run("MaxConnections", func(t *testing.T) {
		c := on(t, m)
		c.waitState("max.socket", "active/listening")
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		greet(t, "tcp", addr, "")
		greet(t, "tcp", addr, "")
		for i := 0; i < 3; i++ {
			if !refused(t, addr, "") {
				t.Errorf("connection %d beyond MaxConnections=2 was served", 3+i)
			}
		}
		c.waitProps("max.socket", map[string]string{"NConnections": "2", "NAccepted": "2", "ActiveState": "active"})
	})
	t.Run("MaxConnectionsPerSource", func(t *testing.T) {
		c := on(t, m)
		c.waitState("src.socket", "active/listening")
		addr := fmt.Sprintf("127.0.0.1:%d", port2)
		greet(t, "tcp", addr, "127.0.0.1")
		if !refused(t, addr, "127.0.0.1") {
			t.Error("second connection from 127.0.0.1 was served")
		}
		if _, line := greet(t, "tcp", addr, "127.0.0.2"); !strings.HasPrefix(line, "127.0.0.2 ") {
			t.Errorf("connection from 127.0.0.2: %q", line)
		}
		c.waitProps("src.socket", map[string]string{"NConnections": "2"})
	})
	t.Run("TriggerLimit_counts_connections", func(t *testing.T) {
		// As systemd, every accepted connection is a trigger: the 4th within the interval fails
		// the socket (with the defaults, 200 connections in 2s would).
		c := on(t, m)
		c.waitState("trig.socket", "active/listening")
		addr := fmt.Sprintf("127.0.0.1:%d", port3)
		for i := 0; i < 3; i++ {
			greet(t, "tcp", addr, "")
		}
		refused(t, addr, "")
		c.waitProps("trig.socket", map[string]string{"ActiveState": "failed", "Result": "trigger-limit-hit"})
	})
}

// rssKB is the resident set size of pid in KiB.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestAcceptFlood: 2000 connections above MaxConnections= are all refused at once, then 200
// connections are each served by a short-lived instance; flint's memory stays flat and no
// instance is left behind.
func TestAcceptFlood(t *testing.T) {
	const port, port2 = 21103, 21104
	units := writeUnits(t, map[string]string{
		"flood.socket": unitFile("Socket", fmt.Sprintf(
			"ListenStream=127.0.0.1:%d\nAccept=yes\nMaxConnections=4\nTriggerLimitIntervalSec=0", port)),
		"flood@.service": unitFile("Service", greeter),
		"fast.socket": unitFile("Socket", fmt.Sprintf(
			"ListenStream=127.0.0.1:%d\nAccept=yes\nTriggerLimitIntervalSec=0", port2)),
		"fast@.service": unitFile("Service", "StandardInput=socket\nStandardOutput=socket\nExecStart=/bin/echo served"),
	})
	wantedBy(t, units, "sockets.target", "flood.socket")
	wantedBy(t, units, "sockets.target", "fast.socket")
	m := startManager(t, units)
	c := on(t, m)
	c.waitState("flood.socket", "active/listening")
	c.waitState("fast.socket", "active/listening")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; i < 4; i++ {
		greet(t, "tcp", addr, "")
	}
	before := rssKB(t, m.cmd.Process.Pid)

	parallel := func(n int, fn func() error) int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		failed := 0
		work := make(chan struct{})
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range work {
					if err := fn(); err != nil {
						mu.Lock()
						failed++
						if failed <= 3 {
							t.Log(err)
						}
						mu.Unlock()
					}
				}
			}()
		}
		for i := 0; i < n; i++ {
			work <- struct{}{}
		}
		close(work)
		wg.Wait()
		return failed
	}
	served := parallel(2000, func() error {
		conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			return nil // the kernel's backlog overflowed: refused as well
		}
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := conn.Read(make([]byte, 16))
		if n > 0 {
			return fmt.Errorf("refused connection got data")
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return fmt.Errorf("excess connection not closed within 10s")
		}
		return nil
	})
	if served > 0 {
		t.Errorf("%d of 2000 connections above MaxConnections were not refused at once", served)
	}
	c.waitProps("flood.socket", map[string]string{"NConnections": "4", "NAccepted": "4", "ActiveState": "active"})

	addr2 := fmt.Sprintf("127.0.0.1:%d", port2)
	failed := parallel(200, func() error {
		conn, err := net.DialTimeout("tcp", addr2, 10*time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		data, err := io.ReadAll(conn)
		if string(data) != "served\n" {
			return fmt.Errorf("fast: read %q, %v", data, err)
		}
		return nil
	})
	if failed > 0 {
		t.Errorf("%d of 200 short connections failed", failed)
	}
	c.waitProps("fast.socket", map[string]string{"NConnections": "0", "NAccepted": "200", "ActiveState": "active"})
	if out, _ := c.flint("list-units", "--all"); strings.Contains(out, "fast@") {
		t.Errorf("instances left behind:\n%s", out)
	}
	after := rssKB(t, m.cmd.Process.Pid)
	t.Logf("flint RSS %d KiB before, %d KiB after 2000 refused + 200 served connections", before, after)
	if after > before+32*1024 {
		t.Errorf("flint RSS grew from %d KiB to %d KiB", before, after)
	}
}

// TestAcceptInetdFDs: an inetd-style instance (StandardInput=socket) has the connection as
// fds 0 and 1, no other fd and no LISTEN_* variables; REMOTE_ADDR is set.
func TestAcceptInetdFDs(t *testing.T) {
	const port = 21106
	h := svcHelper(t)
	units := writeUnits(t, map[string]string{
		"fds.socket": unitFile("Socket", fmt.Sprintf("ListenStream=127.0.0.1:%d\nAccept=yes", port)),
		"fds@.service": unitFile("Service", "StandardInput=socket\nStandardOutput=socket\nStandardError=null\n"+
			"ExecStart=/bin/sh -c 'echo listen=$LISTEN_FDS$LISTEN_PID$LISTEN_FDNAMES remote=$REMOTE_ADDR; exec "+h+" fds'"),
	})
	wantedBy(t, units, "sockets.target", "fds.socket")
	m := startManager(t, units)
	c := on(t, m)
	c.waitState("fds.socket", "active/listening")
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	data, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if lines[0] != "listen= remote=127.0.0.1" {
		t.Errorf("environment: %q, want no LISTEN_* and REMOTE_ADDR=127.0.0.1", lines[0])
	}
	fds := map[string]string{}
	for _, l := range lines[1:] {
		fd, target, _ := strings.Cut(l, "=")
		fds[fd] = target
	}
	if len(fds) != 3 || !strings.HasPrefix(fds["0"], "socket:") || fds["1"] != fds["0"] || fds["2"] != "/dev/null" {
		t.Errorf("service fds %v, want 0 and 1 the connection, 2 /dev/null, nothing else\n%s", fds, data)
	}
}

// TestAcceptOutOfFDs: when accept4 fails for want of fds (EMFILE), the Accept=yes socket fails
// with Result=resources, as systemd's socket_dispatch_io does, instead of being woken again
// and again; a restart listens again.
func TestAcceptOutOfFDs(t *testing.T) {
	const port = 21106
	units := writeUnits(t, map[string]string{
		"few.socket":   unitFile("Socket", fmt.Sprintf("ListenStream=127.0.0.1:%d\nAccept=yes", port)),
		"few@.service": unitFile("Service", greeter),
	})
	wantedBy(t, units, "sockets.target", "few.socket")
	m := startManager(t, units)
	c := on(t, m)
	c.waitState("few.socket", "active/listening")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	conn, _ := greet(t, "tcp", addr, "")
	conn.Close()

	// The kernel gives a new fd the lowest free number, and fails with EMFILE when that is
	// not below the soft limit: with the limit at the manager's lowest free fd, its next
	// accept4 fails.
	pid := m.cmd.Process.Pid
	var orig unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &orig); err != nil {
		t.Fatal(err)
	}
	used := map[int]bool{}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		n, _ := strconv.Atoi(e.Name())
		used[n] = true
	}
	free := 0
	for used[free] {
		free++
	}
	lim := unix.Rlimit{Cur: uint64(free), Max: orig.Max}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Fatal(err)
	}
	conn, err = net.DialTimeout("tcp", addr, 5*time.Second)
	if err == nil {
		// The socket fails and closes: the connection waiting in its queue is reset.
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		if n, err := conn.Read(make([]byte, 64)); n > 0 || isTimeout(err) {
			t.Errorf("connection served (%d bytes) or left waiting (%v) with no fd to accept it", n, err)
		}
		conn.Close()
	}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &orig, nil); err != nil {
		t.Fatal(err)
	}
	got := c.waitProps("few.socket", map[string]string{"ActiveState": "failed", "Result": "resources"})
	if got["ActiveState"] != "failed" {
		t.Fatalf("few.socket after EMFILE: %v", got)
	}
	if out, _ := c.flint("logs", "-u", "few.socket"); !strings.Contains(out, "Failed to accept socket: Too many open files") {
		t.Errorf("log of few.socket does not say why it failed:\n%s", out)
	}
	c.run(0, "reset-failed", "few.socket")
	c.start("few.socket")
	conn, _ = greet(t, "tcp", addr, "")
	conn.Close()
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
