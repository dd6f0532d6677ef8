package manager

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// gate is an output that blocks every write until it is opened, like a pipe nobody reads.
type gate struct {
	open  chan struct{}
	mu    sync.Mutex
	buf   strings.Builder
	n     int           // writes
	wrote chan struct{} // signalled after each write (waitFor)
}

func (g *gate) Write(b []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	n, err := g.buf.Write(b)
	if g.wrote != nil {
		select {
		case g.wrote <- struct{}{}:
		default:
		}
	}
	return n, err
}

// waitFor waits until cond holds, looking again after each write, for at most d.
func (g *gate) waitFor(d time.Duration, cond func() bool) bool {
	timeout := time.After(d)
	for !cond() {
		select {
		case <-g.wrote:
		case <-timeout:
			return false
		}
	}
	return true
}

func (g *gate) text() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

// TestConsoleBacklog: status lines never wait for the output. While nobody reads it, lines
// beyond the backlog are dropped; once it is read, every line kept comes out in order, then a
// line counting the dropped ones, then the lines written since.
func TestConsoleBacklog(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	c := newConsole(g)
	line := strings.Repeat("x", 100)
	perLine := len(line) + 8 // "NNNNNN " + line + "\n"
	fits := consoleBacklog / perLine
	// The goroutine may hold one batch (up to a backlog) in its blocked Write while the
	// backlog fills again: twice the backlog and more cannot all be kept.
	total := 2*fits + 1000
	start := time.Now()
	for i := 0; i < total; i++ {
		c.printf("%06d %s", i, line)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("%d lines into a blocked output took %v", total, d)
	}
	close(g.open)
	c.flush(5 * time.Second)
	c.printf("after")
	c.flush(5 * time.Second)
	out := strings.Split(strings.TrimSuffix(g.text(), "\n"), "\n")
	last := -1
	var dropped string
	for _, l := range out[:len(out)-1] {
		if strings.HasPrefix(l, "flint: ") {
			dropped = l
			continue
		}
		var i int
		if _, err := fmt.Sscanf(l, "%06d", &i); err != nil {
			t.Fatalf("unexpected line %q", l)
		}
		if i != last+1 || dropped != "" {
			t.Fatalf("line %d after line %d (dropped note %q): lines out of order or after the note", i, last, dropped)
		}
		last = i
	}
	kept := last + 1
	if kept < fits-1 || kept > 2*fits+1 {
		t.Errorf("%d lines kept of %d, the backlog holds about %d", kept, total, fits)
	}
	want := fmt.Sprintf("flint: %d lines dropped: the output was not read", total-kept)
	if dropped != want {
		t.Errorf("dropped note %q, want %q", dropped, want)
	}
	if out[len(out)-1] != "after" {
		t.Errorf("last line %q, want the line written after the drop", out[len(out)-1])
	}
	// Lines queued while the output was blocked went out in few writes, not one each.
	if g.n > 10 {
		t.Errorf("%d writes for %d lines", g.n, kept+2)
	}
}

// TestConsoleFlushTimeout: flush gives up on an output nobody reads.
func TestConsoleFlushTimeout(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	defer close(g.open)
	c := newConsole(g)
	c.printf("stuck")
	start := time.Now()
	c.flush(50 * time.Millisecond)
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("flush returned after %v, want about 50ms", d)
	}
}

// TestConsoleHold: lines printed while the loop handles an event (held) go out at release,
// together; lines printed while it is not held go out at once.
func TestConsoleHold(t *testing.T) {
	g := &gate{open: make(chan struct{}), wrote: make(chan struct{}, 1)}
	close(g.open)
	// The goroutine starts once the held lines are queued: until release, nothing may ask it
	// to write them.
	c := &console{out: g, wake: make(chan struct{}, 1)}
	c.hold()
	for i := 0; i < 5; i++ {
		c.printf("held %d", i)
	}
	if len(c.wake) != 0 {
		t.Fatal("a held line woke the writer")
	}
	c.release()
	if len(c.wake) != 1 {
		t.Fatal("release did not wake the writer")
	}
	go c.run()
	c.flush(5 * time.Second)
	if got, want := g.text(), "held 0\nheld 1\nheld 2\nheld 3\nheld 4\n"; got != want || g.n != 1 {
		t.Errorf("after release: %q in %d writes, want %q in 1", got, g.n, want)
	}
	c.printf("free")
	if !g.waitFor(5*time.Second, func() bool { return strings.HasSuffix(g.text(), "free\n") }) {
		t.Errorf("a line printed while not held did not go out: %q", g.text())
	}
	// flush writes held lines too (Run returning from a handler, a panic).
	c.hold()
	c.printf("held at exit")
	c.flush(5 * time.Second)
	if !strings.HasSuffix(g.text(), "held at exit\n") {
		t.Errorf("flush left a held line behind: %q", g.text())
	}
	c.printf("after")
	if !g.waitFor(5*time.Second, func() bool { return strings.HasSuffix(g.text(), "after\n") }) {
		t.Errorf("a line printed after flush did not go out: %q", g.text())
	}
}
