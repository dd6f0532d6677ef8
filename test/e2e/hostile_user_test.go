package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/internal/control"
)

// hostileVerb makes the test binary an unprivileged attacker of the manager's sockets (see
// TestMain), run as nobody by hostileAs:
//
//	e2e.test __e2e_hostile request CONTROL   each line of stdin is sent on a connection of its
//	                                         own; the first reply line is printed (or "error: ...")
//	e2e.test __e2e_hostile stall CONTROL N K N connections each ask `show` of K units and never
//	                                         read; "sent" is printed, then it waits for stdin's end
//	e2e.test __e2e_hostile dial SOCKET       connects to a unix socket: "connected" or "error: ..."
//	e2e.test __e2e_hostile syslog SOCKET N   sends N syslog datagrams: "sent N"
//	e2e.test __e2e_hostile forge DIR         sends the journal sockets in DIR a native entry and a
//	                                         stream that claim root's pid and uid and a unit: "sent PID"
//	e2e.test __e2e_hostile streams SOCKET N  opens N journal streams with a header and holds
//	                                         them: "opened N", then waits for stdin's end
const hostileVerb = "__e2e_hostile"

func hostileMain(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: __e2e_hostile MODE CONTROL ...")
		return 2
	}
	mode, control := args[0], args[1]
	switch mode {
	case "request":
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			fmt.Println(requestOnce(control, sc.Bytes()))
		}
		return 0
	case "stall":
		n, _ := strconv.Atoi(args[2])
		k, _ := strconv.Atoi(args[3])
		names := make([]string, k)
		for i := range names {
			names[i] = fmt.Sprintf("stall-%d.service", i)
		}
		req, _ := json.Marshal(api.Request{Verb: api.VerbShow, Units: names})
		var held []net.Conn
		for i := 0; i < n; i++ {
			c, err := net.Dial("unix", control)
			if err != nil {
				fmt.Fprintln(os.Stderr, "stall:", err)
				return 1
			}
			c.Write(append(req, '\n'))
			held = append(held, c)
		}
		fmt.Println("sent")
		io.Copy(io.Discard, os.Stdin)
		for _, c := range held {
			c.Close()
		}
		return 0
	case "syslog":
		// COUNT datagrams to the socket as fast as it takes them.
		n, _ := strconv.Atoi(args[2])
		c, err := net.Dial("unixgram", control)
		if err != nil {
			fmt.Println("error:", err)
			return 0
		}
		sent := 0
		for i := 0; i < n; i++ {
			if _, err := fmt.Fprintf(c, "<13>flood[%d]: nobody's line %d", os.Getpid(), i); err == nil {
				sent++
			}
		}
		fmt.Println("sent", sent)
		return 0
	case "streams":
		// COUNT stream connections, each with the stream protocol's header, held until
		// stdin ends; a connection the server closes is let go.
		n, _ := strconv.Atoi(args[2])
		var held []net.Conn
		for i := 0; i < n; i++ {
			c, err := net.Dial("unix", control)
			if err != nil {
				break
			}
			if _, err := io.WriteString(c, "flood\n\n6\n0\n0\n0\n0\n"); err != nil {
				c.Close()
				continue
			}
			held = append(held, c)
		}
		fmt.Println("opened", len(held))
		io.Copy(io.Discard, os.Stdin)
		for _, c := range held {
			c.Close()
		}
		return 0
	case "forge":
		// A native datagram and a stream that claim root's pid, uid and a unit.
		dir := control
		nc, err := net.Dial("unixgram", dir+"/socket")
		if err != nil {
			fmt.Println("error:", err)
			return 0
		}
		nc.Write([]byte("_PID=1\n_UID=0\n_GID=0\n_SYSTEMD_UNIT=rootsvc.service\n_COMM=systemd\nSYSLOG_IDENTIFIER=forged\nMESSAGE=forged native\n"))
		nc.Close()
		sc, err := net.Dial("unix", dir+"/stdout")
		if err != nil {
			fmt.Println("error:", err)
			return 0
		}
		io.WriteString(sc, "forged\nrootsvc.service\n6\n0\n0\n0\n0\nforged stream\n")
		sc.Close()
		fmt.Println("sent", os.Getpid())
		return 0
	case "dial":
		c, err := net.Dial("unix", control)
		if err != nil {
			fmt.Println("error:", err)
			return 0
		}
		c.Close()
		fmt.Println("connected")
		return 0
	}
	fmt.Fprintln(os.Stderr, "__e2e_hostile: unknown mode", mode)
	return 2
}

