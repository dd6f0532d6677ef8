package difftest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/unit"
)

// actionScenario is one row of TestActionsDifferential: unit files, and commands after which
// the manager ends by itself (SuccessAction=, FailureAction=, StartLimitAction=, systemctl
// exit|poweroff). Each side runs the same commands on a fresh manager: systemd 252 as PID 1
// of its namespace (a container: container=other), `flint run` as a plain process. Compared:
// how the manager ended (its exit status, or the signal that ended systemd's namespace) and
// how many lines each unit wrote to @STATE@/UNIT (its starts) and @STATE@/UNIT.stop (its
// ExecStopPost= runs).
//
// Unit texts are whole files. The scenario's own unit names get the scenario's prefix
// wherever they appear; the others (shutdown.target, exit.target) are systemd's: copied
// from /lib/systemd/system for systemd, flint's built-in units for flint.
type actionScenario struct {
	name  string
	units map[string]string
	steps []string // systemctl / flint arguments, run in order
	// ended is how both managers are expected to end ("exit 7"), unless they differ as known
	// (endedSystemd, endedFlint).
	ended                    string
	endedSystemd, endedFlint string
	// forceStops: the manager quits by a -force action, which systemd does by killing every
	// process (systemd-shutdown) while flint stops the units left (their ExecStopPost= runs):
	// the .stop files are not compared.
	forceStops bool
}

const (
	// stopLogged runs for 30 s and logs its stops.
	stopLogged = "ExecStart=/bin/sleep 30\nExecStopPost=/bin/sh -c 'echo >>@STATE@/%n.stop'\n"
	// conflictsShutdown gives a unit without default dependencies systemd's Conflicts= and
	// Before= on shutdown.target (the scenarios' units have none: no sysinit.target here).
	conflictsShutdown = "Conflicts=shutdown.target\nBefore=shutdown.target\n"
)

var actionScenarios = []actionScenario{
	{name: "success-exit-force-status", units: map[string]string{
		"one.service":  "[Unit]\nDefaultDependencies=no\nSuccessAction=exit-force\nSuccessActionExitStatus=7\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo >>@STATE@/%n'\n",
		"long.service": "[Unit]\nDefaultDependencies=no\n" + conflictsShutdown + "[Service]\n" + stopLogged,
	}, steps: []string{"start long.service", "start --no-block one.service"}, ended: "exit 7", forceStops: true},
	{name: "success-exit-main-status", units: map[string]string{
		"one.service": "[Unit]\nDefaultDependencies=no\nSuccessAction=exit-force\n[Service]\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; exit 0'\n",
	}, steps: []string{"start --no-block one.service"}, ended: "exit 0"},
	// FailureAction=exit: exit.target; shutdown.target stops long.service before.
	{name: "failure-exit", units: map[string]string{
		"bad.service":  "[Unit]\nDefaultDependencies=no\nFailureAction=exit\n[Service]\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; sleep 0.3; exit 5'\n",
		"long.service": "[Unit]\nDefaultDependencies=no\n" + conflictsShutdown + "[Service]\n" + stopLogged,
	}, steps: []string{"start long.service", "start --no-block bad.service"}, ended: "exit 5"},
	{name: "failure-exit-signal", units: map[string]string{
		"bad.service": "[Unit]\nDefaultDependencies=no\nFailureAction=exit-force\n[Service]\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; kill -KILL $$$$'\n",
	}, steps: []string{"start --no-block bad.service"}, ended: "exit 255"},
	// systemd 252 passes through failed before auto-restart: FailureAction= runs at the
	// first failure already.
	{name: "failure-restart", units: map[string]string{
		"bad.service": "[Unit]\nDefaultDependencies=no\nFailureAction=exit-force\n[Service]\nRestart=on-failure\nRestartSec=200ms\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; exit 9'\n",
	}, steps: []string{"start --no-block bad.service"}, ended: "exit 9"},
	// ... and through dead when the restart job stops the auto-restart state: a failing
	// service's SuccessAction= runs at its first restart, with its exit status. (systemd
	// then runs the restart job's start in the same event and kills that process as it
	// quits; flint starts nothing once it quits: the starts are not compared.)
	{name: "success-restart", units: map[string]string{
		"bad.service": "[Unit]\nDefaultDependencies=no\nSuccessAction=exit-force\n[Service]\nRestart=on-failure\nRestartSec=200ms\nExecStart=/bin/sh -c 'exit 3'\n",
	}, steps: []string{"start --no-block bad.service"}, ended: "exit 3"},
	{name: "start-limit", units: map[string]string{
		"bad.service": "[Unit]\nDefaultDependencies=no\nStartLimitBurst=3\nStartLimitIntervalSec=30s\nStartLimitAction=exit-force\n[Service]\nRestart=always\nRestartSec=100ms\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; exit 1'\n",
	}, steps: []string{"start --no-block bad.service"}, ended: "exit 0"},
	{name: "exit-verb", units: map[string]string{
		"long.service": "[Unit]\nDefaultDependencies=no\n" + conflictsShutdown + "[Service]\n" + stopLogged,
	}, steps: []string{"start long.service", "exit 3"}, ended: "exit 3"},
	{name: "exit-force-verb", units: map[string]string{
		"long.service": "[Unit]\nDefaultDependencies=no\n" + conflictsShutdown + "[Service]\n" + stopLogged,
	}, steps: []string{"start long.service", "exit --force 4"}, ended: "exit 4", forceStops: true},
	// Not PID 1 of a machine or container, flint run exits 0 where systemd powers off: in a
	// PID namespace reboot(2) kills its init with SIGINT.
	{name: "poweroff-verb", units: map[string]string{
		"long.service": "[Unit]\nDefaultDependencies=no\n" + conflictsShutdown + "[Service]\n" + stopLogged,
	}, steps: []string{"start long.service", "poweroff"}, endedSystemd: "signal: interrupt", endedFlint: "exit 0"},
}

