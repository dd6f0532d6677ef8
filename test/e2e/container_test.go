package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/cgroup"
)

// The container harness of container_daemons_test.go: flint as PID 1 of new pid, mount, net,
// uts, ipc and cgroup namespaces, the way a container runtime starts an init. Inside:
//
//   - /proc of the new pid namespace, loopback up in the new network namespace, a host name;
//   - /etc and /var are overlays over the host's (what the daemons write stays in the
//     container), /run, /tmp and /dev are fresh (a /dev with the usual device nodes, devpts
//     and /dev/shm: whatever flint or a daemon creates there, /dev/log included, stays in);
//   - /etc/systemd/system starts empty and /usr/lib/systemd/system (= /lib/systemd/system)
//     holds only systemd's targets, systemd-tmpfiles-setup.service (with its link in
//     sysinit.target.wants) and the unit files of the daemon's packages, copied byte for byte
//     (symbolic links as links) from the host, as the packages installed them: a container
//     image with systemd installed, booted by flint;
//   - or, for a daemon with ownTmpfiles, an image without systemd-tmpfiles (and so without
//     its unit): /usr/bin/systemd-tmpfiles is hidden and flint applies tmpfiles.d itself;
//   - flint is /usr/local/sbin/flint; `flint enable UNIT...` runs inside (as a package's
//     postinst or an image build would), then `exec flint run` without arguments: the default
//     search path, default.target, and the default control socket /run/flint/control.sock,
//     which is a bind mount of a test directory so that the test drives flint from outside;
//   - a cgroup of its own (a cgroup2 group made for it, the root of its cgroup namespace),
//     mounted at /sys/fs/cgroup/unified as a runtime mounts it: flint places units there;
//   - the open-files limit is 1024 (soft) and 4096 (hard), below what some packaged units
//     ask for (LimitNOFILE=65535), as in a container started with --ulimit nofile=1024:4096.

// containerNoFile is the container's RLIMIT_NOFILE hard limit.
const containerNoFile = 4096

// containerScript (bash) runs as PID 1 of the new namespaces and execs flint run. $1 is flint, $2 the
// control directory, $3 the staged unit files, $4 a scratch directory for the overlays, $5
// "hide" to hide systemd-tmpfiles, $6 the staged generators, $7 the init scripts to keep
// (words; "-" keeps /etc/init.d as it is), $8... the units to enable.
var containerScript = `set -e
flint=$1 ctl=$2 stage=$3 ovl=$4 tmpfiles=$5 gens=$6 inits=$7
shift 7
mount --make-rprivate /
mount -t proc -o nosuid,nodev,noexec proc /proc
hostname flint-e2e
ip link set lo up
mount -t tmpfs -o mode=0700 tmpfs "$ovl"
for d in etc var; do
	mkdir "$ovl/$d" "$ovl/$d.work"
	mount -t overlay -o "lowerdir=/$d,upperdir=$ovl/$d,workdir=$ovl/$d.work" overlay "/$d"
done
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir /run/flint
mount --bind "$ctl" /run/flint
mount -t tmpfs -o mode=0755 tmpfs /usr/local/sbin
touch /usr/local/sbin/flint
mount --bind "$flint" /usr/local/sbin/flint
mount -t tmpfs -o mode=0755 tmpfs /etc/systemd/system
mount -t tmpfs -o mode=0755 tmpfs /usr/lib/systemd/system
cp -a "$stage/." /usr/lib/systemd/system/
mount -t tmpfs -o mode=0755 tmpfs /usr/lib/systemd/system-generators
cp -a "$gens/." /usr/lib/systemd/system-generators/
if [ "$inits" != - ]; then
	mkdir "$ovl/init.d"
	for i in $inits; do cp -a "/etc/init.d/$i" "$ovl/init.d/"; done
	mount --bind "$ovl/init.d" /etc/init.d
fi
if [ "$tmpfiles" = hide ]; then mount --bind /dev/null /usr/bin/systemd-tmpfiles; fi
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=0755,nosuid tmpfs /dev
for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
	IFS=: read -r name major minor <<<"$n"
	mknod -m 0666 "/dev/$name" c "$major" "$minor"
done
mkdir /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
# The container's own cgroup2 hierarchy, its cgroup namespace's root as a runtime mounts it.
if mount -t tmpfs -o mode=0755 tmpfs /sys/fs/cgroup; then
	mkdir /sys/fs/cgroup/unified
	mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified || true
fi
ulimit -S -n 1024
ulimit -H -n ` + strconv.Itoa(containerNoFile) + `
if [ $# -gt 0 ]; then /usr/local/sbin/flint enable "$@"; fi
exec /usr/local/sbin/flint run
`