// requestOnce sends req on a new connection and returns the first reply line.
func requestOnce(control string, req []byte) string {
	c, err := net.Dial("unix", control)
	if err != nil {
		return "error: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	c.Write(append(append([]byte(nil), req...), '\n'))
	line, err := bufio.NewReaderSize(c, 1<<20).ReadString('\n')
	if err != nil {
		return "error: " + err.Error()
	}
	return strings.TrimSuffix(line, "\n")
}

// hostile is a running __e2e_hostile process.
type hostile struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// hostileAs starts the test binary as __e2e_hostile with args under cred (nil: nobody
// without supplementary groups); it is killed when the test ends.
func hostileAs(t *testing.T, cred *syscall.Credential, args ...string) *hostile {
	t.Helper()
	if cred == nil {
		cred = &syscall.Credential{Uid: nobodyUID, Gid: nobodyUID, Groups: []uint32{}}
	}
	cmd := exec.Command(hostileBin(t), append([]string{hostileVerb}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return startHostile(t, cmd)
}

// hostileBin is a copy of the test binary every uid may run.
func hostileBin(t *testing.T) string {
	t.Helper()
	bin := copyExecutable(t, selfBin)
	openUp(bin)
	return bin
}

// hostileInNS starts __e2e_hostile with args as nobody in the mount namespace of process
// pid (nsenter), where a manager serves its journal sockets.
func hostileInNS(t *testing.T, pid int, args ...string) *hostile {
	t.Helper()
	cmd := nsCommand(pid, append([]string{"-S", strconv.Itoa(nobodyUID), "-G", strconv.Itoa(nobodyUID), hostileBin(t), hostileVerb}, args...)...)
	return startHostile(t, cmd)
}

// startHostile starts cmd, an __e2e_hostile process, with pipes to its stdin and stdout.
func startHostile(t *testing.T, cmd *exec.Cmd) *hostile {
	t.Helper()
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return &hostile{cmd: cmd, stdin: stdin, out: bufio.NewReaderSize(stdout, 1<<20)}
}

// line reads the next line the process prints.
func (h *hostile) line(t *testing.T) string {
	t.Helper()
	l, err := h.out.ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", hostileVerb, err)
	}
	return strings.TrimSuffix(l, "\n")
}

// requestAsNobody sends one raw request line to the control socket as nobody and returns
// the reply.
func requestAsNobody(t *testing.T, control string, req any) api.Response {
	t.Helper()
	h := hostileAs(t, nil, "request", control)
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(h.stdin, "%s\n", b)
	line := h.line(t)
	var r api.Response
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("reply %q: %v", line, err)
	}
	return r
}

// rssKiB is the resident memory of process pid.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// TestHeavyRequests: nobody asks for more than the manager should do for it. A request
// naming 40,000 units (700 KB of request, 80 MB of reply, seconds of the manager's loop) is
// refused for its size, one naming 2,000 with the limit on names; 200 connections that each ask `show` of 1,024 units and
// never read their replies are answered one at a time, so that root's requests are answered
// in between and the manager holds one such reply of nobody's at a time, not 200.
func TestHeavyRequests(t *testing.T) {
	m, c := managerForOtherUIDs(t)
	pid := m.cmd.Process.Pid
	names := make([]string, 40000)
	for i := range names {
		names[i] = fmt.Sprintf("many-%d.service", i)
	}
	r := requestAsNobody(t, m.control, api.Request{Verb: api.VerbShow, Units: names})
	want := fmt.Sprintf("bad request: request larger than %d bytes", control.MaxRequestUnprivileged)
	if r.Code != "bad-request" || r.Error != want || !r.Done {
		t.Errorf("show of 40000 units as nobody: code %q error %q (%d bytes of data), want code bad-request and %q", r.Code, r.Error, len(r.Data), want)
	}
	r = requestAsNobody(t, m.control, api.Request{Verb: api.VerbShow, Units: names[:2000]})
	want = fmt.Sprintf("Too many unit names in one request: 2000 (limit %d for unprivileged users).", control.MaxNamesUnprivileged)
	if r.Code != "limit" || r.Error != want || !r.Done {
		t.Errorf("show of 2000 units as nobody: code %q error %q (%d bytes of data), want code limit and %q", r.Code, r.Error, len(r.Data), want)
	}
	// At the limit nobody is answered.
	r = requestAsNobody(t, m.control, api.Request{Verb: api.VerbShow, Units: names[:control.MaxNamesUnprivileged], Props: []string{"Id"}})
	var sts []api.UnitStatus
	if r.Error != "" || json.Unmarshal(r.Data, &sts) != nil || len(sts) != control.MaxNamesUnprivileged {
		t.Errorf("show of %d units as nobody: %d answered, %q", control.MaxNamesUnprivileged, len(sts), r.Error)
	}
	// Root may name any number; the manager answers them in chunks.
	out, code := c.flint(append([]string{"show", "-p", "Id"}, names[:5000]...)...)
	if code != 0 || strings.Count(out, "Id=many-") != 5000 {
		t.Errorf("root's show of 5000 units: exit %d, %d answered", code, strings.Count(out, "Id=many-"))
	}
	// A request naming a unit twice is answered with it once, also across chunks.
	dup, _ := json.Marshal(api.Request{Verb: api.VerbShow, Units: append(append([]string{}, names[:100]...), names[:100]...), Props: []string{"Id"}})
	var dsts []api.UnitStatus
	b, _ := json.Marshal(rawRequest(t, m.control, append(dup, '\n'))["data"])
	if err := json.Unmarshal(b, &dsts); err != nil || len(dsts) != 100 || dsts[0].Name != names[0] || dsts[99].Name != names[99] {
		t.Errorf("show of 100 units named twice: %d answered (%v)", len(dsts), err)
	}

	before := rssKiB(t, pid)
	h := hostileAs(t, nil, "stall", m.control, "200", strconv.Itoa(control.MaxNamesUnprivileged))
	if l := h.line(t); l != "sent" {
		t.Fatalf("stall: %q", l)
	}
	if !waitFor(20*time.Second, func() bool { return ping(t, m.control).Connections >= 201 }) {
		t.Fatalf("the manager holds %d connections, want nobody's 200 and this ping", ping(t, m.control).Connections)
	}
	// Root's requests are answered while nobody's wait in line (each of nobody's replies
	// waits for its reader until the manager's write timeout, 30 s).
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		out, code := c.m.flint("status", "ok.service")
		if code != 0 || !strings.Contains(out, "Active: active (running)") {
			t.Errorf("root's status under nobody's stalled requests: exit %d\n%s", code, out)
		}
	}()
	select {
	case <-done:
		t.Logf("root's status answered in %v under 200 stalled requests of 1024 units", time.Since(start))
	case <-time.After(20 * time.Second):
		t.Errorf("root's status not answered after 20s under nobody's stalled requests")
		<-done
	}
	grown := rssKiB(t, pid) - before
	t.Logf("manager's memory grew by %d KiB under the stalled requests", grown)
	if grown > 200<<10 {
		t.Errorf("the manager's memory grew by %d MiB under nobody's stalled requests", grown>>10)
	}
	// When nobody's process ends, its connections and their turns are released.
	h.stdin.Close()
	h.cmd.Wait()
	if !waitFor(20*time.Second, func() bool { return ping(t, m.control).Connections == 1 }) {
		t.Errorf("nobody's connections not released: %+v", ping(t, m.control))
	}
	if r := requestAsNobody(t, m.control, api.Request{Verb: api.VerbIsActive, Units: []string{"ok.service"}}); r.Error != "" || string(r.Data) != `["active"]` {
		t.Errorf("nobody's is-active afterwards: %+v", r)
	}
}

