// Command scale measures how flint's costs grow with the number of loaded units, side by side
// with systemd 252 (booted in private namespaces by scripts/systemd-ns), for each N:
//
//   - start: `start idle.target` (blocking) with N socket units wanted by the target, each with
//     its own service, none started; the time until the job is done and every socket listens;
//   - reload: one daemon-reload of the N unchanged units;
//   - memory: resident memory per socket+service pair, (RSS with the N listening − RSS with
//     nothing started) / N;
//   - cold activation among N: connect → first byte of the echo, the median over -cold sockets
//     of the N, each activated once (foobard, examples/foobar/server.c);
//   - Accept=yes connections/s among N: /bin/cat per connection at concurrency 1 over -duration.
//
// and prints a Markdown table with flint's ratio to systemd per figure, then a second one with
// each manager's cold activation and Accept=yes rate among N against the same among -base
// (10) units: work per activation that grows with the loaded units shows there. Those are
// measured interleaved: -rounds times a manager of the same kind among -base units is booted
// next to the one among N, and the two take turns (one cold activation each, -cold times; an
// Accept=yes slice each, four times), so that the machine's load weighs on both alike; the
// cold figure is the median of all rounds, and the notes under the table give each round's
// median, which shows the noise. With -alternate the managers alternate per N (flint,
// systemd, then systemd, flint at the next N) so that a drifting load weighs on both.
//
//	go run ./bench/cmd/scale [-n 1000,3000,10000] [-base 10] [-managers flint,systemd] [-flint bin/flint]
//
// Run it as root from the repository root; ports 22600-22603 must be free.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flint-init/flint/bench/internal/procnet"
)

const (
	portFlint   = 22600
	portSystemd = 22601
)

// usr2 and usr2Accept are the -usr2 and -usr2-accept flags.
var usr2, usr2Accept bool

// figures are one manager's measurements at one N.
type figures struct {
	start, reload, cold time.Duration
	kbPerUnit, accept   float64
	cpuPerConn          float64 // the manager's CPU time per Accept=yes connection, ms
	startCPU, reloadCPU float64 // the manager's CPU time for the start and the reload, ms
	pair                *paired // with -base: the activation figures against a base manager, interleaved
}

// paired are the activation figures of one manager among N and of a manager of the same kind
// among -base units, measured interleaved (-rounds): each round boots a base manager next to
// the running one, then alternates a cold activation of each and Accept=yes slices of each,
// so that the load of the machine weighs on both alike.
type paired struct {
	rounds           int
	coldN, coldBase  []time.Duration // every cold activation, for medians
	connN, connBase  int             // Accept=yes connections
	secsN, secsBase  float64         // time spent on them
	cpuN, cpuBase    float64         // the managers' CPU time for them, ms
	spreadN, spreadB []float64       // per round: the median cold activation, ms (the spread shows the noise)
}

