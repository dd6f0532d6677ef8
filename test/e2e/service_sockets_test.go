package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// askPID connects to a unix socket and returns the line the service writes (its pid).
func askPID(path string) (string, error) {
	c, err := net.DialTimeout("unix", path, 10*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// TestSocketQueueAcrossRestarts: flint keeps the listening socket while the service crashes
// and restarts, so connections made meanwhile wait in the backlog and are served by the next
// instance; a service that exits cleanly is started again by the next connection.
func TestSocketQueueAcrossRestarts(t *testing.T) {
	h := svcHelper(t)
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		// Serves one connection, then crashes (exit 1) and is restarted by Restart=.
		"crash.socket":  unitFile("Socket", "ListenStream="+dir+"/crash.sk"),
		"crash.service": unitFile("Unit", "StartLimitIntervalSec=0", "Service", "Restart=on-failure\nRestartSec=100ms\nExecStart="+h+" accept1 1"),
		// Serves one connection, then exits 0 (Restart=no): the socket starts it again.
		"once.socket":  unitFile("Socket", "ListenStream="+dir+"/once.sk"),
		"once.service": unitFile("Unit", "StartLimitIntervalSec=0", "Service", "ExecStart="+h+" accept1 0"),
	})
	wantedBy(t, units, "sockets.target", "crash.socket")
	wantedBy(t, units, "sockets.target", "once.socket")
	m := startManager(t, units)

	for _, name := range []string{"crash", "once"} {
		t.Run(name+"_concurrent_clients", func(t *testing.T) {
			c := on(t, m)
			const n = 20
			var wg sync.WaitGroup
			errs := make(chan error, n)
			pids := make(chan string, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					pid, err := askPID(filepath.Join(dir, name+".sk"))
					if err != nil {
						errs <- err
						return
					}
					pids <- pid
				}()
			}
			wg.Wait()
			close(errs)
			close(pids)
			for err := range errs {
				t.Errorf("client: %v", err)
			}
			seen := map[string]bool{}
			for p := range pids {
				seen[p] = true
			}
			if !t.Failed() && len(seen) != n {
				t.Errorf("%d distinct service pids for %d connections, want one instance per connection", len(seen), n)
			}
			c.waitProps(name+".socket", map[string]string{"ActiveState": "active"})
			if name == "crash" {
				if nr, _ := strconv.Atoi(c.prop("crash.service", "NRestarts")); nr < n-1 {
					t.Errorf("NRestarts = %d, want >= %d", nr, n-1)
				}
			}
		})
	}
}

// TestSocketHandOver checks what a service activated by several socket units sees: the fds of
// its Sockets= in order (stream and datagram), LISTEN_FDNAMES from FileDescriptorName= or the
// unit name, and no other fd of flint's.
func TestSocketHandOver(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	const udpPort = 21010
	units := writeUnits(t, map[string]string{
		"alpha.socket": unitFile("Socket", fmt.Sprintf(
			"ListenStream=%s/a.sk\nListenDatagram=127.0.0.1:%d\nFileDescriptorName=alpha\nService=multi.service", dir, udpPort)),
		"beta.socket": unitFile("Socket", "ListenStream="+dir+"/b.sk\nService=multi.service"),
		"multi.service": unitFile("Unit", "Requires=alpha.socket beta.socket",
			"Service", fmt.Sprintf("Sockets=alpha.socket beta.socket\nExecStart=%s %s %s listen", selfBin, envdumpVerb, report)),
	})
	wantedBy(t, units, "sockets.target", "alpha.socket")
	wantedBy(t, units, "sockets.target", "beta.socket")
	m := startManager(t, units)
	c := on(t, m)
	c.waitState("beta.socket", "active/listening")
	if line, err := askPID(dir + "/a.sk"); err != nil || line != "ok" {
		t.Fatalf("reply %q, %v", line, err)
	}
	var r envReport
	if err := json.Unmarshal([]byte(readWait(t, report)), &r); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"LISTEN_FDS": "3", "LISTEN_PID": strconv.Itoa(r.PID), "LISTEN_FDNAMES": "alpha:alpha:beta.socket"}
	for k, v := range want {
		if r.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, r.Env[k], v)
		}
	}
	for fd, target := range r.FDs {
		if fd > 5 || fd >= 3 && !strings.HasPrefix(target, "socket:") {
			t.Errorf("fd %d -> %s: the service should see 0-2 and the 3 sockets only", fd, target)
		}
	}
	for fd := 0; fd <= 5; fd++ {
		if _, ok := r.FDs[fd]; !ok {
			t.Errorf("fd %d not open in the service", fd)
		}
	}
	// The datagram socket is fd 4 of the service: it is the one bound to the UDP port.
	if inode := strings.TrimSuffix(strings.TrimPrefix(r.FDs[4], "socket:["), "]"); !udpInodeHasPort(inode, udpPort) {
		t.Errorf("fd 4 (%s) is not the UDP socket on port %d", r.FDs[4], udpPort)
	}
	c.waitState("multi.service", "active/running")
	for _, s := range []string{"alpha.socket", "beta.socket"} {
		c.waitState(s, "active/running")
	}
}