// TestPrivateBusOwnerOnly: the manager's private D-Bus socket is root's alone, as systemd
// 252's /run/systemd/private (srwx------): nobody's connect is refused by the kernel, so no
// D-Bus message, file descriptor or connection of nobody's reaches the manager there; root
// connects.
func TestPrivateBusOwnerOnly(t *testing.T) {
	m, _ := managerForOtherUIDs(t)
	path := m.privateSocket()
	if !waitFor(10*time.Second, func() bool { _, err := os.Stat(path); return err == nil }) {
		t.Fatalf("no private bus socket %s", path)
	}
	reachable(t, filepath.Dir(path))
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("%s: %v %v, want srwx------", path, fi.Mode(), err)
	}
	h := hostileAs(t, nil, "dial", path)
	if got := h.line(t); got != "error: dial unix "+path+": connect: permission denied" {
		t.Errorf("nobody's connect to the private bus: %q", got)
	}
	h = hostileAs(t, &syscall.Credential{Uid: 0, Gid: 0}, "dial", path)
	if got := h.line(t); got != "connected" {
		t.Errorf("root's connect to the private bus: %q", got)
	}
}

// TestEveryChangeRefused: every verb that changes state (api.Verbs), sent by nobody with
// arguments that would do something, is answered "permission" with the verb named, and
// nothing changes: the running service keeps its pid, the stopped one stays stopped, the
// manager's environment and exit code stay, the manager runs on; root is answered after.
func TestEveryChangeRefused(t *testing.T) {
	m, c := managerForOtherUIDs(t)
	pid := c.prop("ok.service", "MainPID")
	envBefore, _ := c.flint("show-environment")
	code := 42
	h := hostileAs(t, nil, "request", m.control)
	for _, v := range api.Verbs {
		if v.ReadOnly {
			continue
		}
		req := api.Request{Verb: v.Verb, Units: []string{"ok.service"}, Env: []string{"HOSTILE=1"}, Signal: 9, ExitCode: &code}
		switch v.Verb {
		case api.VerbStart, api.VerbRestart, api.VerbTryRestart, api.VerbReloadOrRestart:
			req.Units = []string{"ok.service", "plain.service"}
		case api.VerbSetProperty:
			req.Env = []string{"CPUWeight=1"}
		}
		b, _ := json.Marshal(req)
		fmt.Fprintf(h.stdin, "%s\n", b)
		line := h.line(t)
		var r api.Response
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s: reply %q: %v", v.Verb, line, err)
		}
		want := fmt.Sprintf("Failed to %s: permission denied (uid %d may only read;", v.Verb, nobodyUID)
		if r.Code != "permission" || !r.Done || !strings.HasPrefix(r.Error, want) {
			t.Errorf("%s as nobody: %+v, want code permission and %q", v.Verb, r, want)
		}
	}
	if m.exited() {
		t.Fatalf("the manager exited:\n%s", m.out.String())
	}
	if got := c.props("ok.service", "ActiveState", "MainPID", "CPUWeight"); got["ActiveState"] != "active" || got["MainPID"] != pid || got["CPUWeight"] == "1" {
		t.Errorf("ok.service after nobody's requests: %v, want active with MainPID %s", got, pid)
	}
	if st := c.prop("plain.service", "ActiveState"); st != "inactive" {
		t.Errorf("plain.service after nobody's start: %s", st)
	}
	if env, _ := c.flint("show-environment"); env != envBefore || strings.Contains(env, "HOSTILE") {
		t.Errorf("the manager's environment changed:\n%s", env)
	}
	c.run(0, "restart", "ok.service")
	if got := c.prop("ok.service", "MainPID"); got == pid || got == "0" {
		t.Errorf("root's restart: MainPID %s", got)
	}
}