func main() {
	ns := flag.String("n", "1000,3000,10000", "numbers of socket units")
	managers := flag.String("managers", "flint,systemd", "managers: flint, systemd")
	flintPath := flag.String("flint", "", "flint binary (default: CGO_ENABLED=0 go build ./cmd/flint)")
	script := flag.String("systemd-ns", "scripts/systemd-ns", "script that boots systemd in private namespaces")
	cold := flag.Int("cold", 7, "cold activations per N (each of a different socket)")
	duration := flag.Duration("duration", 2*time.Second, "Accept=yes measuring time")
	base := flag.Int("base", 10, "the small N the activation figures among N are compared with (0: none)")
	alternate := flag.Bool("alternate", true, "alternate which manager goes first from one N to the next")
	rounds := flag.Int("rounds", 3, "with -base: rounds of the interleaved comparison of activations among N with among -base (a fresh base manager each)")
	settle := flag.Duration("settle", 3*time.Second, "pause after each manager's end (the kernel's teardown of its sockets)")
	flag.BoolVar(&usr2Accept, "usr2-accept", false, "send flint SIGUSR2 before and after the Accept=yes phase (FLINT_CPUPROFILE_USR2=FILE: a CPU profile of that phase)")
	flag.BoolVar(&usr2, "usr2", false, "send flint SIGUSR2 once the N sockets listen and the RSS is read (a -tags flintprof build with FLINT_HEAPPROFILE=FILE in the environment writes its live heap then)")
	flag.Parse()
	if os.Getuid() != 0 {
		fail("run as root")
	}
	work, err := os.MkdirTemp(defaultParent(), "flint-scale-")
	if err != nil {
		fail(err.Error())
	}
	defer os.RemoveAll(work)
	if *flintPath == "" {
		*flintPath = filepath.Join(work, "flint")
		cmd := exec.Command("go", "build", "-o", *flintPath, "./cmd/flint")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fail(fmt.Sprintf("build flint: %v: %s", err, out))
		}
	}
	foobard := filepath.Join(work, "foobard")
	if out, err := exec.Command("gcc", "-O2", "-o", foobard, "examples/foobar/server.c", "-lsystemd").CombinedOutput(); err != nil {
		fail(fmt.Sprintf("build foobard (apt-get install gcc libsystemd-dev): %v: %s", err, out))
	}
	var counts []int
	for _, s := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < *cold {
			fail(fmt.Sprintf("-n: bad count %q (at least -cold)", s))
		}
		counts = append(counts, n)
	}
	runs := counts
	if *base > 0 && !slices.Contains(counts, *base) {
		if *base < *cold {
			fail("-base: at least -cold")
		}
		runs = append([]int{*base}, counts...)
	}
	res := map[string]map[int]figures{}
	sides := strings.Split(*managers, ",")
	for i, n := range runs {
		order := slices.Clone(sides)
		if *alternate && i%2 == 1 {
			slices.Reverse(order)
		}
		for _, m := range order {
			dir := filepath.Join(work, fmt.Sprintf("%s-%d", m, n))
			pairBase := 0
			if *base > 0 && n != *base && *rounds > 0 {
				pairBase = *base
			}
			f, err := measure(m, dir, n, *cold, *duration, *flintPath, *script, foobard, pairBase, *rounds)
			time.Sleep(*settle)
			if err != nil {
				fmt.Fprintf(os.Stderr, "scale: %s, N=%d: %v\n", m, n, err)
				continue
			}
			if res[m] == nil {
				res[m] = map[int]figures{}
			}
			res[m][n] = f
			fmt.Fprintf(os.Stderr, "scale: %s N=%d: start %v reload %v %.1f KB/unit cold %v accept %.0f/s, %.3f ms CPU each; CPU start %.0f ms reload %.0f ms\n",
				m, n, f.start.Round(time.Millisecond), f.reload.Round(time.Millisecond), f.kbPerUnit, f.cold.Round(10*time.Microsecond), f.accept, f.cpuPerConn, f.startCPU, f.reloadCPU)
		}
	}
	printTable(counts, res)
	if *base > 0 {
		fmt.Println()
		printBase(counts, *base, sides, res)
	}
	fmt.Println()
	fmt.Println("| N | manager CPU for the start: flint / systemd | manager CPU for the daemon-reload: flint / systemd |")
	fmt.Println("|---:|---|---|")
	for _, n := range counts {
		fl, sd := res["flint"][n], res["systemd"][n]
		fmt.Printf("| %d | %.0f / %.0f ms | %.0f / %.0f ms |\n", n, fl.startCPU, sd.startCPU, fl.reloadCPU, sd.reloadCPU)
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "scale:", msg)
	os.Exit(1)
}

// defaultParent is /dev/shm when it is a tmpfs (socket units live on tmpfs as under /run),
// else the temporary directory.
func defaultParent() string {
	var st syscall.Statfs_t
	if syscall.Statfs("/dev/shm", &st) == nil && st.Type == 0x01021994 {
		return "/dev/shm"
	}
	return os.TempDir()
}

