package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/cgroup"
)

// TestCgroupUserManagerDelegated: `flint run --user` as an unprivileged uid, started in a
// cgroup2 group that root made and handed to that uid (as systemd delegates user@UID.service),
// puts its units under it (app.slice/NAME), kills a double-forked daemon of a unit on stop
// through the group; started in a group it may not write, it tracks by session and says why.
func TestCgroupUserManagerDelegated(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to make and delegate a cgroup")
	}
	l := cgroup.Detect()
	if l.Kind == cgroup.None || !l.Tracking.V2 {
		t.Skip("no cgroup2 tracking hierarchy: ", l.Describe())
	}
	const uid, gid = 65534, 65534
	rel := fmt.Sprintf("flint-e2e-user-%d", os.Getpid())
	cgroupSubtree(t, l, rel)
	delegated := filepath.Join(l.Tracking.Dir(rel), "user")
	root := filepath.Join(l.Tracking.Dir(rel), "root-owned")
	for _, d := range []string{delegated, root} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// systemd's delegation: the directory and the files a delegate may write.
	for _, f := range []string{"", "cgroup.procs", "cgroup.threads", "cgroup.subtree_control"} {
		if err := os.Chown(filepath.Join(delegated, f), uid, gid); err != nil {
			t.Fatal(err)
		}
	}

	base := t.TempDir()
	os.Chmod(base, 0o755)
	flint := copyExecutable(t, flintBin)
	openUp(flint)
	openUp(base)
	pidFile := filepath.Join(base, "daemon.pid")
	start := func(t *testing.T, name, cg string) (asUser func(args ...string) (string, int), out *syncBuffer) {
		home := filepath.Join(base, name, "home")
		runtime := filepath.Join(base, name, "run")
		units := filepath.Join(home, ".config", "systemd", "user")
		for _, d := range []string{units, runtime} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		os.WriteFile(filepath.Join(units, "d.service"), []byte("[Service]\nExecStart=/bin/sh -c 'setsid /bin/sh -c \"sleep 1000 & echo \\$! >"+pidFile+"\" ; exec sleep 1001'\n"), 0o644)
		filepath.Walk(filepath.Join(base, name), func(p string, _ os.FileInfo, _ error) error { os.Chown(p, uid, gid); return nil })
		os.Chown(base, uid, gid)
		env := []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + runtime, "PATH=/usr/bin:/bin", "USER=nobody", "SYSTEMD_UNIT_PATH=" + units}
		cred := &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}
		asUser = func(args ...string) (string, int) {
			cmd := exec.Command(flint, append([]string{"--user"}, args...)...)
			cmd.Env = env
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			b, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			return string(b), code
		}
		dirFD, err := syscall.Open(cg, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(dirFD)
		run := exec.Command(flint, "run", "--user")
		run.Env = env
		run.SysProcAttr = &syscall.SysProcAttr{Credential: cred, UseCgroupFD: true, CgroupFD: dirFD}
		out = startUserManager(t, run)
		control := filepath.Join(runtime, "flint", "control.sock")
		if !waitFor(10*time.Second, func() bool { return isSocket(control) }) {
			t.Fatalf("no control socket:\n%s", out.String())
		}
		return asUser, out
	}

	t.Run("delegated", func(t *testing.T) {
		os.Remove(pidFile)
		asUser, _ := start(t, "delegated", delegated)
		if out, code := asUser("start", "d.service"); code != 0 {
			t.Fatalf("start: %d %s", code, out)
		}
		daemon := pidFromFile(t, pidFile)
		killAtEnd(t, daemon)
		want := filepath.Join("/", l.Tracking.Base, rel, "user", "app.slice", "d.service")
		if got, _ := asUser("show", "-p", "ControlGroup", "--value", "d.service"); strings.TrimSpace(got) != want {
			t.Errorf("ControlGroup %q, want %q", strings.TrimSpace(got), want)
		}
		if cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", daemon)); !bytes.Contains(cg, []byte("/user/app.slice/d.service\n")) {
			t.Errorf("daemon not in the unit's group:\n%s", cg)
		}
		if out, code := asUser("stop", "d.service"); code != 0 {
			t.Fatalf("stop: %d %s", code, out)
		}
		if !waitFor(10*time.Second, func() bool { return !alive(daemon) }) {
			t.Fatalf("daemon %d survived the stop", daemon)
		}
	})
	t.Run("not writable", func(t *testing.T) {
		asUser, _ := start(t, "root-owned", root)
		st, _ := asUser("status")
		if !strings.Contains(st, "no cgroups (") || !strings.Contains(st, "processes tracked by session") {
			t.Errorf("status does not say why no cgroups are used:\n%s", st)
		}
		if got, _ := asUser("show", "-p", "ControlGroup", "--value", "d.service"); strings.TrimSpace(got) != "" {
			t.Errorf("ControlGroup %q without cgroups", got)
		}
	})
}
