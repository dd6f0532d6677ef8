// Command chain is issue 4's headline as a benchmark: 16 services, each needing -init (300 ms)
// before it can answer, service k connecting to service k-1 while it starts
// (testdata/chainsvc.c, the protocol of test/e2e/testdata/chainsvc in C). It times three variants on flint run and on systemd 252 (booted
// in private namespaces by scripts/systemd-ns), alternating the managers in one run:
//
//	A  Type=notify services ordered with Requires=/After=, no socket units (serial by construction)
//	B  a socket unit per service; a target starts every socket and every service
//	C  only the sockets are started; a client's connection to service 16 activates the chain
//
// The time is from issuing `start --no-block chain.target` (A, B) or from the client's connect
// (C) until service 16's answer arrives. The services' own start/ready log gives the spread of
// their starts; in C the mean gap between consecutive starts is the cost of one activation hop
// (connect -> manager -> fork/exec -> the daemon's first line of main).
//
//	go run ./bench/cmd/chain [-runs 5] [-variants A,B,C] [-managers flint,systemd] [-flint bin/flint]
//
// Run it as root from the repository root; it builds flint and chainsvc itself.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

const chainN = 16

func main() {
	runs := flag.Int("runs", 5, "runs per variant and manager (the median is reported)")
	initTime := flag.Duration("init", 300*time.Millisecond, "time each service needs before it can answer")
	variants := flag.String("variants", "A,B,C", "variants to run")
	managers := flag.String("managers", "flint,systemd", "managers to run: flint, flint-cgroups (flint in a cgroup subtree of its own), systemd")
	flintPath := flag.String("flint", "", "flint binary (default: CGO_ENABLED=0 go build ./cmd/flint, as README builds it)")
	static := flag.Bool("static", false, "build chainsvc statically without libsystemd (sd_listen_fds and sd_notify written out): no dynamic loader in a hop")
	script := flag.String("systemd-ns", "scripts/systemd-ns", "script that boots systemd in private namespaces")
	parent := flag.String("work", "", "where the work directory (units, sockets, logs) is made (default: /dev/shm if it is a tmpfs, as /run is where socket units' sockets live, else $TMPDIR)")
	flag.Parse()
	if os.Getuid() != 0 {
		fmt.Fprintln(os.Stderr, "chain: run as root")
		os.Exit(1)
	}
	if *parent == "" {
		*parent = defaultWorkParent()
	}
	work, err := os.MkdirTemp(*parent, "flint-chain-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chain:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(work)
	b := &bench{work: work, init: *initTime, script: *script, flint: *flintPath,
		chainsvc: filepath.Join(work, "chainsvc"), static: *static}
	if err := b.build(); err != nil {
		fmt.Fprintln(os.Stderr, "chain:", err)
		os.RemoveAll(work)
		os.Exit(1)
	}
	vs := splitList(*variants)
	ms := splitList(*managers)
	res := map[string][]result{} // key variant/manager
	var failed bool
	for i := 0; i < *runs; i++ {
		for _, v := range vs {
			for _, m := range ms {
				r, err := b.once(m, v, i)
				if err != nil {
					fmt.Fprintf(os.Stderr, "chain: %s on %s, run %d: %v\n", v, m, i+1, err)
					failed = true
					continue
				}
				hop := ""
				if v == "C" {
					hop = fmt.Sprintf(", hop %v", r.hop.Round(10*time.Microsecond))
				}
				fmt.Fprintf(os.Stderr, "chain: %s on %-7s run %d: %v (first start +%v, starts spread %v%s)\n",
					v, m, i+1, r.total.Round(time.Millisecond), r.first.Round(100*time.Microsecond), r.spread.Round(time.Millisecond), hop)
				res[v+"/"+m] = append(res[v+"/"+m], r)
			}
		}
	}
	floor, err := execFloor(b.chainsvc, work, 31)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chain: exec floor:", err)
		failed = true
	}
	b.print(vs, ms, res, *runs, floor)
	if failed {
		os.RemoveAll(work) // os.Exit skips the deferred removal
		os.Exit(1)
	}
}

// defaultWorkParent is /dev/shm when it is a tmpfs, else os.TempDir(). The sockets of real
// socket units are in /run, a tmpfs; on a disk file system (this machine's /tmp is ext4) each
// bind of a unix socket creates an inode there, and ext4 scans past recently deleted inodes
// before it finds one, which the bench would measure instead of the manager.
func defaultWorkParent() string {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Type == 0x01021994 { // TMPFS_MAGIC
		return "/dev/shm"
	}
	return os.TempDir()
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

type bench struct {
	work, script, flint, chainsvc string
	init                          time.Duration
	static                        bool // chainsvc without libsystemd, statically linked
}

func (b *bench) build() error {
	// The daemon is C (the protocol of test/e2e/testdata/chainsvc): a Go daemon's runtime
	// start-up made up most of each activation hop.
	args := []string{"-O2", "-Wall", "-o", b.chainsvc, "bench/cmd/chain/testdata/chainsvc.c", "-lsystemd"}
	if b.static {
		args = []string{"-O2", "-Wall", "-static", "-DCHAINSVC_NO_LIBSYSTEMD", "-o", b.chainsvc, "bench/cmd/chain/testdata/chainsvc.c"}
	}
	if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("build chainsvc (run from the repository root; needs gcc and libsystemd-dev): %v: %s", err, out)
	}
	if b.flint == "" {
		b.flint = filepath.Join(b.work, "flint")
		if out, err := exec.Command("env", "CGO_ENABLED=0", "go", "build", "-o", b.flint, "./cmd/flint").CombinedOutput(); err != nil {
			return fmt.Errorf("build flint: %v: %s", err, out)
		}
	}
	return nil
}

