package spawn

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// runShell starts /bin/sh -c script with c's settings and returns what it wrote to stdout.
func runShell(t *testing.T, c Config, script string) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c.Path, c.Argv, c.Stdout, c.Stderr = "/bin/sh", []string{"sh", "-c", script}, w, w
	p, err := Start(&c)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ExecResult(); err != nil {
		waitPid(t, p.Pid)
		t.Fatalf("exec: %v", err)
	}
	out, _ := readAll(r)
	if ws := waitPid(t, p.Pid); ws.ExitStatus() != 0 {
		t.Fatalf("script exited %v: %s", ws, out)
	}
	return out
}

func readAll(f *os.File) (string, error) {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := f.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String(), nil
		}
	}
}

func TestNoNewPrivs(t *testing.T) {
	shims(t, func(t *testing.T) {
		for _, on := range []bool{false, true} {
			out := runShell(t, Config{NoNewPrivs: on}, "grep NoNewPrivs /proc/self/status")
			want := "NoNewPrivs:\t0\n"
			if on {
				want = "NoNewPrivs:\t1\n"
			}
			if out != want {
				t.Errorf("NoNewPrivs %v: the process says %q", on, out)
			}
		}
	})
}

// mountedAt reports whether this process (the manager's namespace) sees a mount at p.
func mountedAt(t *testing.T, p string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == p {
			return true
		}
	}
	return false
}

// TestMounts builds, in the child's namespace, what DynamicUser= needs: an empty read-only
// tmpfs over a directory, with one directory of the host bound into it, by way of a staging
// directory. The manager's namespace sees none of it.
func TestMounts(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	host, stage, target := t.TempDir(), t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(host, "data"), 0o700)
	os.WriteFile(filepath.Join(host, "data", "f"), []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(target, "secret"), nil, 0o600)
	um := uint32(0o077)
	c := Config{Umask: &um, Mounts: []Mount{
		{Source: "tmpfs", Target: stage, FSType: "tmpfs", Flags: syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC, Data: "mode=755,size=4m,nr_inodes=1k"},
		{Target: filepath.Join(stage, "a"), Mkdir: true},
		{Source: filepath.Join(host, "data"), Target: filepath.Join(stage, "a", "data"), Flags: syscall.MS_BIND | syscall.MS_REC, Mkdir: true},
		{Target: filepath.Join(stage, "a", "data"), Flags: syscall.MS_REMOUNT | syscall.MS_BIND | syscall.MS_NOSUID},
		{Target: stage, Flags: syscall.MS_REMOUNT | syscall.MS_BIND | syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC},
		{Source: stage, Target: target, Flags: syscall.MS_MOVE},
	}}
	shims(t, func(t *testing.T) {
		out := runShell(t, c, "cd "+target+" && ls; cat a/data/f; echo; stat -c %a . a; grep Umask /proc/self/status; "+
			"touch x 2>/dev/null && echo writable || echo read-only; touch a/data/g && echo data-writable; rm -f a/data/g")
		want := "a\nhello\n755\n755\nUmask:\t0077\nread-only\ndata-writable\n"
		if out != want {
			t.Errorf("the child sees:\n%s\nwant:\n%s", out, want)
		}
		for _, p := range []string{stage, target} {
			if mountedAt(t, p) {
				t.Errorf("%s is a mount point in the manager's namespace", p)
			}
		}
	})
}

func TestMountFailure(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	target := t.TempDir()
	shims(t, func(t *testing.T) {
		p, err := Start(&Config{Path: "/bin/true", Argv: []string{"true"}, Mounts: []Mount{
			{Source: filepath.Join(target, "missing"), Target: target, Flags: syscall.MS_BIND},
		}})
		if err != nil {
			t.Fatal(err)
		}
		err = p.ExecResult()
		var ee *ExecError
		if !errors.As(err, &ee) || ee.Status != StatusNamespace || ee.Step != "mount" || !errors.Is(err, syscall.ENOENT) {
			t.Errorf("got %v, want 226/NAMESPACE at mount, ENOENT", err)
		}
		if ws := waitPid(t, p.Pid); ws.ExitStatus() != StatusNamespace {
			t.Errorf("exit %v", ws)
		}
	})
}
