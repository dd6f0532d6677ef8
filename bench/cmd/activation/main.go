// Command activation benchmarks flint's socket activation side by side with the reference
// implementations: systemd-socket-activate, xinetd and systemd 252 itself (booted in private
// namespaces by scripts/systemd-ns).
//
//	go run ./bench/cmd/activation [-n 30] [-duration 3s] [-slices 5] [-only cold,accept,restarts,idle]
//
// It measures
//   - cold activation: connect -> first byte of the echo, median and p90 over -n runs, each run a
//     fresh activation of foobard (examples/foobar/server.c);
//   - Accept=yes connections per second at concurrency 1 and 8 (one /bin/cat per connection),
//     the sides measured in turn, -duration each in -slices slices;
//   - requests failed while the service is restarted -restarts times under -rate requests/s
//     (the daemon stops gracefully: testdata/graceful.c);
//   - the managers' resident memory with no units and with 1000 socket units listening, and
//     their CPU time over -idle with nothing to do.
//
// and prints a Markdown table with flint's ratios to the references. Run it as root from the
// repository root (it builds bin/flint and foobard itself); ports 22500-22509 must be free. A
// side that cannot run here (tool missing, flint verb not implemented yet) is shown as n/a.
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
	"time"
)

// The sides, in table column order.
const (
	sideSSA      = "systemd-socket-activate"
	sideXinetd   = "xinetd"
	sideSystemd  = "systemd 252"
	sideActivate = "flint activate"
	sideRun      = "flint run"
	// flint run in a cgroup subtree of its own, so that every unit gets its cgroup (cold
	// activation only: the cost of making the group and placing the process in it)
	sideRunCg = "flint run, cgroups"
)

var sides = []string{sideSSA, sideXinetd, sideSystemd, sideActivate, sideRun, sideRunCg}

// Ports (22500-22509): one per Accept=yes side, so a slow shutdown never collides.
const (
	portXinetd   = 22500
	portSSA      = 22501
	portSystemd  = 22502
	portActivate = 22503
	portRun      = 22504
	// the echo socket among the idle part's sockets
	portIdleSystemd = 22505
	portIdleRun     = 22506
	portRunCg       = 22507
)

// cell is one measured value, or why there is none.
type cell struct {
	v    float64
	ok   bool
	note string // "n/a", "error"
}

// row is one metric; higherBetter decides how ratios read.
type row struct {
	metric       string
	unit         string
	higherBetter bool
	ref          string // reference side for the "÷ ref" column
	cells        map[string]cell
}

type bench struct {
	n        int
	duration time.Duration
	slices   int
	rate     int
	restarts int
	idleFor  time.Duration
	script   string
	work     string
	foobard  string
	flint    string // empty if flint could not be built
	failed   bool
	rows     []*row
	notes    []string // printed under the table
}

func main() {
	b := &bench{}
	flag.IntVar(&b.n, "n", 30, "cold activations per side")
	flag.DurationVar(&b.duration, "duration", 3*time.Second, "Accept=yes throughput: measured time per side and concurrency")
	flag.IntVar(&b.slices, "slices", 5, "Accept=yes throughput: slices of -duration, the sides taking them in turn")
	flag.IntVar(&b.rate, "rate", 1000, "requests per second during the restart test")
	flag.IntVar(&b.restarts, "restarts", 5, "service restarts during the restart test")
	flag.DurationVar(&b.idleFor, "idle", 10*time.Second, "how long the idle part watches the manager's CPU time")
	flag.StringVar(&b.script, "systemd-ns", "scripts/systemd-ns", "script that boots systemd in private namespaces")
	flintPath := flag.String("flint", "", "flint binary (default: CGO_ENABLED=0 go build ./cmd/flint, as README builds it)")
	only := flag.String("only", "cold,accept,restarts,idle", "comma-separated parts to run")
	flag.Parse()
	if err := b.run(*flintPath, *only); err != nil {
		fmt.Fprintln(os.Stderr, "activation:", err)
		os.Exit(1)
	}
	if b.failed {
		os.Exit(1)
	}
}

