package e2e

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFoobar drives the seed example through the real binary: enable, run, the socket exists
// before any daemon, the first connection starts the daemon, echoes come back on sequential
// connections, status says running and TriggeredBy the socket, SIGTERM stops everything with
// exit code 0.
func TestFoobar(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server *string // built binary
	}{
		{name: "C_sd_listen_fds", server: &foobardC},
		{name: "Go_activation", server: &foobardGo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := copyExecutable(t, *tc.server)
			sock := filepath.Join(t.TempDir(), "foobar.sk")
			units := writeUnits(t, map[string]string{
				"foobar.socket": "[Unit]\nDescription=foobar socket\n\n[Socket]\nListenStream=" + sock +
					"\n\n[Install]\nWantedBy=sockets.target\n",
				"foobar.service": "[Unit]\nDescription=foobar echo daemon\n\n[Service]\nExecStart=" + server + "\n",
			})

			out, code := runFlint(t, "--units", units, "enable", "foobar.socket")
			if code != 0 {
				t.Fatalf("flint enable foobar.socket: exit %d\n%s", code, out)
			}
			if !isSymlink(filepath.Join(units, "sockets.target.wants", "foobar.socket")) {
				t.Fatalf("enable did not create sockets.target.wants/foobar.socket; output:\n%s", out)
			}

			m := startManager(t, units)
			if !waitFor(10*time.Second, func() bool { return isSocket(sock) }) {
				t.Fatalf("%s is not a socket 10s after flint run started", sock)
			}
			if pids := pidsOf(server); len(pids) != 0 {
				t.Fatalf("server runs before any connection: pids %v", pids)
			}

			for i := 1; i <= 3; i++ {
				msg := fmt.Sprintf("hello %d from %s", i, tc.name)
				if got, err := echo(sock, msg); err != nil || got != msg {
					t.Fatalf("connection %d: echo = %q, %v; want %q", i, got, err, msg)
				}
			}
			pids := pidsOf(server)
			if len(pids) != 1 {
				t.Fatalf("after 3 connections: server pids %v, want exactly one", pids)
			}

			out, code = m.flint("status", "foobar.service")
			if code != 0 {
				t.Errorf("flint status foobar.service: exit %d, want 0 (active)\n%s", code, out)
			}
			for _, re := range []string{
				`(?m)^\S*\s*foobar\.service - foobar echo daemon`,
				`Active: active \(running\)`,
				`TriggeredBy:\s*(\S+\s+)?foobar\.socket`,
				fmt.Sprintf(`Main PID: %d\b`, pids[0]),
			} {
				if !regexp.MustCompile(re).MatchString(out) {
					t.Errorf("flint status foobar.service: no match for %s in:\n%s", re, out)
				}
			}
			out, code = m.flint("status", "foobar.socket")
			if code != 0 || !strings.Contains(out, sock) {
				t.Errorf("flint status foobar.socket: exit %d (want 0), want the listen path %s in:\n%s", code, sock, out)
			}

			if code := m.terminate(); code != 0 {
				t.Errorf("flint run exit code after SIGTERM = %d, want 0", code)
			}
			if !waitFor(5*time.Second, func() bool { return len(pidsOf(server)) == 0 }) {
				t.Errorf("server still runs after flint exited: pids %v", pidsOf(server))
			}
		})
	}
}

// echo sends one line over a new connection to the unix socket (or, for host:port, TCP
// address) and returns the line read back.
func echo(sock, msg string) (string, error) {
	network := "unix"
	if !strings.HasPrefix(sock, "/") {
		network = "tcp" // host:port
	}
	c, err := net.DialTimeout(network, sock, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\n", msg); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

// foobarUnits writes the seed example's units for server with its socket under the test's temp
// dir, enabled by a sockets.target.wants link, and returns the unit dir and the socket path.
func foobarUnits(t *testing.T, server string) (units, sock string) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "foobar.sk")
	units = writeUnits(t, map[string]string{
		"foobar.socket":  "[Unit]\nDescription=foobar socket\n\n[Socket]\nListenStream=" + sock + "\n",
		"foobar.service": "[Unit]\nDescription=foobar echo daemon\n\n[Service]\nExecStart=" + server + "\n",
	})
	wantedBy(t, units, "sockets.target", "foobar.socket")
	return units, sock
}

