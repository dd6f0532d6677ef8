package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/internal/control"
)

// floodVerb makes the test binary a hostile control client (see TestMain):
//
//	e2e.test __e2e_flood CONTROL FOLLOWERS IDLERS
//
// FOLLOWERS goroutines each ask `logs --follow` and hold the stream; IDLERS goroutines, started
// when stdin says "idle", each connect and send nothing (a slow-loris, answered after the
// manager's read timeout). Each connects again at once when its connection ends, and 100 ms
// after a refusal. "report" on stdin is answered with a floodReport on stdout; at the end of
// stdin the process exits, which closes all its connections at once.
const floodVerb = "__e2e_flood"

// floodReport is what the flooder has seen so far.
type floodReport struct {
	Attempts int64            `json:"attempts"` // connections made
	Follows  int64            `json:"follows"`  // follow streams held now
	Refusals map[string]int64 `json:"refusals"` // "code: message" of each refusal -> how many
}

func floodMain(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: __e2e_flood CONTROL FOLLOWERS IDLERS")
		return 2
	}
	control := args[0]
	followers, _ := strconv.Atoi(args[1])
	idlers, _ := strconv.Atoi(args[2])
	var attempts, follows atomic.Int64
	var mu sync.Mutex
	refusals := map[string]int64{}
	// conn holds one connection until it ends; it reports whether it was refused.
	conn := func(request string) (refused bool) {
		c, err := net.Dial("unix", control)
		if err != nil {
			return true // backlog full or the like: as good as a refusal
		}
		defer c.Close()
		attempts.Add(1)
		if request != "" {
			// A write error means a refusal before the manager read: its reply is there
			// all the same.
			c.Write([]byte(request + "\n"))
		}
		br := bufio.NewReader(c)
		line, err := br.ReadBytes('\n')
		if err != nil {
			return false
		}
		var r api.Response
		json.Unmarshal(line, &r)
		if r.Code == "limit" {
			mu.Lock()
			refusals[r.Code+": "+r.Error]++
			mu.Unlock()
			return true
		}
		if r.Error != "" {
			return false // an idler's read timeout
		}
		follows.Add(1)
		defer follows.Add(-1)
		io.Copy(io.Discard, br)
		return false
	}
	loop := func(request string) {
		for {
			if conn(request) {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	for i := 0; i < followers; i++ {
		go loop(`{"verb":"logs","units":["ok.service"],"follow":true}`)
	}
	sc := bufio.NewScanner(os.Stdin)
	enc := json.NewEncoder(os.Stdout)
	for sc.Scan() {
		if sc.Text() == "idle" {
			for i := 0; i < idlers; i++ {
				go loop("")
			}
			continue
		}
		mu.Lock()
		rep := floodReport{Attempts: attempts.Load(), Follows: follows.Load(), Refusals: map[string]int64{}}
		for k, v := range refusals {
			rep.Refusals[k] = v
		}
		mu.Unlock()
		enc.Encode(rep)
	}
	return 0
}

// flooder is a running __e2e_flood process.
type flooder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func (f *flooder) report(t *testing.T) floodReport {
	t.Helper()
	if _, err := io.WriteString(f.stdin, "report\n"); err != nil {
		t.Fatalf("flooder: %v", err)
	}
	line, err := f.out.ReadBytes('\n')
	if err != nil {
		t.Fatalf("flooder report: %v", err)
	}
	var r floodReport
	if err := json.Unmarshal(line, &r); err != nil {
		t.Fatalf("flooder report %q: %v", line, err)
	}
	return r
}

// startFlooder runs the test binary as __e2e_flood under uid/gid nobody with the
// supplementary groups given.
func startFlooder(t *testing.T, control string, followers, idlers int, groups []uint32) *flooder {
	t.Helper()
	bin := copyExecutable(t, selfBin)
	openUp(bin)
	cmd := exec.Command(bin, floodVerb, control, strconv.Itoa(followers), strconv.Itoa(idlers))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobodyUID, Gid: nobodyUID, Groups: groups}}
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
	f := &flooder{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return f
}

// fdCount is the number of open fds of process pid.
func fdCount(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// nofileLimit is the soft and hard RLIMIT_NOFILE of process pid.
func nofileLimit(t *testing.T, pid int) (soft, hard uint64) {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(l, "Max open files")
		if f := strings.Fields(rest); ok && len(f) >= 2 {
			soft, err1 := strconv.ParseUint(f[0], 10, 64)
			hard, err2 := strconv.ParseUint(f[1], 10, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("/proc/%d/limits: %q", pid, l)
			}
			return soft, hard
		}
	}
	t.Fatalf("no Max open files in /proc/%d/limits", pid)
	return 0, 0
}

// ping asks the manager for its overview (as root).
func ping(t *testing.T, control string) api.Overview {
	t.Helper()
	r := rawRequest(t, control, []byte(`{"verb":"ping"}`+"\n"))
	data, _ := json.Marshal(r["data"])
	var ov api.Overview
	if err := json.Unmarshal(data, &ov); err != nil || r["error"] != nil {
		t.Fatalf("ping: %v %v", r, err)
	}
	return ov
}

// TestControlFlood: an unprivileged user who may read logs (nobody in group adm) floods the
// control socket with followed logs and silent connections: it holds no more than its limits,
// gets the documented refusal for the rest, and takes nothing from root: status answers, an
// Accept=yes socket still accepts. When the flooder exits, every fd and goroutine it held is
// released at once (waited for on /proc and the manager's own counts).
func TestControlFlood(t *testing.T) {
	m, c := managerForOtherUIDs(t)
	c.start("echo.socket")
	pid := m.cmd.Process.Pid
	// The manager runs with its soft fd limit raised to the hard one (Go's runtime does it);
	// its services keep systemd's default soft limit of 1024.
	soft, hard := nofileLimit(t, pid)
	svcPID, _ := strconv.Atoi(c.prop("ok.service", "MainPID"))
	if svcSoft, _ := nofileLimit(t, svcPID); soft != hard || svcSoft != 1024 {
		t.Errorf("fd limits: manager %d:%d, service soft %d; want the manager's soft = hard, the service's 1024", soft, hard, svcSoft)
	}
	lim := control.DefaultLimits(soft)
	t.Logf("manager fd limit %d: control limits %+v", soft, lim)
	echoOnce := func() error {
		got, err := echo("127.0.0.1:21530", "ping")
		if err == nil && got != "ping" {
			err = fmt.Errorf("echo answered %q", got)
		}
		return err
	}
	if err := echoOnce(); err != nil { // its instance's fds come and go before the baseline
		t.Fatal(err)
	}
	// The baseline: the Accept=yes instance gone, only this ping's connection held.
	if !waitFor(20*time.Second, func() bool { ov := ping(t, m.control); return ov.Connections == 1 && ov.Jobs == 0 }) {
		t.Fatal("the manager does not settle before the flood")
	}
	baseFDs, baseG := fdCount(t, pid), ping(t, m.control).Goroutines
	start := time.Now()
	if out, code := c.flint("status", "ok.service"); code != 0 {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	t.Logf("baseline: %d fds, %d goroutines; root's flint status answered in %v", baseFDs, baseG, time.Since(start))

	// nobody in group adm: a user who may read logs, so that its follows are served.
	f := startFlooder(t, m.control, 2*lim.FollowsPerUID, lim.PerUID+100, []uint32{groupID(t, "adm")})
	// The flood holds its maximum: every follow it may have, then every connection.
	var ov api.Overview
	if !waitFor(60*time.Second, func() bool { ov = ping(t, m.control); return ov.Follows == lim.FollowsPerUID }) {
		t.Fatalf("the flood does not reach its follow limit: %+v (limits %+v)", ov, lim)
	}
	if _, err := io.WriteString(f.stdin, "idle\n"); err != nil {
		t.Fatal(err)
	}
	if !waitFor(60*time.Second, func() bool {
		ov = ping(t, m.control)
		return ov.Follows == lim.FollowsPerUID && ov.Connections == lim.PerUID+1
	}) {
		t.Fatalf("the flood does not reach its limits: %+v (limits %+v)", ov, lim)
	}
	// It goes on until it has made thousands of connections, all refused but what it holds.
	var rep floodReport
	if !waitFor(120*time.Second, func() bool { rep = f.report(t); return rep.Attempts >= 3000 }) {
		t.Fatalf("the flooder made only %d connections", rep.Attempts)
	}
	ov = ping(t, m.control)
	held := fdCount(t, pid)
	t.Logf("flood holds %d connections, %d follows; manager %d fds, %d goroutines", ov.Connections-1, ov.Follows, held, ov.Goroutines)
	if held > baseFDs+lim.PerUID+8 {
		t.Errorf("manager holds %d fds under the flood, baseline %d + %d allowed to uid %d", held, baseFDs, lim.PerUID, nobodyUID)
	}

	// Root is answered while the flood goes on.
	start = time.Now()
	out, code := c.m.flint("status", "ok.service")
	t.Logf("root's flint status answered in %v under the flood", time.Since(start))
	if code != 0 || !strings.Contains(out, "Active: active (running)") {
		t.Errorf("root's status under the flood: exit %d\n%s", code, out)
	}
	// An Accept=yes socket still accepts (the manager has fds for accept4 and spawning).
	if err := echoOnce(); err != nil {
		t.Errorf("Accept=yes socket under the flood: %v", err)
	}
	// nobody's own CLI is refused, with the limit named (exit 1).
	bin := nobodyFlint(t)
	refusedCLI := false
	for i := 0; i < 20 && !refusedCLI; i++ {
		out, code := flintAsNobody(t, bin, "--control", m.control, "is-active", "ok.service")
		refusedCLI = code == 1 && out == fmt.Sprintf("Too many control connections of uid %d (limit %d per user).\n", nobodyUID, lim.PerUID)
	}
	if !refusedCLI {
		t.Errorf("nobody's flint is-active under the flood was never refused with the per-user limit")
	}
	rep = f.report(t)
	t.Logf("flooder: %d connections made, %d follows held, refusals %v", rep.Attempts, rep.Follows, rep.Refusals)
	for _, want := range []string{
		fmt.Sprintf("limit: Too many followed logs of uid %d (limit %d per user).", nobodyUID, lim.FollowsPerUID),
		fmt.Sprintf("limit: Too many control connections of uid %d (limit %d per user).", nobodyUID, lim.PerUID),
	} {
		if rep.Refusals[want] == 0 {
			t.Errorf("the flooder never got %q", want)
		}
	}
	if rep.Follows != int64(lim.FollowsPerUID) {
		t.Errorf("the flooder holds %d follows, want %d", rep.Follows, lim.FollowsPerUID)
	}

	// The flooder exits: its connections end at once, and with them the manager's fds,
	// follows and goroutines.
	f.stdin.Close()
	if err := f.cmd.Wait(); err != nil {
		t.Fatalf("flooder: %v", err)
	}
	gone := time.Now()
	if !waitFor(20*time.Second, func() bool {
		ov = ping(t, m.control)
		return ov.Connections == 1 && ov.Follows == 0 && fdCount(t, pid) <= baseFDs && ov.Goroutines <= baseG+2
	}) {
		t.Fatalf("20s after the flooder exited: %d fds (baseline %d), %+v (baseline %d goroutines)", fdCount(t, pid), baseFDs, ov, baseG)
	}
	t.Logf("released %v after the flooder exited: %d fds, %d goroutines", time.Since(gone), fdCount(t, pid), ov.Goroutines)
}

// groupID is the gid of the group name (from /etc/group).
func groupID(t *testing.T, name string) uint32 {
	t.Helper()
	g, err := user.LookupGroup(name)
	if err != nil {
		t.Fatal(err)
	}
	id, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(id)
}