// TestNotifyMainPIDOfRoot: a notify service running as nobody names, with MAINPID=, a
// process of root's that belongs to no unit: systemd 252 takes a main pid outside the
// service only from a privileged sender, so the service stays with its own main process and
// a stop leaves root's process alone. The same message from a service running as root is
// taken.
func TestNotifyMainPIDOfRoot(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for User=nobody")
	}
	foreign := func() int {
		cmd := exec.Command("/bin/sleep", "1000")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd.Process.Pid
	}
	f1, f2 := foreign(), foreign()
	svc := func(user string, fpid int) string {
		return unitFile("Service", fmt.Sprintf("Type=notify\nNotifyAccess=all\n%sExecStart=/bin/sh -c 'systemd-notify READY=1 MAINPID=%d; exec sleep 1000'", user, fpid))
	}
	units := writeUnits(t, map[string]string{
		"bynobody.service": svc("User=nobody\n", f1),
		"byroot.service":   svc("", f2),
	})
	m := startManager(t, units)
	c := on(t, m)

	c.start("bynobody.service")
	st := c.waitProps("bynobody.service", map[string]string{"ActiveState": "active"})
	if st["MainPID"] == strconv.Itoa(f1) || st["MainPID"] == "0" {
		t.Errorf("bynobody.service took MAINPID=%d from nobody: MainPID %s", f1, st["MainPID"])
	}
	c.run(0, "stop", "bynobody.service")
	c.waitState("bynobody.service", "inactive/dead")
	if !alive(f1) {
		t.Errorf("root's process %d was killed by the stop of nobody's service", f1)
	}

	c.start("byroot.service")
	c.waitProps("byroot.service", map[string]string{"ActiveState": "active", "MainPID": strconv.Itoa(f2)})
}