// result is one timed run.
type result struct {
	total  time.Duration // start command (A, B) or connect (C) -> service 16's answer
	spread time.Duration // first service start -> last service start
	first  time.Duration // start command (A, B) or connect (C) -> the first service's start line
	ctl    time.Duration // A, B: until the start command returned (it runs --no-block)
	hop    time.Duration // mean gap between consecutive starts along the chain 16 -> 1 (C)
	// flint, C: the hop split at flint's "Triggered by" log line, medians over the 15 hops.
	toTrigger   time.Duration // service k+1's start line (it connects next) -> trigger of k
	fromTrigger time.Duration // trigger of k -> service k's start line (spawn, exec, the daemon's start)
}

// once boots a fresh manager, writes the variant's units, times it and stops the manager.
func (b *bench) once(mgr, variant string, i int) (result, error) {
	dir := filepath.Join(b.work, fmt.Sprintf("%s-%s-%d", variant, mgr, i))
	units := filepath.Join(dir, "units")
	log := filepath.Join(dir, "events.log")
	// Only dir is visible inside systemd's namespaces: the daemon lives there too.
	bin := filepath.Join(dir, "chainsvc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return result{}, err
	}
	if err := os.Link(b.chainsvc, bin); err != nil {
		return result{}, err
	}
	if err := writeUnits(units, variant, bin, dir, log, b.init); err != nil {
		return result{}, err
	}
	var m *manager
	var err error
	switch mgr {
	case "flint":
		m, err = startFlint(b.flint, dir)
	case "flint-cgroups":
		m, err = startFlintCgroup(b.flint, dir)
	case "systemd":
		m, err = startSystemd(b.script, dir)
	default:
		err = fmt.Errorf("unknown manager %q", mgr)
	}
	if err != nil {
		return result{}, err
	}
	defer m.close()
	sock16 := filepath.Join(dir, fmt.Sprintf("s%d.sk", chainN))
	var total, ctl time.Duration
	var t0 time.Time
	if variant == "C" {
		if err := m.ctl("start", "chain.target"); err != nil {
			return result{}, err
		}
		if err := waitListening(sock16, 10*time.Second); err != nil {
			return result{}, err
		}
		if _, err := os.Stat(log); err == nil {
			return result{}, errors.New("a service started before the first connection")
		}
		t0 = time.Now()
		if err := ask(sock16, 30*time.Second); err != nil {
			return result{}, err
		}
		total = time.Since(t0)
	} else {
		t0 = time.Now()
		if err := m.ctl("start", "--no-block", "chain.target"); err != nil {
			return result{}, err
		}
		ctl = time.Since(t0)
		if err := askPolling(sock16, 30*time.Second); err != nil {
			return result{}, err
		}
		total = time.Since(t0)
	}
	ev, err := readLog(log)
	if err != nil {
		return result{}, err
	}
	if len(ev.start) != chainN || len(ev.ready) != chainN {
		return result{}, fmt.Errorf("%d services started, %d ready; want %d each", len(ev.start), len(ev.ready), chainN)
	}
	r := result{total: total, ctl: ctl}
	var starts []int64
	for k := 1; k <= chainN; k++ {
		starts = append(starts, ev.start[k])
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	r.spread = time.Duration(starts[chainN-1] - starts[0])
	r.first = time.Duration(starts[0] - t0.UnixNano())
	r.hop = time.Duration(ev.start[1]-ev.start[chainN]) / (chainN - 1)
	if variant == "C" && m.triggers != nil {
		trig, err := m.triggers()
		if err != nil {
			return result{}, err
		}
		r.toTrigger, r.fromTrigger = splitHops(ev, trig)
	}
	return r, nil
}

// writeUnits writes the 16 services (and sockets) of a variant and chain.target, as
// test/e2e/parallel_test.go does, with DefaultDependencies=no so that both managers start
// exactly these units.
func writeUnits(units, variant, bin, dir, log string, init time.Duration) error {
	files := map[string]string{}
	var all []string
	for k := 1; k <= chainN; k++ {
		name := fmt.Sprintf("chain%d", k)
		svc := fmt.Sprintf("[Unit]\nDescription=chain %d\nDefaultDependencies=no\n", k)
		args := fmt.Sprintf("%s -k %d -dir %s -log %s -init %s", bin, k, dir, log, init)
		switch variant {
		case "A":
			if k > 1 {
				svc += fmt.Sprintf("Requires=chain%d.service\nAfter=chain%d.service\n", k-1, k-1)
			}
			svc += "[Service]\nType=notify\nExecStart=" + args + " -listen\n"
			all = append(all, name+".service")
		case "B", "C":
			files[name+".socket"] = fmt.Sprintf("[Unit]\nDescription=chain %d socket\nDefaultDependencies=no\n[Socket]\nListenStream=%s/s%d.sk\n", k, dir, k)
			svc += "[Service]\nExecStart=" + args + "\n"
			all = append(all, name+".socket")
			if variant == "B" {
				all = append(all, name+".service")
			}
		default:
			return fmt.Errorf("unknown variant %q", variant)
		}
		files[name+".service"] = svc
	}
	files["chain.target"] = "[Unit]\nDescription=chain\nDefaultDependencies=no\nWants=" + strings.Join(all, " ") + "\n"
	if err := os.MkdirAll(units, 0o755); err != nil {
		return err
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(units, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) print(vs, ms []string, res map[string][]result, runs int, floor time.Duration) {
	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("%s, %s, kernel %s, %d CPUs, load %s; %d services, -init %v, median of %d runs\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), host, strings.TrimSpace(string(kernel)),
		runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "), chainN, b.init, runs)
	names := map[string]string{"flint": "flint run", "flint-cgroups": "flint run, cgroups", "systemd": "systemd 252"}
	fmt.Print("| variant | expected |")
	sep := "|---|---|"
	for _, m := range ms {
		fmt.Printf(" %s | ÷ %v |", names[m], b.init)
		sep += "---:|---:|"
	}
	if len(ms) == 2 {
		fmt.Print(" flint ÷ systemd |")
		sep += "---:|"
	}
	fmt.Println()
	fmt.Println(sep)
	desc := map[string]string{
		"A": "A: Type=notify, Requires=/After=",
		"B": "B: sockets + services started by a target",
		"C": "C: sockets only, first connection",
	}
	expect := map[string]string{
		"A": fmt.Sprintf("≈ %d × %v", chainN, b.init),
		"B": fmt.Sprintf("≤ 1.15 × %v", b.init),
		"C": fmt.Sprintf("≤ 1.15 × %v", b.init),
	}
	for _, v := range vs {
		fmt.Printf("| %s | %s |", desc[v], expect[v])
		var meds []time.Duration
		for _, m := range ms {
			rs := res[v+"/"+m]
			if len(rs) == 0 {
				fmt.Print(" error | — |")
				meds = append(meds, 0)
				continue
			}
			med := median(rs, func(r result) time.Duration { return r.total })
			meds = append(meds, med)
			fmt.Printf(" %d ms | %.2f× |", med.Milliseconds(), float64(med)/float64(b.init))
		}
		if len(ms) == 2 {
			if meds[0] > 0 && meds[1] > 0 {
				fmt.Printf(" %.2f× |", float64(meds[0])/float64(meds[1]))
			} else {
				fmt.Print(" n/a |")
			}
		}
		fmt.Println()
	}
	fmt.Println()
	for _, v := range vs {
		for _, m := range ms {
			rs := res[v+"/"+m]
			if len(rs) == 0 {
				continue
			}
			var all []string
			for _, r := range rs {
				all = append(all, fmt.Sprint(r.total.Milliseconds()))
			}
			line := fmt.Sprintf("- %s, %s: runs %s ms; medians: first service start +%v, spread of the 16 starts %v",
				v, names[m], strings.Join(all, " "),
				median(rs, func(r result) time.Duration { return r.first }).Round(100*time.Microsecond),
				median(rs, func(r result) time.Duration { return r.spread }).Round(100*time.Microsecond))
			if v != "C" {
				line += fmt.Sprintf(", the start command returned after %v",
					median(rs, func(r result) time.Duration { return r.ctl }).Round(100*time.Microsecond))
			}
			if v == "C" {
				line += fmt.Sprintf("; one activation hop (median of the runs' means) %v",
					median(rs, func(r result) time.Duration { return r.hop }).Round(10*time.Microsecond))
				if rs[0].fromTrigger > 0 {
					line += fmt.Sprintf(" = connect -> trigger logged %v + trigger -> the daemon's first line %v (medians)",
						median(rs, func(r result) time.Duration { return r.toTrigger }).Round(10*time.Microsecond),
						median(rs, func(r result) time.Duration { return r.fromTrigger }).Round(10*time.Microsecond))
				}
			}
			fmt.Println(line)
		}
	}
	fmt.Printf("- exec floor: this program starting chainsvc itself, Start -> its first line, median of 31: %v\n",
		floor.Round(10*time.Microsecond))
}

func median(rs []result, f func(result) time.Duration) time.Duration {
	ds := make([]time.Duration, len(rs))
	for i, r := range rs {
		ds[i] = f(r)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}