// shutdownUnits are systemd's own units the scenarios need, copied for systemd's side.
var shutdownUnits = []string{"shutdown.target", "umount.target", "final.target", "exit.target",
	"systemd-exit.service", "poweroff.target", "systemd-poweroff.service"}

// TestActionsDifferential runs actionScenarios on systemd 252 and on `flint run`, one
// scenario after the other (each boot ends with the manager), and compares how each manager
// ended and the units' starts and stops.
func TestActionsDifferential(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("boots systemd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	probe := t.TempDir()
	if err := os.MkdirAll(filepath.Join(probe, "units"), 0o755); err != nil {
		t.Fatal(err)
	}
	bootOrSkip(t, ctx, probe, filepath.Join(probe, "units")).Stop()
	for _, n := range shutdownUnits {
		if _, err := os.Stat(filepath.Join("/lib/systemd/system", n)); err != nil {
			t.Skipf("systemd's %s: %v", n, err)
		}
	}
	bin := filepath.Join(t.TempDir(), "flint")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/flint")
	build.Dir = "../.."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build flint: %v\n%s", err, out)
	}
	// One at a time: systemd's shutdown units (systemd-exit.service) are not prefixed, and
	// two systemd would share their cgroups.
	for i, sc := range actionScenarios {
		t.Run(sc.name, func(t *testing.T) { runActionScenario(t, ctx, bin, i, sc) })
	}
}