// udpInodeHasPort reports whether /proc/net/udp lists socket inode bound to port.
func udpInodeHasPort(inode string, port int) bool {
	data, _ := os.ReadFile("/proc/net/udp")
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 9 && f[9] == inode && strings.HasSuffix(f[1], fmt.Sprintf(":%04X", port)) {
			return true
		}
	}
	return false
}

// TestDatagramActivation: the first datagram on a ListenDatagram= socket starts the service,
// which finds it queued on its fd 3.
func TestDatagramActivation(t *testing.T) {
	h := svcHelper(t)
	const port = 21011
	units := writeUnits(t, map[string]string{
		"udp.socket":  unitFile("Socket", fmt.Sprintf("ListenDatagram=127.0.0.1:%d", port)),
		"udp.service": unitFile("Service", "ExecStart="+h+" udp-echo"),
	})
	wantedBy(t, units, "sockets.target", "udp.socket")
	m := startManager(t, units)
	c := on(t, m)
	c.waitState("udp.socket", "active/listening")
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	for _, msg := range []string{"first", "second"} {
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, err := conn.Read(buf)
		if err != nil || string(buf[:n]) != msg {
			t.Fatalf("echo of %q = %q, %v", msg, buf[:n], err)
		}
	}
	c.waitState("udp.service", "active/running")
}

// TestFDStore: a service stores an fd (FDSTORE=1 FDNAME=x), crashes, and gets it back after
// its socket's fd when Restart= starts it again.
func TestFDStore(t *testing.T) {
	h := svcHelper(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "fdstore.out")
	units := writeUnits(t, map[string]string{
		"store.socket": unitFile("Socket", "ListenStream="+dir+"/store.sk"),
		"store.service": unitFile("Service", fmt.Sprintf(
			"FileDescriptorStoreMax=4\nNotifyAccess=main\nRestart=on-failure\nRestartSec=100ms\nExecStart=%s fdstore x %s", h, out)),
	})
	wantedBy(t, units, "sockets.target", "store.socket")
	m := startManager(t, units)
	c := on(t, m)
	c.waitState("store.socket", "active/listening")
	c.start("store.service")
	got := readWait(t, out)
	first := c.prop("store.service", "ExecMainPID")
	want := "names=store.socket:x\nfd=4\ncontent=stored-by-"
	if !strings.HasPrefix(got, want) || strings.HasSuffix(strings.TrimSpace(got), "-"+first) {
		t.Errorf("restarted service saw:\n%s\nwant %s<pid of the first instance>", got, want)
	}
	c.waitProps("store.service", map[string]string{"ActiveState": "active", "NRestarts": "1", "NFileDescriptorStore": "1"})
}

