// Package difftest compares flint's reading of unit files with the real systemd's.
//
// Boot starts the machine's own systemd (/lib/systemd/systemd) as PID 1 of private pid, mount
// and uts namespaces, with a private /run, /tmp and /var/tmp and SYSTEMD_UNIT_PATH set to a
// directory of unit files; Show runs `systemctl show` inside it. The package's test loads the
// same directory with flint's unit.Loader and compares the properties one by one.
//
// Booting needs root (unshare, mount, nsenter). Nothing leaves the namespaces: the unit files
// are only loaded, the boot target has no dependencies, and Stop kills PID 1 by its pid, which
// takes every process of the pid namespace with it.
package difftest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// SystemdBinary is the systemd that Boot runs.
var SystemdBinary = "/lib/systemd/systemd"

// BootTarget is the unit Boot starts: written into the work directory, no dependencies.
const BootTarget = "difftest-boot.target"

// Systemd is a running systemd that is PID 1 of its own namespaces.
type Systemd struct {
	Pid     int    // systemd's pid as the host sees it
	LogPath string // systemd's console output
	unshare *exec.Cmd
	done    chan struct{} // closed when unshare has been waited for
}

// bootScript runs inside the new namespaces (as the child of unshare --fork): it gives the
// namespace private /run, /tmp and /var/tmp (and with $5 = 1 a private, empty /etc/systemd)
// and carries the work directory in at its own path (it may itself live under /tmp), puts a
// file of its own over /dev/console so that PID 1 never writes to the host's console, moves
// itself into a cgroup of its own ($6) in every hierarchy (systemd uses a v1 controller
// only where its root group exists there), so that systemd's cgroup root is that group and not the host's (systemd trims the empty
// groups below its root, which would take other tests' groups away), then execs systemd.
// $1 work dir, $2 unit path, $3 systemd, $4 target, $5 private /etc/systemd.
const bootScript = `set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/.difftest-work
mount --bind "$1" /run/.difftest-work
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
if [ "$5" = 1 ]; then mount -t tmpfs -o mode=0755 tmpfs /etc/systemd; fi
mkdir -p "$1"
mount --move /run/.difftest-work "$1"
rmdir /run/.difftest-work
mount --bind "$1/console" /dev/console
for h in /sys/fs/cgroup/* /sys/fs/cgroup; do
	if [ -f "$h/cgroup.procs" ] && [ ! -L "$h" ]; then
		mkdir -p "$h/$6"
		# A new v1 cpu group has no real-time budget: give it a little (several systemds may
		# run at once), so that the services systemd leaves in it may use SCHED_FIFO as at
		# the root.
		if [ -f "$h/$6/cpu.rt_runtime_us" ]; then echo 5000 2>/dev/null >"$h/$6/cpu.rt_runtime_us" || true; fi
		# (a new cpuset group has no CPUs to run on: systemd 252 does not use v1 cpuset)
		echo 0 2>/dev/null >"$h/$6/cgroup.procs" || rmdir "$h/$6"
	fi
done
export container=other SYSTEMD_UNIT_PATH="$2"
exec "$3" --system --unit="$4" --log-target=console --log-level=info --show-status=no
`

// Boot starts systemd with SYSTEMD_UNIT_PATH=unitPath (a trailing ':' appends systemd's
// default path, as systemd itself reads the variable). workDir must exist; systemd's log and
// the boot target go there, and unitPath's directories must be inside it. Boot returns when
// systemd answers on its private bus socket, or fails when ctx ends first.
func Boot(ctx context.Context, workDir, unitPath string) (*Systemd, error) {
	return BootWith(ctx, workDir, unitPath, BootOptions{})
}

// BootOptions vary the namespaces Boot makes.
type BootOptions struct {
	// PrivateConfig puts an empty tmpfs over /etc/systemd inside, so that systemctl enable,
	// mask, edit, set-property, ... write there and not to the host's configuration.
	PrivateConfig bool
	// Groups, when not nil, are systemd's supplementary groups (those it gives the services
	// that change none).
	Groups []uint32
	// DropCaps are capabilities (setpriv's names: "sys_nice") systemd and its services go
	// without, dropped from the bounding set as a container runtime does.
	DropCaps []string
}