// container is one flint run as PID 1 of its own namespaces.
type container struct {
	ctl
	pid int // flint's pid in the test's pid namespace
}

var (
	targetsOnce sync.Once
	targets     []string // systemd's *.target files and links in /lib/systemd/system
	targetsErr  error
)

// systemdTargets lists the target units the systemd package installed (not their .wants
// directories: those start systemd's own services).
func systemdTargets() ([]string, error) {
	targetsOnce.Do(func() {
		out, err := exec.Command("dpkg", "-L", "systemd").Output()
		if err != nil {
			targetsErr = fmt.Errorf("dpkg -L systemd: %w", err)
			return
		}
		for _, p := range strings.Fields(string(out)) {
			if filepath.Dir(p) == "/lib/systemd/system" && strings.HasSuffix(p, ".target") {
				targets = append(targets, p)
			}
		}
	})
	return targets, targetsErr
}

// tmpfilesSetup is systemd's unit that applies tmpfiles.d at boot, and its link.
var tmpfilesSetup = []string{
	"/lib/systemd/system/systemd-tmpfiles-setup.service",
	"/lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service",
}

// stageUnits copies systemd's targets, tmpfilesSetup unless ownTmpfiles, and units (files
// byte for byte, symbolic links as links) into a new directory, with their paths below
// /lib/systemd/system (…/sockets.target.wants/x.socket).
func stageUnits(t *testing.T, units []string, ownTmpfiles bool) string {
	t.Helper()
	ts, err := systemdTargets()
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]string{}, ts...), units...)
	if !ownTmpfiles {
		all = append(all, tmpfilesSetup...)
	}
	stage := filepath.Join(t.TempDir(), "lib-systemd-system")
	for _, p := range all {
		rel, err := filepath.Rel("/lib/systemd/system", p)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("%s is not below /lib/systemd/system", p)
		}
		dst := filepath.Join(stage, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err == nil {
				err = os.Symlink(target, dst)
			}
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := os.ReadFile(p)
		if err == nil {
			err = os.WriteFile(dst, data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return stage
}

// stageGenerators copies the generators named (files of /lib/systemd/system-generators) into
// a new directory.
func stageGenerators(t *testing.T, names []string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "system-generators")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join("/lib/systemd/system-generators", n))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, n), data, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// containerImage is what a container holds beyond systemd's targets.
type containerImage struct {
	units, enable []string
	ownTmpfiles   bool // see stageUnits
	// generators: the image's /lib/systemd/system-generators holds these of the host's and no
	// other (systemd's own generators included): flint runs them as systemd does.
	generators []string
	// initScripts, when not nil: /etc/init.d holds only these of the host's scripts (for
	// systemd-sysv-generator: the image has no other package with an init script).
	initScripts []string
}

// startImage starts flint as PID 1 of a new container holding img: systemd's targets and
// img.units, with img.enable given to `flint enable` inside before the manager starts.
func startImage(t *testing.T, img containerImage) *container {
	t.Helper()
	units, enable, ownTmpfiles := img.units, img.enable, img.ownTmpfiles
	stage := stageUnits(t, units, ownTmpfiles)
	gens := stageGenerators(t, img.generators)
	inits := "-"
	if img.initScripts != nil {
		inits = strings.Join(img.initScripts, " ")
	}
	hide := "keep"
	if ownTmpfiles {
		hide = "hide"
	}
	base := t.TempDir()
	ctlDir, ovl := filepath.Join(base, "ctl"), filepath.Join(base, "ovl")
	for _, d := range []string{ctlDir, ovl} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	command := append([]string{"/bin/bash", "-c", containerScript, "container", flintBin, ctlDir, stage, ovl, hide, gens, inits}, enable...)
	m := launchManager(t, "", launchOptions{
		cgroupDir:  containerCgroup(t),
		command:    command,
		control:    filepath.Join(ctlDir, "control.sock"),
		cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWCGROUP,
		env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "container=flint-e2e", "LANG=C.UTF-8"},
		stopWait:   15 * time.Second,
	})
	return &container{ctl: on(t, m), pid: m.cmd.Process.Pid}
}

