package manager

import (
	"strconv"
	"strings"
	"time"

	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/unit"
)

// The last lines of units stopped at the manager's end may still be on their way from the
// readers of their pipes when Run returns: the copy goes on until no line came for
// forwardQuiet, for at most forwardDrain.
const (
	forwardQuiet = 50 * time.Millisecond
	forwardDrain = time.Second
)

// forwardLogs starts copying the units' log lines to the console (Options.ForwardLogs: a
// container runtime shows flint run's output as the container's log) and returns what stops
// it once the lines it has been given are queued. The copy goes through the console's
// backlog, so a service's output never waits for flint run's: when nobody reads that, lines
// are dropped and counted there. A line is "UNIT[PID]: TEXT", or "UNIT: TEXT" while the pid is
// not known (docs/compatibility.md). The manager's own messages about units are not copied:
// the console has them as status lines already.
func (m *Manager) forwardLogs() (stop func()) {
	lines, cancel := m.logs.Follow(nil)
	stopping, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		var quiet <-chan time.Time // set once stopping
		var drain *time.Timer
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return
				}
				if l.Stream != "manager" {
					m.console.line(forwardedLine(l))
				}
				if drain != nil {
					quiet = time.After(forwardQuiet)
				}
			case <-stopping:
				stopping = nil
				drain = time.NewTimer(forwardDrain)
				defer drain.Stop()
				quiet = time.After(forwardQuiet)
			case <-quiet:
				return
			case <-timerC(drain):
				return
			}
		}
	}()
	return func() {
		close(stopping)
		<-done
	}
}

// timerC is t's channel, nil (never ready) without a timer.
func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

// forwardedLine is l as flint run prints it: control characters but tabs escaped, as `flint
// logs` prints text.
func forwardedLine(l *logs.Line) string {
	parts := strings.Split(l.Text, "\t")
	for i, p := range parts {
		parts[i] = unit.Printable(p)
	}
	text := strings.Join(parts, "\t")
	if l.PID > 0 {
		return l.Unit + "[" + strconv.Itoa(l.PID) + "]: " + text
	}
	return l.Unit + ": " + text
}
