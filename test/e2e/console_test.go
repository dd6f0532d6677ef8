package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestConsoleNotRead: flint run's output is a pipe nobody reads (a paused pager, a container
// runtime that stopped reading). Its status lines fill the pipe after 64 KiB; the manager
// must go on starting units and answering commands all the same, and once the pipe is read
// every line comes out, down to "All units stopped." at exit.
func TestConsoleNotRead(t *testing.T) {
	files := map[string]string{}
	var names []string
	desc := strings.Repeat("a unit with a long description to fill the console ", 4)
	for i := 0; i < 40; i++ {
		n := fmt.Sprintf("chatty%02d.service", i)
		names = append(names, n)
		files[n] = unitFile("Unit", "Description="+desc+fmt.Sprint(i)+"\nStartLimitIntervalSec=0", "Service", "Type=oneshot\nExecStart=/bin/true")
	}
	units := writeUnits(t, files)
	control, finish := unreadManager(t, units)
	// 40 units × ~460 bytes of "Starting"/"Finished" lines per round: 8 rounds are ~150 KB,
	// more than twice what the pipe holds.
	for round := 0; round < 8; round++ {
		start := time.Now()
		out, code := runFlint(t, append([]string{"--control", control, "start"}, names...)...)
		if code != 0 {
			t.Fatalf("round %d: flint start: exit %d after %v: %s", round, code, time.Since(start).Round(time.Millisecond), out)
		}
		// oneshot units go back to inactive: restart them in the next round
	}
	if out, code := runFlint(t, "--control", control, "is-active", "chatty00.service"); strings.TrimSpace(out) != "inactive" {
		t.Fatalf("is-active: %q (exit %d)", out, code)
	}
	// Now read: everything queued comes out, and the shutdown's lines after it.
	text := finish()
	if n := strings.Count(text, "Finished "+desc); n != 8*40 {
		t.Errorf("%d Finished lines, want %d", n, 8*40)
	}
	if strings.Contains(text, "dropped") {
		t.Errorf("lines dropped although the backlog holds them all")
	}
	if !strings.HasSuffix(text, "All units stopped.\n") {
		t.Errorf("output does not end with the shutdown's last line: ...%s", text[max(0, len(text)-300):])
	}
}

// unreadManager starts `flint run --no-booted FLAGS... --units units` with its output into a
// pipe that nobody reads until finish: finish reads it while it stops flint run (SIGTERM) and
// returns all it wrote. The manager is killed at the end of a test that did not finish it.
func unreadManager(t *testing.T, units string, flags ...string) (control string, finish func() string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	control = filepath.Join(t.TempDir(), "control.sock")
	args := append(append([]string{"run", "--no-booted", "--no-journal-sockets"}, flags...), "--units", units, "--control", control)
	cmd := exec.Command(flintBin, args...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	exited := false
	t.Cleanup(func() {
		if !exited {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		r.Close()
	})
	if !waitFor(10*time.Second, func() bool { return isSocket(control) }) {
		t.Fatal("no control socket")
	}
	return control, func() string {
		t.Helper()
		got := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(r)
			got <- string(b)
		}()
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			exited = true
			if err != nil {
				t.Errorf("flint run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("flint run did not exit after SIGTERM")
		}
		select {
		case text := <-got:
			return text
		case <-time.After(10 * time.Second):
			t.Fatal("the output did not end")
		}
		return ""
	}
}
