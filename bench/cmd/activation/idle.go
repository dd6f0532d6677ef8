package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flint-init/flint/bench/internal/procnet"
)

// idleSockets is the number of socket units of the idle part.
const idleSockets = 1000

// idle measures the managers at rest: resident memory with no units started, resident memory
// with idleSockets socket units listening (each a unix stream socket with its own service,
// none started), and the CPU time the manager uses over -idle with those sockets open and no
// traffic (it should be 0: nothing to do, nothing polled by timer). Then, among those
// sockets, the Accept=yes throughput of an echo socket (concurrency 1, -duration): a manager
// whose per-connection work grows with the units it has loaded shows it here.
func (b *bench) idle() {
	empty := b.newRow("manager RSS, no units started", "MiB", false, sideSystemd)
	full := b.newRow(fmt.Sprintf("manager RSS, %d socket units listening", idleSockets), "MiB", false, sideSystemd)
	cpu := b.newRow(fmt.Sprintf("manager CPU time over %v idle with %d sockets", b.idleFor, idleSockets), "ms", false, sideSystemd)
	acc := b.newRow(fmt.Sprintf("Accept=yes connections/s, concurrency 1, among %d socket units", idleSockets), "conn/s", true, sideSystemd)
	for _, side := range []string{sideSystemd, sideRun} {
		e, f, c, a, err := b.idleOne(side)
		b.record(empty, side, e, err)
		b.record(full, side, f, err)
		b.record(cpu, side, c, err)
		b.record(acc, side, a, err)
	}
}

func (b *bench) idleOne(side string) (emptyMiB, fullMiB, cpuMs, acceptRate float64, err error) {
	dir := b.subdir("idle " + side)
	units := filepath.Join(dir, "units")
	socks := filepath.Join(dir, "s")
	for _, d := range []string{units, socks} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	var wants []string
	for i := 0; i < idleSockets; i++ {
		name := fmt.Sprintf("idle%04d", i)
		files := map[string]string{
			name + ".socket":  fmt.Sprintf("[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=%s/%04d.sk\n", socks, i),
			name + ".service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\n",
		}
		for n, text := range files {
			if err := os.WriteFile(filepath.Join(units, n), []byte(text), 0o644); err != nil {
				return 0, 0, 0, 0, err
			}
		}
		wants = append(wants, name+".socket")
	}
	port := portIdleSystemd
	if side == sideRun {
		port = portIdleRun
	}
	echo := map[string]string{
		"echo.socket":   fmt.Sprintf("[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=127.0.0.1:%d\nAccept=yes\nMaxConnections=1024\nTriggerLimitIntervalSec=0\n", port),
		"echo@.service": "[Unit]\nDefaultDependencies=no\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/cat\nStandardInput=socket\n",
	}
	for n, text := range echo {
		if err := os.WriteFile(filepath.Join(units, n), []byte(text), 0o644); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	wants = append(wants, "echo.socket")
	target := "[Unit]\nDescription=idle sockets\nDefaultDependencies=no\nWants=" + strings.Join(wants, " ") + "\n"
	if err := os.WriteFile(filepath.Join(units, "idle.target"), []byte(target), 0o644); err != nil {
		return 0, 0, 0, 0, err
	}
	empty := "[Unit]\nDescription=nothing\nDefaultDependencies=no\n"
	if err := os.WriteFile(filepath.Join(units, "empty.target"), []byte(empty), 0o644); err != nil {
		return 0, 0, 0, 0, err
	}

	// The manager with nothing started.
	pid, stop, err := b.bootIdle(side, dir, "empty.target")
	if err != nil {
		return 0, 0, 0, 0, err
	}
	time.Sleep(time.Second)
	emptyMiB, err = rssMiB(pid)
	stop()
	if err != nil {
		return 0, 0, 0, 0, err
	}

	// The manager with every socket listening.
	pid, stop, err = b.bootIdle(side, dir, "idle.target")
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer stop()
	deadline := time.Now().Add(60 * time.Second)
	for procnet.CountUnixListening(socks+"/") < idleSockets {
		if time.Now().After(deadline) {
			return 0, 0, 0, 0, fmt.Errorf("%d of %d sockets listening after 60s", procnet.CountUnixListening(socks+"/"), idleSockets)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // let the start settle (jobs, logs)
	if fullMiB, err = rssMiB(pid); err != nil {
		return 0, 0, 0, 0, err
	}
	t0, err := cpuTicks(pid)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	time.Sleep(b.idleFor)
	t1, err := cpuTicks(pid)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	// USER_HZ is 100 on Linux: one tick is 10 ms.
	cpuMs = float64(t1-t0) * 10
	addr := loopback(port)
	if err := echoOnce(addr); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("echo.socket among the idle sockets: %w", err)
	}
	ok, failed, took := burst(addr, 1, b.duration)
	if failed > 0 {
		return emptyMiB, fullMiB, cpuMs, 0, fmt.Errorf("echo.socket among the idle sockets: %d connections failed", failed)
	}
	return emptyMiB, fullMiB, cpuMs, float64(ok) / took.Seconds(), nil
}

// bootIdle starts the side's manager with the idle part's units and target as its boot unit
// and returns the manager's pid (as seen from here).
func (b *bench) bootIdle(side, dir, target string) (int, func(), error) {
	units := filepath.Join(dir, "units")
	switch side {
	case sideRun:
		if b.flint == "" {
			return 0, nil, fmt.Errorf("%w: flint not built", errUnavailable)
		}
		p, err := startProc(b.flint, "run", "--no-booted", "--no-journal-sockets", "--units", units, "--control", filepath.Join(dir, "control.sock"), "--target", target)
		if err != nil {
			return 0, nil, err
		}
		if err := waitSocket(p, filepath.Join(dir, "control.sock")); err != nil {
			p.stop()
			return 0, nil, err
		}
		return p.cmd.Process.Pid, func() { p.stop() }, nil
	case sideSystemd:
		out, err := run("bash", b.script, "boot", dir, target)
		if err != nil {
			return 0, nil, err
		}
		pid, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			return 0, nil, fmt.Errorf("systemd-ns boot printed %q", out)
		}
		return pid, func() { run("bash", b.script, "kill", strconv.Itoa(pid)) }, nil
	}
	return 0, nil, fmt.Errorf("no idle test for %s", side)
}

// rssMiB is VmRSS of pid in MiB.
func rssMiB(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// cpuTicks is utime+stime of pid (all its threads) in clock ticks.
func cpuTicks(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// comm may contain spaces: fields start after the last ')'.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return ut + st, nil
}