func runActionScenario(t *testing.T, ctx context.Context, bin string, idx int, sc actionScenario) {
	prefix := fmt.Sprintf("ad%d-%d-", os.Getpid(), idx)
	var names []string
	for n := range sc.units {
		names = append(names, n)
	}
	sort.Strings(names)
	rename := func(s string) string {
		for _, n := range names {
			s = strings.ReplaceAll(s, n, prefix+n)
		}
		return s
	}
	write := func(dir string, copies bool) (units, state string) {
		units, state = filepath.Join(dir, "units"), filepath.Join(dir, "state")
		for _, d := range []string{units, state} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range names {
			text := strings.ReplaceAll(rename(sc.units[n]), "@STATE@", state)
			if err := os.WriteFile(filepath.Join(units, prefix+n), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if !copies {
			return units, state
		}
		for _, n := range shutdownUnits {
			data, err := os.ReadFile(filepath.Join("/lib/systemd/system", n))
			if err == nil {
				err = os.WriteFile(filepath.Join(units, n), data, 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		// umount.target stops the mount units with default dependencies, which systemd
		// makes of the namespace's /tmp and of the work directory Boot mounts there: the
		// state files would go with them. Those mounts keep out of it.
		for p := dir; p != "/" && p != "."; p = filepath.Dir(p) {
			d := filepath.Join(units, unit.EscapePath(p)+".mount.d")
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, "keep.conf"), []byte("[Unit]\nDefaultDependencies=no\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return units, state
	}
	sysDir, flintDir := t.TempDir(), t.TempDir()
	sysUnits, sysState := write(sysDir, true)
	flintUnits, flintState := write(flintDir, false)
	cgroups := []string{"systemd-exit.service", "systemd-poweroff.service"}
	for _, n := range names {
		cgroups = append(cgroups, prefix+n)
	}
	t.Cleanup(func() { removeCgroups(cgroups) })

	s := bootOrSkip(t, ctx, sysDir, sysUnits)
	defer func() {
		if t.Failed() {
			t.Logf("systemd console:\n%s", tail(filepath.Join(sysDir, "console")))
			t.Logf("systemd log:\n%s", tail(filepath.Join(sysDir, "systemd.log")))
		}
	}()
	fl := launchFlint(t, bin, flintUnits)
	sys := systemdSide{s}
	for _, step := range sc.steps {
		args := strings.Fields(rename(step))
		sc1, so := sys.run(ctx, args...)
		fc, fo := fl.side.run(ctx, args...)
		if sc1 != 0 || fc != 0 {
			t.Errorf("%s: systemctl exit %d %q, flint exit %d %q", step, sc1, so, fc, fo)
		}
	}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	sysEnd, flintEnd := "running", "running"
	if ps, err := s.Wait(wctx); err == nil {
		sysEnd = ended(ps)
	}
	if ps, err := fl.wait(wctx); err == nil {
		flintEnd = ended(ps)
	}
	wantSys, wantFlint := sc.ended, sc.ended
	if sc.endedSystemd != "" {
		wantSys, wantFlint = sc.endedSystemd, sc.endedFlint
	}
	if sysEnd != wantSys || flintEnd != wantFlint {
		t.Errorf("systemd ended %q (want %q), flint %q (want %q)", sysEnd, wantSys, flintEnd, wantFlint)
	}
	for _, n := range names {
		files := []string{prefix + n}
		if !sc.forceStops {
			files = append(files, prefix+n+".stop")
		}
		for _, f := range files {
			if a, b := starts(sysState, f), starts(flintState, f); a != b {
				t.Errorf("%s: %s lines: systemd %s, flint %s", sc.name, strings.TrimPrefix(f, prefix), a, b)
			}
		}
	}
	if t.Failed() {
		t.Logf("flint run output:\n%s", fl.out.String())
	}
}

// ended words how a manager process ended: "exit N" or "signal: NAME".
func ended(ps *os.ProcessState) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "signal: " + ws.Signal().String()
	}
	return fmt.Sprintf("exit %d", ps.ExitCode())
}

// launchedFlint is a `flint run` that the test expects to end by itself.
type launchedFlint struct {
	side flintSide
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

func (f *launchedFlint) wait(ctx context.Context) (*os.ProcessState, error) {
	select {
	case <-f.done:
		return f.cmd.ProcessState, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("flint run did not exit: %w", ctx.Err())
	}
}

// lockedBuffer is a bytes.Buffer that a process writes while the test may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// launchFlint is startFlint for a manager that ends by itself: it is stopped (SIGTERM, then
// SIGKILL) at the end of the test only if it still runs.
func launchFlint(t *testing.T, bin, units string) *launchedFlint {
	t.Helper()
	control := filepath.Join(t.TempDir(), "control.sock")
	f := &launchedFlint{side: flintSide{bin: bin, control: control}, out: &lockedBuffer{}, done: make(chan struct{})}
	f.cmd = exec.Command(bin, "run", "--no-booted", "--no-journal-sockets", "--units", units, "--control", control)
	f.cmd.Stdout, f.cmd.Stderr = f.out, f.out
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := f.cmd.Start(); err != nil {
		t.Fatalf("flint run: %v", err)
	}
	go func() { f.cmd.Wait(); close(f.done) }()
	t.Cleanup(func() {
		select {
		case <-f.done:
			return
		default:
		}
		f.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-f.done:
		case <-time.After(10 * time.Second):
			f.cmd.Process.Kill()
			<-f.done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Stat(control); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return f
		}
		select {
		case <-f.done:
			t.Fatalf("flint run exited early:\n%s", f.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("flint run: no control socket after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
