package manager

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/flint-init/flint/unit"
)

// consoleBacklog bounds the lines waiting for the output, in bytes.
const consoleBacklog = 1 << 20

// console carries the manager's status lines (and with Options.ForwardLogs the units' log
// lines) to its output (flint run's standard output) from a goroutine of its own, through a
// backlog of at most consoleBacklog bytes: the manager never waits for its output. When
// nobody reads it (a paused pager, a container runtime that stopped reading the pipe) the
// lines beyond the backlog are dropped and counted, and a line saying how many were lost
// comes before the next one that gets through. (systemd blocks on /dev/console instead;
// docs/compatibility.md.) Lines written while the manager handles one event go out together,
// in one write.
type console struct {
	out    io.Writer
	wake   chan struct{}
	direct bool // write at once, in the caller (tests that read the lines as they happen)

	mu      sync.Mutex
	pending []byte
	spare   []byte
	dropped int  // lines lost since the last one that got into pending
	writing bool // the goroutine is writing a batch
	held    bool // the manager's loop is handling an event: wake the goroutine at release
	// idle, when not nil, is closed when the goroutine has written everything (flush
	// waits on it).
	idle chan struct{}
}

func newConsole(out io.Writer) *console {
	c := &console{out: out, wake: make(chan struct{}, 1)}
	go c.run()
	return c
}

// printf queues one line (a newline is added). The line is made unit.Printable: it quotes
// Description= and other unit file text, which must not drive the terminal flint runs on.
func (c *console) printf(format string, a ...any) {
	c.line(unit.Printable(fmt.Sprintf(format, a...)))
}

// line queues one line that is printable already (a newline is added).
func (c *console) line(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.direct {
		fmt.Fprintln(c.out, line)
		return
	}
	n := len(c.pending)
	c.pending = append(append(c.pending, line...), '\n')
	if len(c.pending) > consoleBacklog {
		c.pending = c.pending[:n]
		c.dropped++
		return
	}
	if c.dropped > 0 {
		line := append([]byte(nil), c.pending[n:]...)
		c.pending = fmt.Appendf(c.pending[:n], "flint: %d lines dropped: the output was not read\n", c.dropped)
		c.pending = append(c.pending, line...)
		c.dropped = 0
	}
	if !c.held {
		c.kick()
	}
}

// hold and release bracket the manager loop's handling of one event: the lines it prints go
// out together at release, with one wake-up of the goroutine rather than one per line.
func (c *console) hold() {
	c.mu.Lock()
	c.held = true
	c.mu.Unlock()
}

func (c *console) release() {
	c.mu.Lock()
	c.held = false
	if len(c.pending) > 0 {
		c.kick()
	}
	c.mu.Unlock()
}

// kick wakes the goroutine (c.mu held).
func (c *console) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *console) run() {
	for range c.wake {
		for {
			c.mu.Lock()
			if len(c.pending) == 0 {
				c.writing = false
				if c.idle != nil {
					close(c.idle)
					c.idle = nil
				}
				c.mu.Unlock()
				break
			}
			buf := c.pending
			c.pending = c.spare[:0]
			c.writing = true
			c.mu.Unlock()
			c.out.Write(buf)
			c.mu.Lock()
			if cap(buf) <= 64<<10 {
				c.spare = buf[:0] // a large one (a backlog) goes to the collector
			}
			c.mu.Unlock()
		}
	}
}

// flush writes every queued line, held or not (Run returning, a panic in a handler), and
// waits until they are written or timeout has passed (an output nobody reads).
func (c *console) flush(timeout time.Duration) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		c.held = false
		if c.dropped > 0 {
			c.pending = fmt.Appendf(c.pending, "flint: %d lines dropped: the output was not read\n", c.dropped)
			c.dropped = 0
		}
		if len(c.pending) > 0 {
			c.kick()
		}
		if len(c.pending) == 0 && !c.writing {
			c.mu.Unlock()
			return
		}
		if c.idle == nil {
			c.idle = make(chan struct{})
		}
		idle := c.idle
		c.mu.Unlock()
		select {
		case <-idle:
		case <-deadline.C:
			return
		}
	}
}