// containerCgroup makes a cgroup2 group for a container, as a runtime does (its cgroup
// namespace's root, where flint as its init places the units), removed after the test with
// whatever is left in it; "" where this machine has no writable cgroup2 hierarchy.
func containerCgroup(t *testing.T) string {
	l := cgroup.Detect()
	if l.Kind == cgroup.None || !l.Tracking.V2 {
		return ""
	}
	g := &cgroup.Group{L: &cgroup.Layout{Kind: l.Kind, Tracking: l.Tracking, All: []*cgroup.Hierarchy{l.Tracking}},
		Rel: fmt.Sprintf("flint-container-%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), os.Getpid())}
	if err := g.Create(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		waitFor(10*time.Second, func() bool {
			pids, _ := g.PIDs()
			for _, p := range pids {
				syscall.Kill(p, syscall.SIGKILL)
			}
			return g.Remove() == nil
		})
	})
	return l.Tracking.Dir(g.Rel)
}

// path is p inside the container, as the test reaches it (through flint's root).
func (c *container) path(p string) string {
	return fmt.Sprintf("/proc/%d/root%s", c.pid, p)
}

// read returns a file of the container ("" when it cannot be read).
func (c *container) read(p string) string {
	data, _ := os.ReadFile(c.path(p))
	return string(data)
}

// exec runs a program inside the container (all its namespaces, its root; 20s limit) and
// returns its combined output and exit code; a program that cannot start fails the test.
func (c *container) exec(name string, args ...string) (string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(c.pid), "-a", "--", name}, args...)...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "HOME=/root", "TERM=dumb"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		c.t.Fatalf("%s %v: %v", name, args, err)
	}
	if ctx.Err() != nil {
		c.t.Fatalf("%s %v in the container: no answer within 20s:\n%s", name, args, out.String())
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// must runs a program inside the container and fails the test unless it exits 0.
func (c *container) must(name string, args ...string) string {
	c.t.Helper()
	out, code := c.exec(name, args...)
	if code != 0 {
		c.t.Fatalf("%s %s in the container: exit %d\n%s", name, strings.Join(args, " "), code, out)
	}
	return out
}

// mainPID waits for service to be active (running) and for its main process to run binary
// (a sandboxed one execs it after flint's set-up), and returns its pid in the container.
func (c *container) mainPID(service, binary string) int {
	c.t.Helper()
	c.waitState(service, "active/running")
	pid, _ := strconv.Atoi(c.prop(service, "MainPID"))
	// A Type=simple service is running from the fork on; a sandboxed one runs flint's
	// sandbox set-up (`flint __sandbox`) until it execs the binary.
	var exe string
	var err error
	waitFor(10*time.Second, func() bool {
		exe, err = os.Readlink(c.path(fmt.Sprintf("/proc/%d/exe", pid)))
		return err == nil && exe == realPath(binary)
	})
	if err != nil || exe != realPath(binary) {
		st, _ := c.flint("status", service)
		c.t.Fatalf("%s: MainPID %d runs %q (%v), want %s\n%s", service, pid, exe, err, binary, st)
	}
	return pid
}

// procStatus returns one field of /proc/PID/status of a process of the container.
func (c *container) procStatus(pid int, field string) string {
	for _, line := range strings.Split(c.read(fmt.Sprintf("/proc/%d/status", pid)), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// logsWait waits until `flint logs -u unit` shows a line containing want.
func (c *container) logsWait(unit, want string) {
	c.t.Helper()
	var out string
	if !waitFor(15*time.Second, func() bool {
		out, _ = c.flint("logs", "-u", unit, "--no-pager")
		return strings.Contains(out, want)
	}) {
		c.t.Fatalf("flint logs -u %s has no line with %q:\n%s", unit, want, out)
	}
}

// stopAll stops flint with SIGTERM (the orderly stop of a container) and checks that it
// stopped every unit and exited 0. (The kernel then ends whatever else ran in the namespace.)
func (c *container) stopAll() {
	c.t.Helper()
	if code := c.m.terminate(); code != 0 {
		c.t.Errorf("flint run exited %d after SIGTERM, want 0", code)
	}
	if out := c.m.out.String(); !strings.Contains(out, "All units stopped.") {
		c.t.Errorf("flint run did not stop its units in order:\n%s", tail(out, 20))
	}
}
