package difftest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSystemdNSScript checks the project's scripts/systemd-ns: boot, systemctl inside, kill.
func TestSystemdNSScript(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("boots systemd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	work := t.TempDir()
	// Probe with the Go harness first: it skips (or fails under CI) where systemd cannot boot.
	units := filepath.Join(work, "units")
	if err := os.MkdirAll(units, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(units, "probe.socket"), []byte("[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=127.0.0.1:20440\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := bootOrSkip(t, ctx, filepath.Join(work, "harness"), units)
	s.Stop()

	script, err := filepath.Abs("../../scripts/systemd-ns")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, script, "boot", work).Output()
	if err != nil {
		t.Fatalf("boot: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("boot printed %q", out)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	show, err := exec.CommandContext(ctx, script, "systemctl", strconv.Itoa(pid), "show", "-p", "Listen,LoadState", "probe.socket").Output()
	if err != nil {
		t.Fatalf("systemctl: %v", err)
	}
	if want := "LoadState=loaded\nListen=127.0.0.1:20440 (Stream)\n"; !sameLines(string(show), want) {
		t.Errorf("show printed %q, want the lines of %q", show, want)
	}
	comm, err := exec.CommandContext(ctx, script, "run", strconv.Itoa(pid), "cat", "/proc/1/comm").Output()
	if err != nil || strings.TrimSpace(string(comm)) != "systemd" {
		t.Errorf("PID 1 inside is %q (%v), want systemd", comm, err)
	}
	// systemd's cgroup root is a group of its own, in every hierarchy but cpuset, which kill
	// removes before it returns.
	self, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	group := ""
	for _, l := range strings.Split(strings.TrimSpace(string(self)), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 || f[1] == "cpuset" || !strings.HasPrefix(f[2], "/flint-systemd-ns-") {
			continue
		}
		if g := strings.Split(f[2], "/")[1]; group == "" || g == group {
			group = g
			continue
		}
		t.Errorf("systemd in two groups of its own:\n%s", self)
	}
	if group == "" {
		t.Fatalf("systemd is in no group of its own:\n%s", self)
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + group)
	if len(dirs) == 0 {
		t.Errorf("no directory of %s under /sys/fs/cgroup", group)
	}
	if err := exec.CommandContext(ctx, script, "kill", strconv.Itoa(pid)).Run(); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s after kill: %v", d, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("systemd (pid %d) still alive after kill", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sameLines(a, b string) bool {
	la, lb := strings.Fields(strings.ReplaceAll(a, " ", "_")), strings.Fields(strings.ReplaceAll(b, " ", "_"))
	if len(la) != len(lb) {
		return false
	}
	in := map[string]int{}
	for _, l := range la {
		in[l]++
	}
	for _, l := range lb {
		in[l]--
	}
	for _, n := range in {
		if n != 0 {
			return false
		}
	}
	return true
}