// WithoutCaps returns the command line argv run by setpriv without the capabilities caps
// (setpriv's names) in its bounding set, or argv itself when caps is empty.
func WithoutCaps(caps []string, argv ...string) []string {
	if len(caps) == 0 {
		return argv
	}
	return append([]string{"setpriv", "--bounding-set=-" + strings.Join(caps, ",-"), "--"}, argv...)
}

// BootWith is Boot with options.
func BootWith(ctx context.Context, workDir, unitPath string, o BootOptions) (*Systemd, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("boot systemd: needs root")
	}
	for _, tool := range []string{"unshare", "nsenter", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("boot systemd: %w", err)
		}
	}
	if _, err := os.Stat(SystemdBinary); err != nil {
		return nil, fmt.Errorf("boot systemd: %w", err)
	}
	workDir, err := filepath.Abs(workDir)
	if err != nil {
		return nil, err
	}
	targetDir := filepath.Join(workDir, "boot")
	if err := os.MkdirAll(targetDir, 0o755); err != nil {
		return nil, fmt.Errorf("boot systemd: %w", err)
	}
	target := "[Unit]\nDescription=difftest boot target\nDefaultDependencies=no\n"
	if err := os.WriteFile(filepath.Join(targetDir, BootTarget), []byte(target), 0o644); err != nil {
		return nil, fmt.Errorf("boot systemd: %w", err)
	}
	if err := os.WriteFile(filepath.Join(workDir, "console"), nil, 0o644); err != nil {
		return nil, fmt.Errorf("boot systemd: %w", err)
	}
	logPath := filepath.Join(workDir, "systemd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("boot systemd: %w", err)
	}
	defer logFile.Close()
	// The boot target's directory comes last so that it never shadows a unit under test.
	fullPath := strings.TrimSuffix(unitPath, ":") + ":" + targetDir
	if strings.HasSuffix(unitPath, ":") {
		fullPath += ":"
	}
	cgroup := fmt.Sprintf("flint-difftest-%d-%d", os.Getpid(), bootSeq.Add(1))
	argv := WithoutCaps(o.DropCaps, "unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--mount", "--mount-proc", "--uts",
		"--propagation", "private",
		"/bin/sh", "-c", bootScript, "difftest-boot", workDir, fullPath, SystemdBinary, BootTarget,
		map[bool]string{false: "0", true: "1"}[o.PrivateConfig], cgroup)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if o.Groups != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0, Groups: o.Groups}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("boot systemd: %w", err)
	}
	s := &Systemd{LogPath: logPath, unshare: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		removeCgroup(cgroup)
		close(s.done)
	}()

	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.Pid == 0 {
			s.Pid = childOf(cmd.Process.Pid)
		}
		if s.Pid != 0 && s.ready() {
			return s, nil
		}
		select {
		case <-ctx.Done():
			s.Stop()
			return nil, fmt.Errorf("boot systemd: %w; log:\n%s", ctx.Err(), tail(logPath))
		case <-s.done:
			return nil, fmt.Errorf("boot systemd: exited early (%v); log:\n%s", cmd.ProcessState, tail(logPath))
		case <-tick.C:
		}
	}
}

// bootSeq numbers the cgroups of the systemds one test process boots.
var bootSeq atomic.Int64

// removeCgroup removes the group name and the groups systemd made below it from every cgroup
// hierarchy, once systemd's namespace has ended (its processes may take a moment to leave).
func removeCgroup(name string) {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/" + name)
	if _, err := os.Stat("/sys/fs/cgroup/" + name); err == nil {
		roots = append(roots, "/sys/fs/cgroup/"+name)
	}
	for _, root := range roots {
		var dirs []string
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			for try := 0; try < 100; try++ {
				err := syscall.Rmdir(dirs[i])
				if err == nil || err == syscall.ENOENT || err != syscall.EBUSY {
					break
				}
				time.Sleep(20 * time.Millisecond) // the killed processes are still leaving
			}
		}
	}
}

