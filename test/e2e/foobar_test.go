package e2e

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
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
				if notImplemented(out) {
					t.Skip("enable not yet implemented")
				}
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

// echo sends one line over a new connection to the unix socket and returns the line read back.
func echo(sock, msg string) (string, error) {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
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
