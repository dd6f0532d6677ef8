package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// envdumpVerb makes the test binary act as a service program (see TestMain):
//
//	e2e.test __e2e_envdump OUT listen|conn
//
// It writes an envReport as JSON to OUT (atomically), then serves: with "listen", fd 3 is a
// listening socket and every accepted connection gets "ok\n"; with "conn" (Accept=yes), fd 3 is
// the connection, which gets "ok\n" before the program exits.
const envdumpVerb = "__e2e_envdump"

// envReport is what a service saw when it started.
type envReport struct {
	PID   int               `json:"pid"`
	Env   map[string]string `json:"env"` // LISTEN_*, REMOTE_*, NOTIFY_SOCKET, SYSTEMD_EXEC_PID
	FDs   map[int]string    `json:"fds"` // fd -> readlink of /proc/self/fd/N
	Error string            `json:"error,omitempty"`
}

func envdumpMain(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: __e2e_envdump OUT listen|conn")
		return 2
	}
	out, mode := args[0], args[1]
	r := envReport{PID: os.Getpid(), Env: map[string]string{}, FDs: map[int]string{}}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "LISTEN_") || strings.HasPrefix(k, "REMOTE_") || k == "NOTIFY_SOCKET" || k == "SYSTEMD_EXEC_PID" {
			r.Env[k] = v
		}
	}
	// Read the fd table before the runtime opens anything else. The directory being read is itself
	// an fd; it is recognised by its link target and left out.
	self := fmt.Sprintf("/proc/%d/fd", r.PID)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		r.Error = err.Error()
	}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		// The Go runtime (1.25+) keeps the cgroup CPU limit files open to follow GOMAXPROCS
		// changes; they are this program's own, not inherited.
		if err != nil || target == self || strings.HasPrefix(target, "/sys/fs/cgroup/") {
			continue
		}
		r.FDs[n] = target
	}
	data, _ := json.Marshal(r)
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "envdump:", err)
		return 1
	}
	if err := os.Rename(tmp, out); err != nil {
		fmt.Fprintln(os.Stderr, "envdump:", err)
		return 1
	}
	f := os.NewFile(3, "fd3")
	switch mode {
	case "conn":
		c, err := net.FileConn(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "envdump: fd 3:", err)
			return 1
		}
		fmt.Fprint(c, "ok\n")
		c.Close()
		return 0
	case "listen":
		ln, err := net.FileListener(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "envdump: fd 3:", err)
			return 1
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				fmt.Fprintln(os.Stderr, "envdump: accept:", err)
				return 1
			}
			fmt.Fprint(c, "ok\n")
			c.Close()
		}
	}
	fmt.Fprintln(os.Stderr, "envdump: unknown mode", mode)
	return 2
}

// TestListenEnv checks what a started service sees: LISTEN_FDS, LISTEN_PID and SYSTEMD_EXEC_PID
// (its own pid, so the manager must not fork between setting them and exec), LISTEN_FDNAMES, the
// fds 3.. being sockets, and no other fd leaked into it.
func TestListenEnv(t *testing.T) {
	const port = 20510
	for _, tc := range []struct {
		name      string
		socket    func(dir string) string // [Socket] section body
		accept    bool
		dial      func(dir string) (net.Conn, error)
		wantFDs   int
		wantNames string
		wantEnv   map[string]string // extra variables that must be set
	}{
		{
			name:      "one_unix_socket_default_name",
			socket:    func(dir string) string { return "ListenStream=" + dir + "/a.sk\n" },
			dial:      func(dir string) (net.Conn, error) { return net.Dial("unix", dir+"/a.sk") },
			wantFDs:   1,
			wantNames: "envdump.socket",
		},
		{
			name: "two_sockets_FileDescriptorName",
			socket: func(dir string) string {
				return "ListenStream=" + dir + "/a.sk\nListenStream=" + dir + "/b.sk\nFileDescriptorName=pair\n"
			},
			dial:      func(dir string) (net.Conn, error) { return net.Dial("unix", dir+"/a.sk") },
			wantFDs:   2,
			wantNames: "pair:pair",
		},
		{
			name:      "accept_yes_tcp_connection",
			socket:    func(string) string { return fmt.Sprintf("ListenStream=127.0.0.1:%d\nAccept=yes\n", port) },
			accept:    true,
			dial:      func(string) (net.Conn, error) { return net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)) },
			wantFDs:   1,
			wantNames: "connection",
			wantEnv:   map[string]string{"REMOTE_ADDR": "127.0.0.1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			report := filepath.Join(dir, "report.json")
			service, mode := "envdump.service", "listen"
			if tc.accept {
				service, mode = "envdump@.service", "conn"
			}
			units := writeUnits(t, map[string]string{
				"envdump.socket": "[Unit]\nDescription=envdump socket\n\n[Socket]\n" + tc.socket(dir) +
					"\n[Install]\nWantedBy=sockets.target\n",
				service: fmt.Sprintf("[Unit]\nDescription=envdump\n\n[Service]\nExecStart=%s %s %s %s\n",
					selfBin, envdumpVerb, report, mode),
			})
			wantedBy(t, units, "sockets.target", "envdump.socket")
			startManager(t, units)

			var c net.Conn
			if !waitFor(10*time.Second, func() bool {
				var err error
				c, err = tc.dial(dir)
				return err == nil
			}) {
				t.Fatal("cannot connect to the socket 10s after flint run started")
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "ok\n" {
				t.Fatalf("service reply = %q, %v; want \"ok\\n\"", line, err)
			}

			data, err := os.ReadFile(report)
			if err != nil {
				t.Fatalf("service report: %v", err)
			}
			var r envReport
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatalf("service report %s: %v", data, err)
			}
			if r.Error != "" {
				t.Fatalf("service could not list its fds: %s", r.Error)
			}
			for k, want := range map[string]string{
				"LISTEN_FDS":       strconv.Itoa(tc.wantFDs),
				"LISTEN_PID":       strconv.Itoa(r.PID),
				"SYSTEMD_EXEC_PID": strconv.Itoa(r.PID),
				"LISTEN_FDNAMES":   tc.wantNames,
			} {
				if got, ok := r.Env[k]; !ok || got != want {
					t.Errorf("%s = %q (set: %v), want %q", k, got, ok, want)
				}
			}
			for k, want := range tc.wantEnv {
				if got := r.Env[k]; got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if tc.accept {
				if p, err := strconv.Atoi(r.Env["REMOTE_PORT"]); err != nil || p <= 0 {
					t.Errorf("REMOTE_PORT = %q, want the client's port", r.Env["REMOTE_PORT"])
				}
			}
			var extra []string
			for fd := 3; fd < 3+tc.wantFDs; fd++ {
				if !strings.HasPrefix(r.FDs[fd], "socket:") {
					t.Errorf("fd %d = %q, want a socket", fd, r.FDs[fd])
				}
			}
			for fd, target := range r.FDs {
				if fd >= 3+tc.wantFDs {
					extra = append(extra, fmt.Sprintf("%d -> %s", fd, target))
				}
			}
			sort.Strings(extra)
			if len(extra) > 0 {
				t.Errorf("fds leaked into the service beyond 0-%d: %v", 2+tc.wantFDs, extra)
			}
		})
	}
}