// TestTriggerLimit: a socket whose service keeps exiting without serving is triggered again
// and again; past TriggerLimitBurst= the socket fails with trigger-limit-hit and flint stays up.
func TestTriggerLimit(t *testing.T) {
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"trig.socket":  unitFile("Socket", "ListenStream="+dir+"/trig.sk\nTriggerLimitIntervalSec=1min\nTriggerLimitBurst=3"),
		"trig.service": unitFile("Unit", "StartLimitIntervalSec=0", "Service", "ExecStart=/bin/true"),
	})
	wantedBy(t, units, "sockets.target", "trig.socket")
	m := startManager(t, units)
	c := on(t, m)
	c.waitState("trig.socket", "active/listening")
	conn, err := net.Dial("unix", dir+"/trig.sk")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c.waitProps("trig.socket", map[string]string{"ActiveState": "failed", "Result": "trigger-limit-hit"})
	if _, code := c.flint("status", "trig.service"); code == 4 {
		t.Error("flint lost the service")
	}
}

// TestSocketUnitLifecycle: a socket unit's ExecStartPre/Post and ExecStopPre/Post run around
// its sockets' life, with SocketMode=, Symlinks= and RemoveOnStop=.
func TestSocketUnitLifecycle(t *testing.T) {
	dir := t.TempDir()
	sk, link, log := dir+"/life.sk", dir+"/life-link.sk", dir+"/life.log"
	units := writeUnits(t, map[string]string{
		"life.socket": unitFile("Socket", "ListenStream="+sk+"\nSocketMode=0600\nSymlinks="+link+"\nRemoveOnStop=yes\n"+
			"ExecStartPre=/bin/sh -c 'test -e "+sk+" || echo pre >> "+log+"'\n"+
			"ExecStartPost=/bin/sh -c 'test -S "+sk+" && echo post >> "+log+"'\n"+
			"ExecStopPre=/bin/sh -c 'test -S "+sk+" && echo stoppre >> "+log+"'\n"+
			"ExecStopPost=/bin/sh -c 'test -e "+sk+" || echo stoppost >> "+log+"'"),
		"life.service": unitFile("Service", "ExecStart=/bin/sleep 1000"),
	})
	m := startManager(t, units)
	c := on(t, m)
	c.start("life.socket")
	c.waitState("life.socket", "active/listening")
	if fi, err := os.Stat(sk); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket file: %v, %v; want mode 0600", fi, err)
	}
	if target, err := os.Readlink(link); err != nil || target != sk {
		t.Errorf("Symlinks=: %q, %v", target, err)
	}
	if got, _ := os.ReadFile(log); string(got) != "pre\npost\n" {
		t.Errorf("after start, log %q", got)
	}
	if _, code := c.flint("stop", "life.socket"); code != 0 {
		t.Fatal("stop failed")
	}
	c.waitState("life.socket", "inactive/dead")
	if got, _ := os.ReadFile(log); string(got) != "pre\npost\nstoppre\nstoppost\n" {
		t.Errorf("after stop, log %q", got)
	}
	for _, p := range []string{sk, link} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s still exists after stop with RemoveOnStop=yes", p)
		}
	}
}

// TestRestartUnderLoad: clients keep connecting while the service is restarted five times;
// flint holds the listening socket throughout, so no connection fails.
func TestRestartUnderLoad(t *testing.T) {
	h := svcHelper(t)
	dir := t.TempDir()
	sk := dir + "/load.sk"
	units := writeUnits(t, map[string]string{
		"load.socket":  unitFile("Socket", "ListenStream="+sk),
		"load.service": unitFile("Unit", "StartLimitIntervalSec=0", "Service", "ExecStart="+h+" serve"),
	})
	wantedBy(t, units, "sockets.target", "load.socket")
	m := startManager(t, units)
	c := on(t, m)
	c.waitState("load.socket", "active/listening")

	var (
		mu     sync.Mutex
		pids   = map[string]int{}
		errs   []error
		served int
		stop   = make(chan struct{})
		wg     sync.WaitGroup
	)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				pid, err := askPID(sk)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					pids[pid]++
					served++
				}
				mu.Unlock()
			}
		}()
	}
	// Each instance serves the clients before the next restart: the first, one per restart.
	instances := func(n int) {
		t.Helper()
		got := 0
		if !waitFor(15*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); got = len(pids); return got >= n }) {
			t.Errorf("%d service instances served the clients within 15s, want %d", got, n)
		}
	}
	for i := 0; i < 5; i++ {
		instances(i + 1)
		if out, code := c.flint("restart", "load.service"); code != 0 {
			t.Errorf("restart %d: exit %d: %s", i+1, code, out)
		}
	}
	instances(6)
	close(stop)
	wg.Wait()
	t.Logf("%d connections served by %d instances", served, len(pids))
	for i, err := range errs {
		if i < 5 {
			t.Errorf("client: %v", err)
		}
	}
	if len(errs) > 0 {
		t.Errorf("%d of %d connections failed across 5 restarts", len(errs), served+len(errs))
	}
	if len(pids) < 6 {
		t.Errorf("%d service instances, want 6 (the first and one per restart)", len(pids))
	}
}