// writeUnits writes N socket units (idleNNNNN.socket, Accept=no, the seed example's echo
// server as the service) wanted by idle.target, the Accept=yes probe on port, and
// empty.target, the boot unit with nothing in it.
func writeUnits(dir string, n, port int, foobard string) error {
	units, socks := filepath.Join(dir, "units"), filepath.Join(dir, "s")
	for _, d := range []string{units, socks} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	var wants strings.Builder
	service := fmt.Sprintf("[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=%s\n", foobard)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("idle%05d", i)
		sock := fmt.Sprintf("[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=%s/%05d.sk\n", socks, i)
		if err := os.WriteFile(filepath.Join(units, name+".socket"), []byte(sock), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(units, name+".service"), []byte(service), 0o644); err != nil {
			return err
		}
		wants.WriteString(" " + name + ".socket")
	}
	files := map[string]string{
		"probe.socket":   fmt.Sprintf("[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=127.0.0.1:%d\nAccept=yes\nMaxConnections=1024\nTriggerLimitIntervalSec=0\n", port),
		"probe@.service": "[Unit]\nDefaultDependencies=no\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/cat\nStandardInput=socket\n",
		"idle.target":    "[Unit]\nDefaultDependencies=no\nWants=probe.socket" + wants.String() + "\n",
		"empty.target":   "[Unit]\nDefaultDependencies=no\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(units, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// manager is a booted flint run or systemd: its pid as seen here, a control command and stop.
type manager struct {
	pid  int
	ctl  func(args ...string) error
	stop func()
}

func boot(side, dir, flint, script string) (*manager, error) {
	switch side {
	case "flint":
		control := filepath.Join(dir, "control.sock")
		cmd := exec.Command(flint, "run", "--no-booted", "--no-journal-sockets", "--units", filepath.Join(dir, "units"),
			"--control", control, "--target", "empty.target")
		log, err := os.Create(filepath.Join(dir, "flint.log"))
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); log.Close(); close(done) }()
		stop := func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-done
			}
		}
		ctl := func(args ...string) error {
			out, err := exec.Command(flint, append([]string{"--control", control}, args...)...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("flint %s: %v: %s", strings.Join(args, " "), err, out)
			}
			return nil
		}
		for deadline := time.Now().Add(10 * time.Second); ctl("is-active", "empty.target") != nil; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				stop()
				return nil, fmt.Errorf("flint run does not answer after 10s (%s)", filepath.Join(dir, "flint.log"))
			}
		}
		return &manager{pid: cmd.Process.Pid, ctl: ctl, stop: stop}, nil
	case "systemd":
		out, err := exec.Command("bash", script, "boot", dir, "empty.target").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("systemd-ns boot: %v: %s", err, out)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			return nil, fmt.Errorf("systemd-ns boot printed %q", out)
		}
		ctl := func(args ...string) error {
			out, err := exec.Command("bash", append([]string{script, "systemctl", strconv.Itoa(pid)}, args...)...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, out)
			}
			return nil
		}
		for deadline := time.Now().Add(30 * time.Second); ctl("is-active", "empty.target") != nil; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				exec.Command("bash", script, "kill", strconv.Itoa(pid)).Run()
				return nil, fmt.Errorf("systemd does not answer after 30s")
			}
		}
		return &manager{pid: pid, ctl: ctl, stop: func() { exec.Command("bash", script, "kill", strconv.Itoa(pid)).Run() }}, nil
	}
	return nil, fmt.Errorf("no manager %q", side)
}

