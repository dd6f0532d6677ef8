package testproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestPidsOf: a running copy of sleep is found by its path; once killed it is not, even
// before it is reaped.
func TestPidsOf(t *testing.T) {
	data, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), "sleep (copy)")
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	if got := PidsOf(exe); !slices.Equal(got, []int{cmd.Process.Pid}) {
		t.Errorf("PidsOf = %v, want [%d]", got, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	if !WaitFor(10*time.Second, func() bool { return len(PidsOf(exe)) == 0 }) {
		t.Errorf("the killed process is still listed: %v", PidsOf(exe))
	}
}

// TestWaitFor: true as soon as the condition holds, false once the timeout has passed.
func TestWaitFor(t *testing.T) {
	n := 0
	if !WaitFor(time.Second, func() bool { n++; return n == 3 }) || n != 3 {
		t.Errorf("WaitFor returned after %d calls", n)
	}
	start := time.Now()
	if WaitFor(100*time.Millisecond, func() bool { return false }) {
		t.Error("WaitFor of a condition that never holds returned true")
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("WaitFor gave up after %s", d)
	}
}