// TestSocketDuringAutoRestart: while a crashed service waits for its restart, its socket is
// listening again (systemd 252 shows listening, not running), and a connection made then is
// served by the restarted instance.
func TestSocketDuringAutoRestart(t *testing.T) {
	h := svcHelper(t)
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"slow.socket":  unitFile("Socket", "ListenStream="+dir+"/slow.sk"),
		"slow.service": unitFile("Service", "Restart=on-failure\nRestartSec=3\nExecStart="+h+" accept1 1"),
	})
	wantedBy(t, units, "sockets.target", "slow.socket")
	m := startManager(t, units)
	c := on(t, m)
	c.waitState("slow.socket", "active/listening")
	first, err := askPID(dir + "/slow.sk")
	if err != nil {
		t.Fatal(err)
	}
	c.waitProps("slow.service", map[string]string{"SubState": "auto-restart"})
	if p := c.props("slow.socket", "SubState", "ActiveState"); p["SubState"] != "listening" {
		t.Errorf("socket during auto-restart: %v, want listening", p)
	}
	second, err := askPID(dir + "/slow.sk")
	if err != nil || second == first {
		t.Errorf("connection during auto-restart: %q, %v (first instance %s)", second, err, first)
	}
	c.waitProps("slow.service", map[string]string{"NRestarts": "1"})
}

// TestNonBlocking: a service's NonBlocking= sets O_NONBLOCK on the listening socket it is
// handed (Accept=no), and its absence hands it blocking, as systemd's flags_fds does.
func TestNonBlocking(t *testing.T) {
	dir := t.TempDir()
	dump := sockdump(t)
	units := map[string]string{}
	for _, name := range []string{"nb", "b"} {
		units[name+".socket"] = unitFile("Socket", "ListenStream="+dir+"/"+name+".sk")
		nb := ""
		if name == "nb" {
			nb = "NonBlocking=yes\n"
		}
		units[name+".service"] = unitFile("Service", nb+"Environment=SOCKDUMP_OUT="+dir+"/"+name+".json\nExecStart="+dump)
	}
	m := startManager(t, writeUnits(t, units))
	c := on(t, m)
	for _, tc := range []struct {
		name string
		want bool
	}{{"nb", true}, {"b", false}} {
		c.start(tc.name + ".socket")
		conn, err := net.Dial("unix", dir+"/"+tc.name+".sk")
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if err != nil || line != "ok\n" {
			t.Fatalf("%s: reply %q, %v", tc.name, line, err)
		}
		var r struct {
			FDs map[int]struct {
				Listening bool `json:"listening"`
				NonBlock  bool `json:"nonblock"`
			} `json:"fds"`
		}
		if err := json.Unmarshal([]byte(readWait(t, dir+"/"+tc.name+".json")), &r); err != nil {
			t.Fatal(err)
		}
		if fd := r.FDs[3]; !fd.Listening || fd.NonBlock != tc.want {
			t.Errorf("%s.service's fd 3: listening %v, non-blocking %v; want listening, non-blocking %v", tc.name, fd.Listening, fd.NonBlock, tc.want)
		}
	}
}