func measure(side, dir string, n, cold int, duration time.Duration, flint, script, foobard string, pairBase, rounds int) (f figures, err error) {
	port := portFlint
	if side == "systemd" {
		port = portSystemd
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f, err
	}
	// foobard inside the work directory: visible in systemd's namespace at the same path.
	local := filepath.Join(dir, "foobard")
	if out, err := exec.Command("cp", foobard, local).CombinedOutput(); err != nil {
		return f, fmt.Errorf("cp: %v: %s", err, out)
	}
	if err := writeUnits(dir, n, port, local); err != nil {
		return f, err
	}
	m, err := boot(side, dir, flint, script)
	if err != nil {
		return f, err
	}
	defer m.stop()
	time.Sleep(500 * time.Millisecond) // let the boot settle before the empty RSS
	empty, err := rssKB(m.pid)
	if err != nil {
		return f, err
	}
	c0, err := cpuMS(m.pid)
	if err != nil {
		return f, err
	}
	t0 := time.Now()
	if err := m.ctl("start", "idle.target"); err != nil {
		return f, err
	}
	socks := filepath.Join(dir, "s") + "/"
	for procnet.CountUnixListening(socks) < n {
		if time.Since(t0) > 5*time.Minute {
			return f, fmt.Errorf("%d of %d sockets listening after 5 minutes", procnet.CountUnixListening(socks), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.start = time.Since(t0)
	c1, err := cpuMS(m.pid)
	if err != nil {
		return f, err
	}
	f.startCPU = c1 - c0
	time.Sleep(time.Second) // jobs and logs settle
	full, err := rssKB(m.pid)
	if err != nil {
		return f, err
	}
	f.kbPerUnit = float64(full-empty) / float64(n)
	if usr2 && side == "flint" {
		syscall.Kill(m.pid, syscall.SIGUSR2)
		time.Sleep(2 * time.Second) // the collection and the profile's write
	}
	c0, _ = cpuMS(m.pid)
	t0 = time.Now()
	if err := m.ctl("daemon-reload"); err != nil {
		return f, err
	}
	f.reload = time.Since(t0)
	c1, _ = cpuMS(m.pid)
	f.reloadCPU = c1 - c0
	var ds []time.Duration
	for k := 0; k < cold; k++ {
		i := k * (n / cold)
		d, err := firstByte(filepath.Join(dir, "s", fmt.Sprintf("%05d.sk", i)), 10*time.Second)
		if err != nil {
			return f, fmt.Errorf("cold activation of idle%05d: %w", i, err)
		}
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	f.cold = ds[len(ds)/2]
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var ok int
	cpu0, err := cpuMS(m.pid)
	if err != nil {
		return f, err
	}
	if usr2Accept && side == "flint" {
		syscall.Kill(m.pid, syscall.SIGUSR2)
		time.Sleep(100 * time.Millisecond)
	}
	end := time.Now().Add(duration)
	t0 = time.Now()
	for time.Now().Before(end) {
		if err := echoOnce(addr); err != nil {
			return f, fmt.Errorf("Accept=yes probe: %w", err)
		}
		ok++
	}
	f.accept = float64(ok) / time.Since(t0).Seconds()
	if usr2Accept && side == "flint" {
		syscall.Kill(m.pid, syscall.SIGUSR2)
		time.Sleep(time.Second) // the profile's write
	}
	cpu1, err := cpuMS(m.pid)
	if err != nil {
		return f, err
	}
	f.cpuPerConn = (cpu1 - cpu0) / float64(ok)
	if pairBase > 0 {
		p, err := interleave(side, dir, m, n, port, cold, duration, flint, script, foobard, pairBase, rounds)
		if err != nil {
			return f, fmt.Errorf("interleaved with %d: %w", pairBase, err)
		}
		f.pair = p
	}
	return f, nil
}

// interleave measures activations on m (N units, running in dir) against fresh managers of
// the same kind among base units, alternating between the two (paired). The sockets of m
// activated here are ones the plain measurement left cold.
func interleave(side, dir string, m *manager, n, port, cold int, duration time.Duration, flint, script, foobard string, base, rounds int) (*paired, error) {
	p := &paired{rounds: rounds}
	basePort := port + 2
	perRound := min(cold, base)
	slices := 4
	if n/cold/(rounds+1) == 0 {
		return nil, fmt.Errorf("N=%d: fewer sockets than -cold × (-rounds + 1)", n)
	}
	for r := 0; r < rounds; r++ {
		bdir := filepath.Join(dir, fmt.Sprintf("base%d", r))
		if err := os.MkdirAll(bdir, 0o755); err != nil {
			return nil, err
		}
		local := filepath.Join(bdir, "foobard")
		if out, err := exec.Command("cp", foobard, local).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("cp: %v: %s", err, out)
		}
		if err := writeUnits(bdir, base, basePort, local); err != nil {
			return nil, err
		}
		bm, err := boot(side, bdir, flint, script)
		if err != nil {
			return nil, err
		}
		err = func() error {
			defer bm.stop()
			if err := bm.ctl("start", "idle.target"); err != nil {
				return err
			}
			bsocks := filepath.Join(bdir, "s") + "/"
			for t0 := time.Now(); procnet.CountUnixListening(bsocks) < base; time.Sleep(5 * time.Millisecond) {
				if time.Since(t0) > time.Minute {
					return fmt.Errorf("base manager: %d of %d sockets listening", procnet.CountUnixListening(bsocks), base)
				}
			}
			time.Sleep(500 * time.Millisecond)
			var rn, rb []time.Duration
			for k := 0; k < perRound; k++ {
				i := pairedSocket(n, cold, rounds, r, k)
				d, err := firstByte(filepath.Join(dir, "s", fmt.Sprintf("%05d.sk", i)), 10*time.Second)
				if err != nil {
					return fmt.Errorf("cold activation of idle%05d: %w", i, err)
				}
				rn = append(rn, d)
				d, err = firstByte(filepath.Join(bdir, "s", fmt.Sprintf("%05d.sk", k)), 10*time.Second)
				if err != nil {
					return fmt.Errorf("base: cold activation of idle%05d: %w", k, err)
				}
				rb = append(rb, d)
			}
			p.coldN, p.coldBase = append(p.coldN, rn...), append(p.coldBase, rb...)
			p.spreadN, p.spreadB = append(p.spreadN, ms(median(rn))), append(p.spreadB, ms(median(rb)))
			for sl := 0; sl < slices; sl++ {
				c, secs, cpu, err := acceptFor(m.pid, fmt.Sprintf("127.0.0.1:%d", port), duration/time.Duration(slices))
				if err != nil {
					return err
				}
				p.connN, p.secsN, p.cpuN = p.connN+c, p.secsN+secs, p.cpuN+cpu
				c, secs, cpu, err = acceptFor(bm.pid, fmt.Sprintf("127.0.0.1:%d", basePort), duration/time.Duration(slices))
				if err != nil {
					return fmt.Errorf("base: %w", err)
				}
				p.connBase, p.secsBase, p.cpuBase = p.connBase+c, p.secsBase+secs, p.cpuBase+cpu
			}
			return nil
		}()
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// pairedSocket is the index of the k-th socket among n activated in round r of interleave:
// the plain measurement took sockets k*(n/cold) for k < cold; these are between them, a
// different one for each round, so that each activation is a cold one.
func pairedSocket(n, cold, rounds, r, k int) int {
	gap := n / cold
	return k*gap + (r+1)*(gap/(rounds+1))
}

// acceptFor makes Accept=yes connections to addr one after the other for d: how many, the
// time they took (s) and the manager's CPU time meanwhile (ms).
func acceptFor(pid int, addr string, d time.Duration) (n int, secs, cpu float64, err error) {
	c0, err := cpuMS(pid)
	if err != nil {
		return 0, 0, 0, err
	}
	t0 := time.Now()
	for end := t0.Add(d); time.Now().Before(end); n++ {
		if err := echoOnce(addr); err != nil {
			return 0, 0, 0, fmt.Errorf("Accept=yes probe: %w", err)
		}
	}
	secs = time.Since(t0).Seconds()
	c1, err := cpuMS(pid)
	if err != nil {
		return 0, 0, 0, err
	}
	return n, secs, c1 - c0, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpuMS is the process's user and system time so far (its threads'; not its children's), ms.
func cpuMS(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	// The fields after the command name (which may hold spaces) in its parentheses.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return (ut + st) * 1000 / 100, nil // USER_HZ is 100 on Linux
}

// firstByte connects, sends a line and times the first byte of the echo.
func firstByte(sock string, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	c, err := net.DialTimeout("unix", sock, timeout)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(start.Add(timeout))
	if _, err := c.Write([]byte("x\n")); err != nil {
		return 0, err
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// echoOnce sends a line through /bin/cat behind an Accept=yes socket and reads it back.
func echoOnce(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "ping\n" {
		return fmt.Errorf("echo answered %q", line)
	}
	return nil
}

func rssKB(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func printTable(counts []int, res map[string]map[int]figures) {
	fmt.Println("| N | start, all listening: flint / systemd | daemon-reload: flint / systemd | RSS per pair: flint / systemd | cold activation among N: flint / systemd | Accept=yes conn/s among N: flint / systemd |")
	fmt.Println("|---:|---|---|---|---|---|")
	for _, n := range counts {
		fl, okF := res["flint"][n]
		sd, okS := res["systemd"][n]
		// The ratio is flint's figure over systemd's, whichever way is better.
		cell := func(a, b float64, unit string) string {
			switch {
			case okF && okS:
				return fmt.Sprintf("%.4g / %.4g %s (%.2f×)", a, b, unit, a/b)
			case okF:
				return fmt.Sprintf("%.4g / n/a %s", a, unit)
			case okS:
				return fmt.Sprintf("n/a / %.4g %s", b, unit)
			}
			return "n/a"
		}
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		fmt.Printf("| %d | %s | %s | %s | %s | %s |\n", n,
			cell(ms(fl.start), ms(sd.start), "ms"),
			cell(ms(fl.reload), ms(sd.reload), "ms"),
			cell(fl.kbPerUnit, sd.kbPerUnit, "KB"),
			cell(ms(fl.cold), ms(sd.cold), "ms"),
			cell(fl.accept, sd.accept, "/s"))
	}
}

// printBase prints each manager's activation figures among N against those among base units:
// with -rounds, the interleaved ones (paired); else the separate run among base.
func printBase(counts []int, base int, sides []string, res map[string]map[int]figures) {
	fmt.Printf("| N | side | cold activation among N / among %d | ratio | Accept=yes conn/s among N / among %d | ratio | manager CPU per connection among N / among %d | ratio |\n", base, base, base)
	fmt.Println("|---:|---|---|---:|---|---:|---|---:|")
	var notes []string
	for _, n := range counts {
		for _, side := range sides {
			f, ok := res[side][n]
			if ok && f.pair != nil {
				p := f.pair
				cn, cb := ms(median(p.coldN)), ms(median(p.coldBase))
				an, ab := float64(p.connN)/p.secsN, float64(p.connBase)/p.secsBase
				un, ub := p.cpuN/float64(p.connN), p.cpuBase/float64(p.connBase)
				fmt.Printf("| %d | %s | %.4g / %.4g ms | %.2f× | %.4g / %.4g /s | %.2f× | %.3g / %.3g ms | %.2f× |\n", n, side,
					cn, cb, cn/cb, an, ab, an/ab, un, ub, un/ub)
				notes = append(notes, fmt.Sprintf("%s N=%d: interleaved, %d rounds of %d cold activations each (medians per round among N: %s ms; among %d: %s ms), %d / %d connections",
					side, n, p.rounds, len(p.coldN)/p.rounds, fmtList(p.spreadN), base, fmtList(p.spreadB), p.connN, p.connBase))
				continue
			}
			b, okB := res[side][base]
			if !ok || !okB {
				fmt.Printf("| %d | %s | n/a | | n/a | | n/a | |\n", n, side)
				continue
			}
			fmt.Printf("| %d | %s | %.4g / %.4g ms | %.2f× | %.4g / %.4g /s | %.2f× | %.3g / %.3g ms | %.2f× |\n", n, side,
				ms(f.cold), ms(b.cold), ms(f.cold)/ms(b.cold), f.accept, b.accept, f.accept/b.accept,
				f.cpuPerConn, b.cpuPerConn, f.cpuPerConn/b.cpuPerConn)
		}
	}
	if len(notes) > 0 {
		fmt.Println()
		for _, n := range notes {
			fmt.Println("-", n)
		}
	}
}

func fmtList(xs []float64) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, strconv.FormatFloat(x, 'g', 3, 64))
	}
	return strings.Join(parts, ", ")
}
