package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flint-init/flint/bench/internal/cgtree"
	"github.com/flint-init/flint/bench/internal/procnet"
)

// manager is flint run or systemd 252 with the chain's units in its unit path.
type manager struct {
	ctl   func(args ...string) error
	close func()
	// triggers (flint only) returns when each chain<k>.service was triggered by its socket,
	// from the manager's "Triggered by" log lines, in unix ns by k.
	triggers func() (map[int]int64, error)
}

// startFlint runs `flint run --units DIR/units --control DIR/control.sock` (none of the chain's
// units is wanted by default.target) and waits for its control socket. wrap, if any, is a
// command that execs flint with the arguments that follow it (cgtree's placement).
func startFlint(flint, dir string, wrap ...string) (*manager, error) {
	control := filepath.Join(dir, "control.sock")
	var out bytes.Buffer
	args := append(append([]string(nil), wrap...), flint, "run", "--no-booted", "--no-journal-sockets", "--units", filepath.Join(dir, "units"), "--control", control)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	deadline := time.Now().Add(10 * time.Second)
	for !procnet.UnixListening(control) {
		select {
		case <-done:
			return nil, fmt.Errorf("flint run exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("flint run: no control socket after 10s: %s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctl := func(args ...string) error {
		out, err := exec.Command(flint, append([]string{"--control", control}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("flint %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	triggers := func() (map[int]int64, error) {
		out, err := exec.Command(flint, "--control", control, "logs", "-o", "json").Output()
		if err != nil {
			return nil, fmt.Errorf("flint logs: %w", err)
		}
		return parseTriggers(out)
	}
	return &manager{ctl: ctl, close: stop, triggers: triggers}, nil
}

// startFlintCgroup is startFlint in a cgroup subtree of its own (cgtree), so that each chain
// service gets system.slice/NAME; the subtree goes when the manager is closed. Manager
// "flint-cgroups".
func startFlintCgroup(flint, dir string) (*manager, error) {
	tree, err := cgtree.New("flint-chain")
	if err != nil {
		return nil, err
	}
	m, err := startFlint(flint, dir, tree.Wrap()...)
	if err != nil {
		tree.Remove()
		return nil, err
	}
	stop := m.close
	m.close = func() { stop(); tree.Remove() }
	return m, nil
}

// startSystemd boots systemd 252 as PID 1 of private namespaces with DIR/units in its unit
// path (scripts/systemd-ns boot); DIR is visible inside at its own path.
func startSystemd(script, dir string) (*manager, error) {
	out, err := exec.Command("bash", script, "boot", dir).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("systemd-ns boot: %v: %s", err, out)
	}
	pid := strings.TrimSpace(string(out))
	if _, err := strconv.Atoi(pid); err != nil {
		return nil, fmt.Errorf("systemd-ns boot printed %q", pid)
	}
	ctl := func(args ...string) error {
		out, err := exec.Command("bash", append([]string{script, "systemctl", pid}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	return &manager{ctl: ctl, close: func() { exec.Command("bash", script, "kill", pid).Run() }}, nil
}

func waitListening(path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !procnet.UnixListening(path) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not listen after %v", path, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// ask connects to service 16 once and checks its answer.
func ask(sock string, timeout time.Duration) error {
	c, err := net.DialTimeout("unix", sock, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if got := strings.TrimSpace(line); got != strconv.Itoa(chainN) {
		return fmt.Errorf("service %d answered %q", chainN, got)
	}
	return nil
}

// askPolling asks until the socket exists and service 16 answers (A: the service creates its
// socket only when it is ready).
func askPolling(sock string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ask(sock, time.Until(deadline))
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer after %v: %w", timeout, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// parseTriggers reads `flint logs -o json` output: the time of each chain<k>.service's
// "Triggered by" line of the manager.
func parseTriggers(out []byte) (map[int]int64, error) {
	trig := map[int]int64{}
	for _, line := range bytes.Split(out, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		// journalctl's JSON: the manager's message about a unit has UNIT=, its time is
		// __REALTIME_TIMESTAMP (µs).
		var e struct {
			Time      string `json:"__REALTIME_TIMESTAMP"`
			Unit      string `json:"UNIT"`
			Text      string `json:"MESSAGE"`
			Transport string `json:"_TRANSPORT"`
		}
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("flint logs: %q: %w", line, err)
		}
		var k int
		if _, err := fmt.Sscanf(e.Unit, "chain%d.service", &k); err != nil || e.Transport != "journal" || !strings.HasPrefix(e.Text, e.Unit+": Triggered by") {
			continue
		}
		usec, err := strconv.ParseInt(e.Time, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("flint logs: %q: %w", line, err)
		}
		trig[k] = usec * 1000
	}
	return trig, nil
}

// splitHops splits the hops of variant C at the trigger: from service k+1's start line (it
// connects to k right after) to the trigger of k, and from there to service k's start line.
// It returns the medians over the hops it can split.
func splitHops(ev events, trig map[int]int64) (toTrigger, fromTrigger time.Duration) {
	var to, from []result
	for k := 1; k < chainN; k++ {
		t, ok1 := trig[k]
		up, ok2 := ev.start[k+1]
		st, ok3 := ev.start[k]
		if !ok1 || !ok2 || !ok3 {
			continue
		}
		to = append(to, result{hop: time.Duration(t - up)})
		from = append(from, result{hop: time.Duration(st - t)})
	}
	if len(to) == 0 {
		return 0, 0
	}
	hop := func(r result) time.Duration { return r.hop }
	return median(to, hop), median(from, hop)
}

// events are the services' start and ready times (unix ns) from chainsvc's log.
type events struct{ start, ready map[int]int64 }

func readLog(path string) (events, error) {
	ev := events{start: map[int]int64{}, ready: map[int]int64{}}
	f, err := os.Open(path)
	if err != nil {
		return ev, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var what string
		var k int
		var ns int64
		if _, err := fmt.Sscanf(sc.Text(), "%s %d %d", &what, &k, &ns); err != nil {
			return ev, fmt.Errorf("%s: bad line %q", path, sc.Text())
		}
		switch what {
		case "start":
			ev.start[k] = ns
		case "ready":
			ev.ready[k] = ns
		}
	}
	return ev, sc.Err()
}

// execFloor is the time from exec.Cmd.Start of chainsvc by this program to the daemon's "start"
// line, the median over n runs: the part of an activation hop that is process creation and the
// daemon's own start (dynamic linking, libc), which no manager can save.
func execFloor(bin, dir string, n int) (time.Duration, error) {
	log := filepath.Join(dir, "floor.log")
	var ds []time.Duration
	for i := 0; i < n; i++ {
		os.Remove(log)
		// k=1 has no upstream; without a socket handed over it logs "start", sleeps -init and exits.
		cmd := exec.Command(bin, "-k", "1", "-dir", dir, "-log", log, "-init", "0s")
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		cmd.Wait()
		ev, err := readLog(log)
		if err != nil {
			return 0, err
		}
		ns, ok := ev.start[1]
		if !ok {
			return 0, fmt.Errorf("%s: no start line", log)
		}
		ds = append(ds, time.Duration(ns-t0.UnixNano()))
	}
	rs := make([]result, len(ds))
	for i, d := range ds {
		rs[i].hop = d
	}
	return median(rs, func(r result) time.Duration { return r.hop }), nil
}