// ready reports whether systemd's private bus socket exists in its mount namespace, and that
// the process there is really systemd (not still the boot shell).
func (s *Systemd) ready() bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", s.Pid))
	if err != nil || filepath.Base(exe) != "systemd" {
		return false
	}
	fi, err := os.Stat(fmt.Sprintf("/proc/%d/root/run/systemd/private", s.Pid))
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// childOf returns the first child of pid, or 0.
func childOf(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

func tail(path string) string {
	data, _ := os.ReadFile(path)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// Stop kills systemd (SIGKILL by pid: PID 1 of a namespace ignores SIGTERM), which ends
// every process of its pid namespace, and waits for unshare to exit.
func (s *Systemd) Stop() error {
	select {
	case <-s.done:
		return nil // it exited by itself (see Wait); its pid may be another process's now
	default:
	}
	if s.Pid != 0 {
		syscall.Kill(s.Pid, syscall.SIGKILL)
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(5 * time.Second):
	}
	// systemd never appeared or did not die: kill unshare itself.
	s.unshare.Process.Kill()
	select {
	case <-s.done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("stop systemd: unshare (pid %d) did not exit", s.unshare.Process.Pid)
	}
}

// Wait waits until systemd has exited by itself (an exit or poweroff, as PID 1 of its
// namespace: see SuccessAction=) and returns how: unshare's exit status, which is systemd's
// (systemd-shutdown's) own, or the signal that ended the namespace (reboot(2) in a PID
// namespace kills its init with SIGINT for a power-off, SIGHUP for a reboot). It fails when
// ctx ends first; systemd is then still running.
func (s *Systemd) Wait(ctx context.Context) (*os.ProcessState, error) {
	select {
	case <-s.done:
		return s.unshare.ProcessState, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("systemd did not exit: %w", ctx.Err())
	}
}

// Systemctl runs systemctl with args inside the namespaces and returns its standard output.
// A non-zero exit is an error carrying stderr, except that the output is still returned.
func (s *Systemd) Systemctl(ctx context.Context, args ...string) ([]byte, error) {
	out, stderr, err := s.SystemctlOutput(ctx, args...)
	if err != nil {
		return out, fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(stderr)))
	}
	return out, nil
}

// SystemctlOutput runs systemctl with args inside the namespaces and returns its standard
// output and its standard error, also when it exits 0 (a warning).
func (s *Systemd) SystemctlOutput(ctx context.Context, args ...string) ([]byte, []byte, error) {
	full := append([]string{"-t", strconv.Itoa(s.Pid), "-m", "-p", "-u", "systemctl", "--no-pager"}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	return out, stderr.Bytes(), err
}

// Property is one Name=Value line of `systemctl show`.
type Property struct{ Name, Value string }

// Show runs `systemctl show -p props... units...` and returns each unit's properties in
// systemctl's order. An empty props shows everything systemctl shows without -p.
func (s *Systemd) Show(ctx context.Context, units, props []string) ([][]Property, error) {
	args := []string{"show"}
	if len(props) > 0 {
		args = append(args, "-p", strings.Join(props, ","))
	}
	args = append(args, "--")
	args = append(args, units...)
	out, err := s.Systemctl(ctx, args...)
	if err != nil {
		return nil, err
	}
	blocks := ParseShow(out)
	if len(blocks) != len(units) {
		return nil, fmt.Errorf("systemctl show %d units printed %d blocks", len(units), len(blocks))
	}
	return blocks, nil
}

// ParseShow splits `systemctl show` output of several units (blocks separated by an empty
// line) into their properties. A value may contain '='; only the first one separates.
func ParseShow(out []byte) [][]Property {
	var blocks [][]Property
	var cur []Property
	started := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if started {
				blocks = append(blocks, cur)
			}
			cur, started = nil, false
			continue
		}
		started = true
		name, value, _ := strings.Cut(line, "=")
		cur = append(cur, Property{Name: name, Value: value})
	}
	if started {
		blocks = append(blocks, cur)
	}
	return blocks
}
