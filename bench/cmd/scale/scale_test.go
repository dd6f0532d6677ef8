package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// The sockets interleave activates are all different, never one the plain measurement
// activated, and within the N.
func TestPairedSocketsCold(t *testing.T) {
	for _, c := range []struct{ n, cold, base, rounds int }{
		{10000, 7, 10, 3}, {1000, 7, 10, 3}, {3000, 7, 10, 5}, {28, 7, 10, 3}, {100, 10, 8, 2},
	} {
		used := map[int]bool{}
		for k := 0; k < c.cold; k++ {
			used[k*(c.n/c.cold)] = true
		}
		perRound := min(c.cold, c.base)
		for r := 0; r < c.rounds; r++ {
			for k := 0; k < perRound; k++ {
				i := pairedSocket(c.n, c.cold, c.rounds, r, k)
				if used[i] || i < 0 || i >= c.n {
					t.Fatalf("%+v: round %d, activation %d: socket %d again or out of range", c, r, k, i)
				}
				used[i] = true
			}
		}
	}
}

func TestMedian(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3}
	if m := median(ds); m != 3 {
		t.Errorf("median %v, want 3", m)
	}
	if ds[0] != 5 {
		t.Errorf("median sorted its argument")
	}
}
