// Command sandboxstart times how long a service takes from the manager's start of it to the
// first instruction of its main(), plain and sandboxed, on flint run and on systemd 252 (PID 1
// of private namespaces, internal/difftest):
//
//	plain      Type=oneshot, no sandbox: flint's fast spawn path (clone(CLONE_VM) + raw program)
//	sandboxed  the privilege and system call sandbox of Debian's systemd-hostnamed.service
//	           (bounding set, no_new_privs, seven seccomp filters): flint's `flint __sandbox`
//
// The service is testdata's stamp (C, static): it writes CLOCK_MONOTONIC first thing; the time
// is that minus the unit's InactiveExitTimestampMonotonic (when the manager began the start;
// RemainAfterExit=yes keeps it until the stop that follows each run).
// Runs are interleaved: one of each (side, variant) in turn per round; medians and p90.
//
//	go run ./bench/cmd/sandboxstart [-n 50] [-flint bin/flint]
//
// Run it as root from the repository root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flint-init/flint/internal/difftest"
)

const sandbox = "CapabilityBoundingSet=CAP_SYS_ADMIN\nLockPersonality=yes\nMemoryDenyWriteExecute=yes\nNoNewPrivileges=yes\n" +
	"ProtectKernelLogs=yes\nProtectKernelModules=yes\nProtectKernelTunables=yes\nRestrictAddressFamilies=AF_UNIX\n" +
	"RestrictNamespaces=yes\nRestrictRealtime=yes\nRestrictSUIDSGID=yes\nSystemCallArchitectures=native\n" +
	"SystemCallErrorNumber=EPERM\nSystemCallFilter=@system-service sethostname\n"

var variants = []string{"plain", "sandboxed"}

type side interface {
	name() string
	start(unit string) error
	stop(unit string) error
	inactiveExit(unit string) (int64, error)
}

func main() {
	n := flag.Int("n", 50, "runs per side and variant")
	flintPath := flag.String("flint", "", "flint binary (default: CGO_ENABLED=0 go build ./cmd/flint)")
	flag.Parse()
	if err := run(*n, *flintPath); err != nil {
		fmt.Fprintln(os.Stderr, "sandboxstart:", err)
		os.Exit(1)
	}
}

func run(n int, flintPath string) error {
	if os.Getuid() != 0 {
		return fmt.Errorf("run as root")
	}
	// /dev/shm: visible inside systemd's namespaces (its /tmp and /run are private).
	work, err := os.MkdirTemp("/dev/shm", "flint-sandboxstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	units := filepath.Join(work, "units")
	os.Mkdir(units, 0o755)
	stamp := filepath.Join(work, "stamp")
	if out, err := exec.Command("gcc", "-O2", "-static", "-o", stamp, "bench/cmd/sandboxstart/testdata/stamp.c").CombinedOutput(); err != nil {
		return fmt.Errorf("gcc: %v\n%s", err, out)
	}
	if flintPath == "" {
		flintPath = filepath.Join(work, "flint")
		cmd := exec.Command("go", "build", "-o", flintPath, "./cmd/flint")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build flint: %v\n%s", err, out)
		}
	}
	for _, v := range variants {
		body := "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=" + stamp + " " + filepath.Join(work, v+".stamp") + "\n"
		if v == "sandboxed" {
			body += sandbox
		}
		if err := os.WriteFile(filepath.Join(units, v+".service"), []byte(body), 0o644); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	sd, err := difftest.Boot(ctx, work, units)
	if err != nil {
		return err
	}
	defer sd.Stop()
	fl, err := startFlint(flintPath, work, units)
	if err != nil {
		return err
	}
	defer fl.quit()
	sides := []side{fl, &systemdSide{sd, ctx}}
	res := map[string][]time.Duration{}
	for i := 0; i < n+1; i++ { // the first round warms the caches and is dropped
		for _, s := range sides {
			for _, v := range variants {
				d, err := once(s, v, filepath.Join(work, v+".stamp"))
				if err != nil {
					return fmt.Errorf("%s %s: %w", s.name(), v, err)
				}
				if i > 0 {
					res[s.name()+" "+v] = append(res[s.name()+" "+v], d)
				}
			}
		}
	}
	fmt.Printf("%-20s %10s %10s\n", "side", "median", "p90")
	for _, s := range sides {
		for _, v := range variants {
			ds := res[s.name()+" "+v]
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			fmt.Printf("%-20s %10s %10s\n", s.name()+" "+v, ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)*9/10].Round(time.Microsecond))
		}
	}
	return nil
}

func once(s side, v, stampFile string) (time.Duration, error) {
	os.Remove(stampFile)
	unit := v + ".service"
	if err := s.start(unit); err != nil {
		return 0, err
	}
	b, err := os.ReadFile(stampFile)
	if err != nil {
		return 0, err
	}
	at, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, err
	}
	from, err := s.inactiveExit(unit)
	if err != nil {
		return 0, err
	}
	if err := s.stop(unit); err != nil {
		return 0, err
	}
	return time.Duration(at-from) * time.Microsecond, nil
}

type flintSide struct {
	bin, control string
	cmd          *exec.Cmd
}

func startFlint(bin, work, units string) (*flintSide, error) {
	f := &flintSide{bin: bin, control: filepath.Join(work, "flint.sock")}
	f.cmd = exec.Command(bin, "run", "--control", f.control, "--no-booted", "--no-journal-sockets", "--units", units)
	f.cmd.Stdout, f.cmd.Stderr = nil, nil
	if err := f.cmd.Start(); err != nil {
		return nil, err
	}
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(f.control); err == nil {
			return f, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.quit()
	return nil, fmt.Errorf("flint run: no control socket")
}

func (f *flintSide) name() string { return "flint" }
func (f *flintSide) quit() {
	f.cmd.Process.Signal(os.Interrupt)
	f.cmd.Wait()
}

func (f *flintSide) start(unit string) error {
	if out, err := exec.Command(f.bin, "--control", f.control, "start", unit).CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func (f *flintSide) stop(unit string) error {
	if out, err := exec.Command(f.bin, "--control", f.control, "stop", unit).CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func (f *flintSide) inactiveExit(unit string) (int64, error) {
	out, err := exec.Command(f.bin, "--control", f.control, "show", "-p", "InactiveExitTimestampMonotonic", "--value", unit).Output()
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

type systemdSide struct {
	sd  *difftest.Systemd
	ctx context.Context
}

func (s *systemdSide) name() string { return "systemd" }

func (s *systemdSide) start(unit string) error {
	_, err := s.sd.Systemctl(s.ctx, "start", unit)
	return err
}

func (s *systemdSide) stop(unit string) error {
	_, err := s.sd.Systemctl(s.ctx, "stop", unit)
	return err
}

func (s *systemdSide) inactiveExit(unit string) (int64, error) {
	out, err := s.sd.Systemctl(s.ctx, "show", "-p", "InactiveExitTimestampMonotonic", "--value", unit)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}