// TestStatusExitCodes checks systemctl's status/is-active exit codes through a service's life:
// 3 while the socket waits, 0 once a connection started it, 3 after stop, 4 for no such unit.
func TestStatusExitCodes(t *testing.T) {
	server := copyExecutable(t, foobardC)
	units, sock := foobarUnits(t, server)
	m := startManager(t, units)
	if !waitFor(10*time.Second, func() bool { return isSocket(sock) }) {
		t.Fatalf("%s is not a socket 10s after flint run started", sock)
	}
	step := func(name string, args []string, wantCode int, wantOut string) {
		t.Run(name, func(t *testing.T) {
			out, code := m.flint(args...)
			if code != wantCode || !strings.Contains(out, wantOut) {
				t.Errorf("flint %s: exit %d, want %d; want %q in:\n%s", strings.Join(args, " "), code, wantCode, wantOut, out)
			}
		})
	}
	step("socket_listening", []string{"status", "foobar.socket"}, 0, "Active: active (listening)")
	step("service_before_connection", []string{"status", "foobar.service"}, 3, "Active: inactive (dead)")
	step("is_active_before_connection", []string{"is-active", "foobar.service"}, 3, "inactive")
	step("no_such_unit", []string{"status", "nosuch.service"}, 4, "nosuch.service")
	if got, err := echo(sock, "wake up"); err != nil || got != "wake up" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	step("service_after_connection", []string{"status", "foobar.service"}, 0, "Active: active (running)")
	step("is_active_after_connection", []string{"is-active", "foobar.service"}, 0, "active")
	step("stop", []string{"stop", "foobar.service"}, 0, "")
	step("service_after_stop", []string{"is-active", "foobar.service"}, 3, "inactive")
	step("socket_after_service_stop", []string{"is-active", "foobar.socket"}, 0, "active")
}

// TestReactivation checks that stopping the service leaves the socket listening and that the
// next connection starts a new server process.
func TestReactivation(t *testing.T) {
	server := copyExecutable(t, foobardC)
	units, sock := foobarUnits(t, server)
	m := startManager(t, units)
	if !waitFor(10*time.Second, func() bool { return isSocket(sock) }) {
		t.Fatalf("%s is not a socket 10s after flint run started", sock)
	}
	var pids []int
	for round := 1; round <= 3; round++ {
		msg := fmt.Sprintf("round %d", round)
		if got, err := echo(sock, msg); err != nil || got != msg {
			t.Fatalf("round %d: echo = %q, %v", round, got, err)
		}
		now := pidsOf(server)
		if len(now) != 1 {
			t.Fatalf("round %d: server pids %v, want one", round, now)
		}
		for _, p := range pids {
			if p == now[0] {
				t.Fatalf("round %d: server pid %d was already used in an earlier round: not restarted", round, p)
			}
		}
		pids = append(pids, now[0])
		if out, code := m.flint("stop", "foobar.service"); code != 0 {
			t.Fatalf("round %d: flint stop foobar.service: exit %d\n%s", round, code, out)
		}
		if !waitFor(5*time.Second, func() bool { return len(pidsOf(server)) == 0 }) {
			t.Fatalf("round %d: server still runs after stop: %v", round, pidsOf(server))
		}
		if !isSocket(sock) {
			t.Fatalf("round %d: socket %s gone after the service stopped", round, sock)
		}
	}
}

// TestStopSignals checks that SIGTERM and SIGINT both make flint stop its services and exit 0.
func TestStopSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			server := copyExecutable(t, foobardGo)
			units, sock := foobarUnits(t, server)
			m := startManager(t, units)
			if !waitFor(10*time.Second, func() bool { return isSocket(sock) }) {
				t.Fatalf("%s is not a socket 10s after flint run started", sock)
			}
			if got, err := echo(sock, "x"); err != nil || got != "x" {
				t.Fatalf("echo = %q, %v", got, err)
			}
			if code := m.stopWith(sig); code != 0 {
				t.Errorf("flint run exit code after %v = %d, want 0", sig, code)
			}
			if !waitFor(5*time.Second, func() bool { return len(pidsOf(server)) == 0 }) {
				t.Errorf("server still runs after flint exited: %v", pidsOf(server))
			}
		})
	}
}
