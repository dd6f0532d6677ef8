package logs

import (
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/spawn"
)

// TestDrainFollowFunc: a process writes far more lines than a Follow channel holds; a
// FollowFunc gets every one of them, in order, and once the process is gone Drain returns
// only when the last of them has been stored — also for a pipe whose write end is still
// open elsewhere (no end of file to wait for).
func TestDrainFollowFunc(t *testing.T) {
	const n = 9000 // many times a Follow channel, within the default rate limit
	s := NewStore(10, "")
	defer s.Close()
	var mu sync.Mutex
	got, next := 0, 1
	cancel := s.FollowFunc(func(l *Line) {
		mu.Lock()
		defer mu.Unlock()
		if l.Text != strconv.Itoa(next) {
			t.Errorf("line %q, want %d", l.Text, next)
		}
		next++
		got++
	})
	defer cancel()
	w, err := s.Pipe("seq.service", "stdout", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A second writer that stays: the reader sees no end of file before Drain.
	other, err := syscall.Dup(int(w.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(other)
	p, err := spawn.Start(&spawn.Config{Path: "/usr/bin/seq", Argv: []string{"seq", strconv.Itoa(n)}, Stdout: w})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ExecResult(); err != nil {
		t.Fatal(err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(p.Pid, &ws, 0, nil); err != nil || ws.ExitStatus() != 0 {
		t.Fatalf("seq: %v %v", err, ws)
	}
	s.Drain(time.Minute)
	mu.Lock()
	defer mu.Unlock()
	if got != n {
		t.Errorf("%d of %d lines followed when Drain returned", got, n)
	}
	// Cancelled, it is called no more.
	cancel()
	before := got
	mu.Unlock()
	s.Append(Line{Unit: "seq.service", Text: fmt.Sprint(n + 1)})
	mu.Lock()
	if got != before {
		t.Errorf("FollowFunc called after cancel")
	}
}