// TestStateDirectoryLinks: a service running as nobody puts links to root's files in its
// StateDirectory=. When the unit's User= changes, the directory is given to the new user
// without following them (the links themselves change owner, root's files keep theirs), as
// systemd's path_chown_recursive; a nested StateDirectory= the service replaced by a link to
// root's directory fails the start (238/STATE_DIRECTORY), and that directory keeps its owner.
func TestStateDirectoryLinks(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for User=")
	}
	name := fmt.Sprintf("flint-e2e-hostile-%d", os.Getpid())
	t.Cleanup(func() { os.RemoveAll("/var/lib/" + name); os.RemoveAll("/var/lib/" + name + "-n") })
	victims := t.TempDir()
	victim, victimDir := filepath.Join(victims, "file"), filepath.Join(victims, "dir")
	if err := os.WriteFile(victim, []byte("root's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(victimDir, 0o700); err != nil {
		t.Fatal(err)
	}
	plant := fmt.Sprintf("ln -s %s $$STATE_DIRECTORY/link; ln -s %s $$STATE_DIRECTORY/dlink; mkdir $$STATE_DIRECTORY/d; ln -s %s $$STATE_DIRECTORY/d/l", victim, victimDir, victim)
	unitText := func(user string) string {
		return unitFile("Service", fmt.Sprintf("Type=oneshot\nRemainAfterExit=yes\nUser=%s\nStateDirectory=%s\nExecStart=/bin/sh -c '%s'", user, name, plant))
	}
	nested := unitFile("Service", fmt.Sprintf("Type=oneshot\nRemainAfterExit=yes\nUser=nobody\nStateDirectory=%s-n %s-n/sub\n"+
		"ExecStart=/bin/sh -c 'rmdir /var/lib/%s-n/sub && ln -s %s /var/lib/%s-n/sub'", name, name, name, victimDir, name))
	units := writeUnits(t, map[string]string{"links.service": unitText("nobody"), "nested.service": nested})
	m := startManager(t, units)
	c := on(t, m)
	c.start("links.service")
	c.run(0, "stop", "links.service")
	if err := os.WriteFile(filepath.Join(units, "links.service"), []byte(unitText("daemon")), 0o644); err != nil {
		t.Fatal(err)
	}
	c.run(0, "daemon-reload")
	c.run(1, "start", "links.service") // the links are there already: ln fails, the directory is set up first
	owner := func(p string) uint32 {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Uid
	}
	for _, p := range []string{victim, victimDir} {
		if uid := owner(p); uid != 0 {
			t.Errorf("root's %s now belongs to uid %d", p, uid)
		}
	}
	for _, p := range []string{"", "/link", "/dlink", "/d", "/d/l"} {
		if uid := owner("/var/lib/" + name + p); uid != 1 {
			t.Errorf("/var/lib/%s%s belongs to uid %d, want daemon's 1", name, p, uid)
		}
	}

	c.start("nested.service")
	c.run(0, "stop", "nested.service")
	c.run(1, "start", "nested.service")
	c.waitProps("nested.service", map[string]string{"ActiveState": "failed", "Result": "exit-code", "ExecMainStatus": "238"})
	if uid := owner(victimDir); uid != 0 {
		t.Errorf("root's %s now belongs to uid %d", victimDir, uid)
	}
}
