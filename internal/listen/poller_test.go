package listen

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/testproc"
)

func socketpair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

func expectKey(t *testing.T, ch <-chan uint64, want uint64) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("key %#x, want %#x", got, want)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("no event for key %#x", want)
	}
}

// expectNone checks that p has no event pending for ch: a marker fd made readable now is
// reported first (epoll reports ready fds in the order they became ready).
func expectNone(t *testing.T, p *Poller, ch <-chan uint64) {
	t.Helper()
	const markerKey = 0x6d61726b
	m, mw := socketpair(t)
	if err := p.Add(m, markerKey); err != nil {
		t.Fatal(err)
	}
	defer p.Remove(m)
	unix.Write(mw, []byte("m"))
	select {
	case got := <-ch:
		if got != markerKey {
			t.Fatalf("unexpected event %#x", got)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no event for the marker")
	}
}

// waitBlockedOnSend waits until a goroutine in Poller.Run is blocked handing an event out.
func waitBlockedOnSend(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	if !testproc.WaitFor(5*time.Second, func() bool {
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.HasPrefix(g, "goroutine ") && strings.Contains(g, " [select") && strings.Contains(g, "listen.(*Poller).Run") {
				return true
			}
		}
		return false
	}) {
		t.Fatal("Run did not block on its send within 5s")
	}
}

func TestPollerOneShot(t *testing.T) {
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan uint64, 8)
	ran := make(chan struct{})
	go func() { p.Run(ch); close(ran) }()

	a, aw := socketpair(t)
	b, bw := socketpair(t)
	const keyA, keyB = 1, 0xdead_beef_0000_0002 // keys use all 64 bits
	if err := p.Add(a, keyA); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(b, keyB); err != nil {
		t.Fatal(err)
	}
	expectNone(t, p, ch)

	unix.Write(aw, []byte("x"))
	expectKey(t, ch, keyA)
	// Still readable, but disarmed: no second event.
	unix.Write(aw, []byte("y"))
	expectNone(t, p, ch)
	// Rearmed while data is pending: reported at once.
	if err := p.Rearm(a, keyA); err != nil {
		t.Fatal(err)
	}
	expectKey(t, ch, keyA)

	unix.Write(bw, []byte("z"))
	expectKey(t, ch, keyB)

	// Removed fds are not reported, even when rearmed data is pending.
	if err := p.Rearm(b, keyB); err != nil {
		t.Fatal(err)
	}
	expectKey(t, ch, keyB)
	if err := p.Remove(b); err != nil {
		t.Fatal(err)
	}
	if err := p.Rearm(b, keyB); !errors.Is(err, unix.ENOENT) {
		t.Errorf("Rearm after Remove: %v, want ENOENT", err)
	}
	if err := p.Add(a, keyA); !errors.Is(err, unix.EEXIST) {
		t.Errorf("second Add: %v, want EEXIST", err)
	}
	if err := p.Add(a, wakeKey); err == nil {
		t.Error("reserved key accepted")
	}

	// A hang-up counts as ready.
	if err := p.Rearm(a, 5); err != nil {
		t.Fatal(err)
	}
	expectKey(t, ch, 5) // data still pending from before
	var buf [16]byte
	unix.Read(a, buf[:])
	unix.Close(aw)
	if err := p.Rearm(a, 6); err != nil {
		t.Fatal(err)
	}
	expectKey(t, ch, 6)

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	if err := p.Add(b, 9); !errors.Is(err, ErrPollerClosed) {
		t.Errorf("Add after Close: %v", err)
	}
	if err := p.Close(); !errors.Is(err, ErrPollerClosed) {
		t.Errorf("second Close: %v", err)
	}
}

// TestPollerCloseWhileBlockedOnSend: Close must not hang when nobody reads out.
func TestPollerCloseWhileBlockedOnSend(t *testing.T) {
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan uint64) // unbuffered, never read
	ran := make(chan struct{})
	go func() { p.Run(ch); close(ran) }()
	a, aw := socketpair(t)
	p.Add(a, 1)
	unix.Write(aw, []byte("x"))
	waitBlockedOnSend(t)
	done := make(chan error)
	go func() { done <- p.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close hung")
	}
	<-ran
}

func TestPollerCloseWithoutRun(t *testing.T) {
	before := countFds(t)
	for i := 0; i < 20; i++ {
		p, err := NewPoller()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		p.Run(make(chan uint64)) // returns at once after Close
	}
	if after := countFds(t); after != before {
		t.Fatalf("fd count %d -> %d", before, after)
	}
}

func TestPollerListeningSocket(t *testing.T) {
	s := mustOpen(t, tcp("127.0.0.1", 20270), nil)
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ch := make(chan uint64, 1)
	go p.Run(ch)
	if err := p.Add(s.Fd(), 42); err != nil {
		t.Fatal(err)
	}
	c, err := dialTCP("127.0.0.1:20270")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	expectKey(t, ch, 42)
	conn, err := s.Accept()
	if err != nil {
		t.Fatal(err)
	}
	conn.File.Close()
}
