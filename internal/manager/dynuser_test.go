package manager

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// TestPrivateMounts: a command of a DynamicUser= unit, running as a dynamic uid, reaches its
// own StateDirectory= and CacheDirectory= under BASE/private (0700 root's) through the
// read-only tmpfs privateMounts lays over it, sees no other directory there, and can write
// in its own; the manager's mount namespace is left as it was. The base directories are
// under a temporary directory.
func TestPrivateMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (mount, chown)")
	}
	const id = 61999
	root := t.TempDir()
	// The dynamic uid must get to the base directories.
	for _, p := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var base [5]string
	for i, b := range []string{"run", "lib", "cache", "log", "etc"} {
		base[i] = filepath.Join(root, b)
		if err := os.Mkdir(base[i], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lib, cache := base[1], base[2]
	// Another unit's directory: out of reach.
	if err := os.MkdirAll(filepath.Join(lib, "private", "other"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(lib, "private"), 0o700)
	ec := &unit.ExecContext{StateDirectory: []string{"s", "n/sub"}, StateDirectoryMode: 0o700,
		CacheDirectory: []string{"c"}, CacheDirectoryMode: 0o755}
	dirs := execDirsAt(base, ec, true)
	if err := setupExecDirs(dirs, &dirOwner{id, id}, func(s string) { t.Log(s) }); err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(root, "stage")
	if err := os.Mkdir(stage, 0o700); err != nil {
		t.Fatal(err)
	}
	script := `cd ` + lib + ` && ls -A private; stat -c "%a %u" private private/s private/n private/n/sub; ` +
		`ls private/other 2>/dev/null || echo no other; cat s/f; touch s/g n/sub/g ` + cache + `/c/g && echo written; ` +
		`touch private/x 2>/dev/null || echo tmpfs read-only; ls -A ` + cache + `/private`
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := os.WriteFile(filepath.Join(lib, "private", "s", "f"), []byte("state\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := spawn.Start(&spawn.Config{Path: "/bin/sh", Argv: []string{"sh", "-c", script}, Stdout: w, Stderr: w, Dir: "/",
		Credential: &syscall.Credential{Uid: id, Gid: id, Groups: []uint32{}}, Mounts: privateMounts(dirs, stage)})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ExecResult(); err != nil {
		syscall.Wait4(p.Pid, nil, 0, nil)
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r)
	var ws syscall.WaitStatus
	syscall.Wait4(p.Pid, &ws, 0, nil)
	want := "n\ns\n755 0\n700 61999\n755 0\n700 61999\nno other\nstate\nwritten\ntmpfs read-only\nc\n"
	if string(out) != want || ws.ExitStatus() != 0 {
		t.Errorf("the command (exit %v) saw:\n%s\nwant:\n%s", ws, out, want)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], root) {
			t.Errorf("a mount in the manager's namespace: %s", line)
		}
	}
	if fi, err := os.Stat(filepath.Join(lib, "private", "n", "sub", "g")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != id {
		t.Errorf("the file written: %v", err)
	}
}
