package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeUnits writes N socket/service pairs, the probe and both targets; idle.target wants
// every socket.
func TestWriteUnits(t *testing.T) {
	dir := t.TempDir()
	if err := writeUnits(dir, 3, 22699, "/bin/true"); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "units"))
	if len(ents) != 3*2+4 {
		t.Errorf("%d unit files, want 10", len(ents))
	}
	target, _ := os.ReadFile(filepath.Join(dir, "units", "idle.target"))
	for _, w := range []string{"probe.socket", "idle00000.socket", "idle00002.socket"} {
		if !strings.Contains(string(target), w) {
			t.Errorf("idle.target does not want %s:\n%s", w, target)
		}
	}
}

// cpuMS reads this process's CPU time, which work makes grow.
func TestCPUMS(t *testing.T) {
	a, err := cpuMS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for b := a; b <= a; {
		x := 0
		for i := 0; i < 1e6; i++ {
			x += i * i
		}
		_ = x
		if b, err = cpuMS(os.Getpid()); err != nil || b < a {
			t.Fatalf("cpuMS went from %v to %v, %v", a, b, err)
		}
	}
}