func (b *bench) run(flintPath, only string) error {
	if b.slices < 1 {
		return errors.New("-slices must be at least 1")
	}
	if os.Getuid() != 0 {
		return errors.New("run as root (systemd in a namespace, xinetd, services as root)")
	}
	work, err := os.MkdirTemp("", "flint-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b.work = work
	b.foobard = filepath.Join(work, "foobard")
	if _, err := run("gcc", "-O2", "-o", b.foobard, "examples/foobar/server.c", "-lsystemd"); err != nil {
		return fmt.Errorf("build foobard (apt-get install gcc libsystemd-dev; run from the repository root): %w", err)
	}
	if _, err := run("gcc", "-O2", "-o", filepath.Join(work, "graceful"), "bench/cmd/activation/testdata/graceful.c", "-lsystemd"); err != nil {
		return fmt.Errorf("build the graceful echo daemon: %w", err)
	}
	b.flint = flintPath
	if b.flint == "" {
		b.flint = filepath.Join(work, "flint")
		if _, err := run("env", "CGO_ENABLED=0", "go", "build", "-o", b.flint, "./cmd/flint"); err != nil {
			fmt.Fprintln(os.Stderr, "activation: flint does not build; its sides are n/a:", err)
			b.flint = ""
		}
	}
	parts := map[string]bool{}
	for _, p := range strings.Split(only, ",") {
		parts[strings.TrimSpace(p)] = true
	}
	if parts["cold"] {
		b.cold()
	}
	if parts["accept"] {
		b.accept()
	}
	if parts["restarts"] {
		b.restartTest()
	}
	if parts["idle"] {
		b.idle()
	}
	b.print()
	return nil
}

// record stores a result, reporting errors other than errUnavailable on stderr.
func (b *bench) record(r *row, side string, v float64, err error) {
	switch {
	case err == nil:
		r.cells[side] = cell{v: v, ok: true}
	case errors.Is(err, errUnavailable):
		r.cells[side] = cell{note: "n/a"}
		fmt.Fprintf(os.Stderr, "activation: %s / %s: %v\n", r.metric, side, err)
	default:
		r.cells[side] = cell{note: "error"}
		b.failed = true
		fmt.Fprintf(os.Stderr, "activation: %s / %s: %v\n", r.metric, side, err)
	}
}

func (b *bench) newRow(metric, unit string, higherBetter bool, ref string) *row {
	r := &row{metric: metric, unit: unit, higherBetter: higherBetter, ref: ref, cells: map[string]cell{}}
	b.rows = append(b.rows, r)
	return r
}

func (b *bench) subdir(name string) string {
	d := filepath.Join(b.work, strings.ReplaceAll(name, " ", "-"))
	os.MkdirAll(d, 0o755)
	return d
}

// withManager starts a long-running manager (flint run or systemd), runs f and stops it.
func (b *bench) withManager(side string, f func(m *manager) error) error {
	m, err := b.startManager(side)
	if err != nil {
		return err
	}
	defer m.close()
	return f(m)
}

// startManager starts flint run or systemd 252 with the benchmark's units.
func (b *bench) startManager(side string) (*manager, error) {
	switch side {
	case sideRun:
		if b.flint == "" {
			return nil, fmt.Errorf("%w: flint not built", errUnavailable)
		}
		return startFlint(b.flint, b.subdir(side+time.Now().Format("150405.000")), b.foobard, portRun)
	case sideRunCg:
		if b.flint == "" {
			return nil, fmt.Errorf("%w: flint not built", errUnavailable)
		}
		return startFlintCgroup(b.flint, b.subdir("run-cgroups"+time.Now().Format("150405.000")), b.foobard, portRunCg)
	case sideSystemd:
		dir := b.subdir(side + time.Now().Format("150405.000"))
		foobard := filepath.Join(dir, "foobard") // inside the work dir: visible in the namespace
		if _, err := run("cp", b.foobard, filepath.Join(b.work, "graceful"), dir); err != nil {
			return nil, err
		}
		return startSystemd(b.script, dir, foobard, portSystemd)
	}
	return nil, fmt.Errorf("no manager %s", side)
}

// cold measures every side's cold activations interleaved (coldInterleaved); the managers
// run side by side meanwhile, each idle while another side is measured.
func (b *bench) cold() {
	med := b.newRow("cold activation, connect → first byte, median", "ms", false, sideSSA)
	p90 := b.newRow("cold activation, connect → first byte, p90", "ms", false, sideSSA)
	var names []string
	var targets []coldTarget
	names = append(names, sideSSA)
	targets = append(targets, &execCold{sock: filepath.Join(b.subdir("ssa"), "foobar.sk"), argv: func(sock string) []string {
		return []string{"/usr/bin/systemd-socket-activate", "-l", sock, b.foobard}
	}})
	if b.flint != "" {
		names = append(names, sideActivate)
		targets = append(targets, &execCold{sock: filepath.Join(b.subdir("activate"), "foobar.sk"), argv: func(sock string) []string {
			return []string{b.flint, "activate", "-l", sock, "--", b.foobard}
		}})
	} else {
		b.record(med, sideActivate, 0, errUnavailable)
		b.record(p90, sideActivate, 0, errUnavailable)
	}
	for _, side := range []string{sideSystemd, sideRun, sideRunCg} {
		m, err := b.startManager(side)
		if err != nil {
			b.record(med, side, 0, err)
			b.record(p90, side, 0, err)
			continue
		}
		defer m.close()
		names = append(names, side)
		targets = append(targets, m)
	}
	st, errs := coldInterleaved(targets, b.n)
	for k, side := range names {
		b.record(med, side, ms(st[k].median), errs[k])
		b.record(p90, side, ms(st[k].p90), errs[k])
	}
}

// accept starts every side's Accept=yes echo server, then measures their connections/s at each
// concurrency interleaved (throughput): -duration per side in -slices slices taken in turn, the
// servers running side by side meanwhile, each idle while another side is measured.
func (b *bench) accept() {
	rows := map[int]*row{}
	concs := []int{1, 8}
	for _, c := range concs {
		rows[c] = b.newRow(fmt.Sprintf("Accept=yes connections/s, concurrency %d", c), "conn/s", true, sideXinetd)
	}
	var names, addrs []string
	for _, side := range []string{sideXinetd, sideSSA, sideActivate, sideSystemd, sideRun} {
		addr, stop, err := b.startAccept(side)
		if err != nil {
			for _, c := range concs {
				b.record(rows[c], side, 0, err)
			}
			continue
		}
		defer stop()
		names = append(names, side)
		addrs = append(addrs, addr)
	}
	for _, c := range concs {
		rates, errs := throughput(addrs, c, b.duration, b.slices)
		for k, side := range names {
			b.record(rows[c], side, rates[k], errs[k])
		}
	}
}

// startAccept starts side's Accept=yes echo server (/bin/cat per connection) on its port and
// returns its address and how to stop it.
func (b *bench) startAccept(side string) (addr string, stop func(), err error) {
	switch side {
	case sideXinetd:
		stop, err = startXinetd(b.subdir("xinetd"), portXinetd)
		return loopback(portXinetd), stop, err
	case sideSSA:
		stop, err = startInetdSSA("/usr/bin/systemd-socket-activate", nil, portSSA)
		return loopback(portSSA), stop, err
	case sideActivate:
		if b.flint == "" {
			return "", nil, fmt.Errorf("%w: flint not built", errUnavailable)
		}
		stop, err = startInetdSSA(b.flint, []string{"activate"}, portActivate)
		return loopback(portActivate), stop, err
	}
	m, err := b.startManager(side)
	if err != nil {
		return "", nil, err
	}
	addr = loopback(m.port)
	if err := echoOnce(addr); err != nil {
		m.close()
		return "", nil, fmt.Errorf("first connection: %w", err)
	}
	return addr, m.close, nil
}

func loopback(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

func (b *bench) restartTest() {
	r := b.newRow(fmt.Sprintf("requests failed across %d restarts at %d req/s", b.restarts, b.rate), "failed", false, sideSystemd)
	for _, side := range []string{sideSystemd, sideRun} {
		err := b.withManager(side, func(m *manager) error {
			sock := graceSock(m.sock)
			if _, err := firstByte(sock, 10*time.Second); err != nil {
				return fmt.Errorf("first request: %w", err)
			}
			sent, failed, elapsed, err := underRestarts(sock, b.rate, b.restarts, time.Second, m.restart)
			if err == nil {
				r.cells[side] = cell{v: float64(total(failed)), ok: true}
				b.notes = append(b.notes, fmt.Sprintf("%s: %d of %d requests failed (%.0f req/s achieved)%s",
					side, total(failed), sent, float64(sent)/elapsed.Seconds(), kinds(failed)))
			}
			return err
		})
		if err != nil {
			b.record(r, side, 0, err)
		}
	}
}

// kinds renders failure counts by kind, e.g. ": 2× EOF, 1× connection reset by peer".
func kinds(failed map[string]int) string {
	if len(failed) == 0 {
		return ""
	}
	var ks []string
	for k := range failed {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for i, k := range ks {
		ks[i] = fmt.Sprintf("%d× %s", failed[k], k)
	}
	return ": " + strings.Join(ks, ", ")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (b *bench) print() {
	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	goVersion, _ := exec.Command("go", "version").Output()
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("%s, %s, kernel %s, %d CPUs, load %s, %s; -n %d -duration %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), host, strings.TrimSpace(string(kernel)),
		runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "),
		strings.TrimSpace(string(goVersion)), b.n, b.duration)
	header := "| metric | unit |"
	sep := "|---|---|"
	for _, s := range sides {
		header += " " + s + " |"
		sep += "---:|"
	}
	header += " flint run ÷ reference | flint activate ÷ " + sideSSA + " |"
	sep += "---|---|"
	fmt.Println(header)
	fmt.Println(sep)
	for _, r := range b.rows {
		line := fmt.Sprintf("| %s | %s |", r.metric, r.unit)
		for _, s := range sides {
			c, ok := r.cells[s]
			switch {
			case !ok:
				line += " — |"
			case !c.ok:
				line += " " + c.note + " |"
			case r.unit == "failed":
				line += fmt.Sprintf(" %.0f |", c.v)
			case c.v >= 100:
				line += fmt.Sprintf(" %.0f |", c.v)
			default:
				line += fmt.Sprintf(" %.2f |", c.v)
			}
		}
		line += " " + ratio(r) + " | " + activateRatio(r) + " |"
		fmt.Println(line)
	}
	if len(b.notes) > 0 {
		fmt.Println()
	}
	for _, n := range b.notes {
		fmt.Println("- " + n)
	}
	fmt.Println("\nRatios are flint's value divided by the reference's (flint run ÷ systemd 252 and ÷ the row's" +
		" tool reference; flint activate ÷ systemd-socket-activate); below 1 is better for times and" +
		" failures, above 1 for connections/s.")
}

// activateRatio renders flint activate's value over systemd-socket-activate's (its model).
func activateRatio(r *row) string {
	a, ok1 := r.cells[sideActivate]
	s, ok2 := r.cells[sideSSA]
	if !ok1 || !ok2 || !a.ok || !s.ok || s.v == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a.v/s.v)
}

// ratio renders flint run's value over systemd's and over the row's reference side.
func ratio(r *row) string {
	f, ok := r.cells[sideRun]
	if !ok || !f.ok {
		return "n/a"
	}
	var parts []string
	refs := []string{sideSystemd}
	if r.ref != sideSystemd {
		refs = append(refs, r.ref)
	}
	for _, ref := range refs {
		c, ok := r.cells[ref]
		if !ok || !c.ok {
			continue
		}
		if c.v == 0 {
			parts = append(parts, fmt.Sprintf("÷ %s: %.0f vs 0", ref, f.v))
			continue
		}
		parts = append(parts, fmt.Sprintf("÷ %s: %.2f×", ref, f.v/c.v))
	}
	if len(parts) == 0 {
		return "n/a"
	}
	return strings.Join(parts, ", ")
}
